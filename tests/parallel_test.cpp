#include "gru4rec/core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gru4rec {
namespace {

TEST(ShareRange, CoversEveryValueOnceInOrder) {
  for (int64_t count : {0, 1, 5, 7, 100}) {
    for (int shares : {1, 2, 3, 8}) {
      int64_t next = 0;
      for (int s = 0; s < shares; ++s) {
        const auto [first, last] = share_range(count, s, shares);
        EXPECT_EQ(first, next);
        EXPECT_LE(last - first, count / shares + 1);
        EXPECT_GE(last - first, count / shares);
        next = last;
      }
      EXPECT_EQ(next, count);
    }
  }
}

TEST(ThreadTeam, RunsEveryTaskOnItsOwnThreadEveryTime) {
  ThreadTeam team(3);
  ASSERT_EQ(team.size(), 3);
  const std::thread::id caller = std::this_thread::get_id();
  for (int round = 0; round < 2000; ++round) {
    std::vector<int> calls(3, 0);
    std::vector<std::thread::id> ids(3);
    team.run([&](int i) {
      ++calls[static_cast<size_t>(i)];
      ids[static_cast<size_t>(i)] = std::this_thread::get_id();
    });
    ASSERT_EQ(calls, (std::vector<int>{1, 1, 1})) << round;
    EXPECT_EQ(ids[0], caller);
    EXPECT_NE(ids[1], caller);
    EXPECT_NE(ids[2], ids[1]);
  }
}

TEST(ThreadTeam, WaitsForSlowTasksAndSeesTheirWrites) {
  ThreadTeam team(2);
  std::vector<long> sums(2, 0);
  for (int round = 0; round < 50; ++round) {
    team.run([&](int i) {
      if (i == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      long total = 0;
      for (int k = 0; k < 1000; ++k) total += k;
      sums[static_cast<size_t>(i)] += total;
    });
  }
  EXPECT_EQ(sums[0], 50L * 499500);
  EXPECT_EQ(sums[1], 50L * 499500);
}

TEST(ThreadTeam, RethrowsTheFirstErrorAfterAllTasksFinishAndStaysUsable) {
  ThreadTeam team(3);
  std::atomic<int> finished{0};
  try {
    team.run([&](int i) {
      if (i == 2) throw std::runtime_error("task 2");
      if (i == 1) throw std::logic_error("task 1");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ++finished;
    });
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "task 1");
  }
  EXPECT_EQ(finished.load(), 1);
  std::atomic<int> calls{0};
  team.run([&](int) { ++calls; });
  EXPECT_EQ(calls.load(), 3);
}

TEST(ThreadTeam, OfOneRunsOnTheCallingThread) {
  ThreadTeam team(1);
  int calls = 0;
  team.run([&](int i) {
    EXPECT_EQ(i, 0);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace gru4rec
