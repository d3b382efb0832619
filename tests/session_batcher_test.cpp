#include "gru4rec/data/session_batcher.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

namespace gru4rec {
namespace {

// Sessions (item values name them): S0 = 10 11 12, S1 = 20 21, S2 = 30 31 32 33, S3 = 40
// (too short), S4 = 50 51.
SessionLog hand_made_log() {
  SessionLog log;
  log.items = {10, 11, 12, 20, 21, 30, 31, 32, 33, 40, 50, 51};
  log.offsets = {0, 3, 5, 9, 10, 12};
  log.times.assign(log.items.size(), 0.0);
  log.session_ids = {"0", "1", "2", "3", "4"};
  return log;
}

struct Expected {
  std::vector<int32_t> inputs, targets;
  std::vector<uint8_t> ends;
  std::vector<int32_t> kept;
};

std::vector<Expected> run(const SessionLog& log, int batch_size, int min_rows = 1) {
  SessionBatcher batcher(log, {0, 1, 2, 3, 4}, batch_size, min_rows);
  std::vector<Expected> steps;
  SessionBatcher::Step step;
  while (batcher.next(step)) {
    steps.push_back(Expected{{step.inputs.begin(), step.inputs.end()},
                             {step.targets.begin(), step.targets.end()},
                             {step.session_ends.begin(), step.session_ends.end()},
                             {step.kept_rows.begin(), step.kept_rows.end()}});
  }
  return steps;
}

void expect_steps(const std::vector<Expected>& got, const std::vector<Expected>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(got[s].inputs, want[s].inputs) << "step " << s;
    EXPECT_EQ(got[s].targets, want[s].targets) << "step " << s;
    EXPECT_EQ(got[s].ends, want[s].ends) << "step " << s;
    EXPECT_EQ(got[s].kept, want[s].kept) << "step " << s;
  }
}

TEST(SessionBatcher, ProducesTheSessionParallelSequenceAndShrinksAtTheEnd) {
  const SessionLog log = hand_made_log();
  expect_steps(run(log, 2), {
                                {{10, 20}, {11, 21}, {0, 1}, {}},
                                {{11, 30}, {12, 31}, {1, 0}, {}},
                                {{50, 31}, {51, 32}, {1, 0}, {}},  // S3 skipped: length 1
                                {{32}, {33}, {1}, {1}},            // row 0 had no session left
                            });
}

TEST(SessionBatcher, StopsBelowTheMinimumRows) {
  const SessionLog log = hand_made_log();
  EXPECT_EQ(run(log, 2, 2).size(), 3u);
}

TEST(SessionBatcher, BatchLargerThanTheSessionsStartsShrunk) {
  const SessionLog log = hand_made_log();
  const auto steps = run(log, 8);
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps[0].inputs, (std::vector<int32_t>{10, 20, 30, 50}));
  int64_t pairs = 0;
  for (const auto& s : steps) pairs += static_cast<int64_t>(s.inputs.size());
  EXPECT_EQ(pairs, count_transitions(log));  // every (input, target) pair exactly once
}

TEST(SessionBatcher, RestartReplaysTheEpoch) {
  const SessionLog log = hand_made_log();
  SessionBatcher batcher(log, {0, 1, 2, 3, 4}, 2);
  SessionBatcher::Step step;
  int first = 0, second = 0;
  while (batcher.next(step)) ++first;
  batcher.restart();
  while (batcher.next(step)) ++second;
  EXPECT_EQ(first, 4);
  EXPECT_EQ(second, 4);
}

// Hogwild's threads take sessions from one queue: together they train on every (input, target)
// pair of the epoch exactly once, each session whole on one thread and in its order, for two
// epochs (the queue restarted in between). Every event is its own item, so a pair names its
// session and position.
TEST(SessionBatcher, BatchersSharingAQueueSeeEveryEventOnce) {
  SessionLog log;
  log.offsets = {0};
  int32_t item = 0;
  for (int s = 0; s < 400; ++s) {
    const int length = 1 + (s * 7) % 6;  // 1 to 6 events; sessions of one event give no pair
    for (int e = 0; e < length; ++e) log.items.push_back(item++);
    log.offsets.push_back(static_cast<int64_t>(log.items.size()));
    log.session_ids.push_back(std::to_string(s));
  }
  log.times.assign(log.items.size(), 0.0);
  std::map<int32_t, int> session_of;  // input item -> session
  size_t expected_pairs = 0;
  for (int s = 0; s < 400; ++s) {
    for (auto e = log.offsets[static_cast<size_t>(s)];
         e + 1 < log.offsets[static_cast<size_t>(s) + 1]; ++e, ++expected_pairs)
      session_of[log.items[static_cast<size_t>(e)]] = s;
  }
  std::vector<int64_t> order(400);
  for (int s = 0; s < 400; ++s) order[static_cast<size_t>(s)] = (s * 37) % 400;
  SessionQueue queue(order);
  constexpr int kThreads = 3;
  std::vector<std::unique_ptr<SessionBatcher>> batchers;
  for (int t = 0; t < kThreads; ++t)
    batchers.push_back(std::make_unique<SessionBatcher>(log, queue, 4 + t));
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<std::vector<std::pair<int32_t, int32_t>>> seen(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        SessionBatcher::Step step;
        while (batchers[static_cast<size_t>(t)]->next(step)) {
          for (size_t r = 0; r < step.inputs.size(); ++r)
            seen[static_cast<size_t>(t)].emplace_back(step.inputs[r], step.targets[r]);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    std::map<int32_t, int> times_seen;
    std::map<int, int> thread_of_session, last_input_of_session;
    for (int t = 0; t < kThreads; ++t) {
      for (const auto& [input, target] : seen[static_cast<size_t>(t)]) {
        ++times_seen[input];
        EXPECT_EQ(target, input + 1) << "epoch " << epoch;  // the next event of the session
        ASSERT_TRUE(session_of.count(input)) << input << " is the last event of its session";
        const int session = session_of.at(input);
        const auto [at, first] = thread_of_session.emplace(session, t);
        EXPECT_EQ(at->second, t) << "session " << session << " split between threads";
        if (!first) {
          EXPECT_EQ(input, last_input_of_session[session] + 1) << "out of order";
        }
        last_input_of_session[session] = input;
      }
    }
    EXPECT_EQ(times_seen.size(), expected_pairs) << "epoch " << epoch;
    for (const auto& [input, count] : times_seen) EXPECT_EQ(count, 1) << "pair from " << input;
    queue.restart();
    for (auto& batcher : batchers) batcher->restart();
  }
}

}  // namespace
}  // namespace gru4rec
