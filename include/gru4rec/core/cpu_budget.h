// How many cores this process may use: the CPUs of its affinity mask (taskset, cpuset), capped
// by its cgroup's CPU quota (a container's --cpus, systemd's CPUQuota=), rounded up. Every
// default thread count (training, evaluation, tuning, serving) comes from it, so that a pinned
// or throttled process does not run more busy threads than it has cores.
//
// Reads sched_getaffinity and the cgroup files (/proc/self/cgroup, cgroup v2 cpu.max or v1
// cpu.cfs_quota_us and cpu.cfs_period_us, on the process's cgroup and its ancestors) at each
// call: cheap, and a mask changed at run time is seen. Thread-safe. The parsers are pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gru4rec {

struct CpuBudget {
  int machine_cores = 1;   // online logical CPUs
  int affinity_cores = 1;  // CPUs in the calling thread's affinity mask
  std::optional<double>
      quota;      // the cgroup quota in cores (1.5: 150 ms per 100 ms); none: unlimited
  int cores = 1;  // usable: min(affinity, ceil(quota)), at least 1
  std::string describe() const;  // "2 (affinity 2 of 4 CPUs, cgroup quota 1.5 cores)"
};

CpuBudget cpu_budget();

// min(affinity, ceil(quota)), at least 1.
int usable_cores(int affinity_cores, std::optional<double> quota);

// cgroup v2 cpu.max ("150000 100000", "max 100000"): the quota in cores; none when unlimited or
// malformed.
std::optional<double> parse_cgroup2_cpu_max(std::string_view text);
// cgroup v1 cpu.cfs_quota_us ("-1" unlimited) and cpu.cfs_period_us, as above.
std::optional<double> parse_cgroup1_quota(std::string_view quota_us, std::string_view period_us);

}  // namespace gru4rec
