#include "gru4rec/core/cpu_budget.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

#include "gru4rec/core/parallel.h"

namespace gru4rec {
namespace {

TEST(CpuBudget, ReadsCgroupQuotasAndTheirUnlimitedForms) {
  EXPECT_DOUBLE_EQ(parse_cgroup2_cpu_max("150000 100000\n").value(), 1.5);
  EXPECT_DOUBLE_EQ(parse_cgroup2_cpu_max("50000 100000").value(), 0.5);
  EXPECT_FALSE(parse_cgroup2_cpu_max("max 100000\n"));
  EXPECT_FALSE(parse_cgroup2_cpu_max(""));
  EXPECT_FALSE(parse_cgroup2_cpu_max("100000"));
  EXPECT_FALSE(parse_cgroup2_cpu_max("0 100000"));
  EXPECT_FALSE(parse_cgroup2_cpu_max("1x 100000"));
  EXPECT_DOUBLE_EQ(parse_cgroup1_quota("200000\n", "100000\n").value(), 2.0);
  EXPECT_FALSE(parse_cgroup1_quota("-1\n", "100000\n"));
  EXPECT_FALSE(parse_cgroup1_quota("200000", "0"));
}

TEST(CpuBudget, UsableCoresAreTheMaskCappedByTheQuotaRoundedUp) {
  EXPECT_EQ(usable_cores(4, std::nullopt), 4);
  EXPECT_EQ(usable_cores(4, 1.5), 2);
  EXPECT_EQ(usable_cores(4, 2.0), 2);
  EXPECT_EQ(usable_cores(4, 0.2), 1);
  EXPECT_EQ(usable_cores(2, 16.0), 2);
  EXPECT_EQ(usable_cores(0, std::nullopt), 1);
}

// taskset and cpusets set the affinity mask: the default thread counts follow it.
TEST(CpuBudget, FollowsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const CpuBudget pinned = cpu_budget();
  const int cores = available_cores();
  int inherited = 0;  // a thread started now has the same mask
  std::thread([&] { inherited = available_cores(); }).join();
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(pinned.affinity_cores, 1);
  EXPECT_EQ(cores, 1);
  EXPECT_EQ(inherited, 1);
  EXPECT_NE(pinned.describe().find("affinity 1 of"), std::string::npos) << pinned.describe();
  EXPECT_EQ(cpu_budget().affinity_cores, CPU_COUNT(&saved));
}

}  // namespace
}  // namespace gru4rec
