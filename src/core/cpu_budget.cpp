#include "gru4rec/core/cpu_budget.h"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "gru4rec/core/text.h"

namespace gru4rec {
namespace {

std::optional<double> parse_positive(std::string_view text) {
  const std::optional<double> value = parse_double(text);  // trimmed, finite
  if (!value || !(*value > 0)) return std::nullopt;
  return value;
}

// Not read_file (file_io.h): a missing file is the usual case here, not an error.
std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> smaller(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// The quota of the process's cgroup: the smallest on its path from the mount's root (a parent's
// quota bounds its children). Inside a container the path is usually "/", the container's own.
std::optional<double> cgroup_quota() {
  const auto membership = read_small_file("/proc/self/cgroup");
  if (!membership) return std::nullopt;
  std::optional<double> quota;
  std::istringstream lines(*membership);
  for (std::string line; std::getline(lines, line);) {
    // "hierarchy-id:controllers:path"; v2 is "0::path".
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    std::vector<std::string> dirs;
    for (;;) {
      dirs.push_back(path);
      if (path.empty() || path == "/") break;
      path = path.substr(0, path.rfind('/'));
    }
    for (const std::string& dir : dirs) {
      if (controllers.empty()) {
        if (const auto text = read_small_file("/sys/fs/cgroup" + dir + "/cpu.max"))
          quota = smaller(quota, parse_cgroup2_cpu_max(*text));
      } else if (controllers == "cpu" || controllers.starts_with("cpu,") ||
                 controllers.find(",cpu,") != std::string::npos || controllers.ends_with(",cpu")) {
        for (const std::string mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
          const auto q = read_small_file(mount + dir + "/cpu.cfs_quota_us");
          const auto p = read_small_file(mount + dir + "/cpu.cfs_period_us");
          if (q && p) quota = smaller(quota, parse_cgroup1_quota(*q, *p));
        }
      }
    }
  }
  return quota;
}

}  // namespace

std::optional<double> parse_cgroup2_cpu_max(std::string_view text) {
  text = trim(text);
  const size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = parse_positive(text.substr(0, space));
  const auto period = parse_positive(text.substr(space + 1));
  if (!quota || !period) return std::nullopt;  // "max": unlimited
  return *quota / *period;
}

std::optional<double> parse_cgroup1_quota(std::string_view quota_us, std::string_view period_us) {
  const auto quota = parse_positive(quota_us);  // -1: unlimited
  const auto period = parse_positive(period_us);
  if (!quota || !period) return std::nullopt;
  return *quota / *period;
}

int usable_cores(int affinity_cores, std::optional<double> quota) {
  int cores = std::max(1, affinity_cores);
  if (quota) cores = static_cast<int>(std::min<double>(cores, std::ceil(*quota - 1e-9)));
  return std::max(1, cores);
}

CpuBudget cpu_budget() {
  CpuBudget b;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  b.machine_cores = online > 0
                        ? static_cast<int>(online)
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  b.affinity_cores =
      sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : b.machine_cores;
  b.quota = cgroup_quota();
  b.cores = usable_cores(b.affinity_cores, b.quota);
  return b;
}

std::string CpuBudget::describe() const {
  std::string text =
      fmt::format("{} (affinity {} of {} CPUs", cores, affinity_cores, machine_cores);
  if (quota) text += fmt::format(", cgroup quota {:.2f} cores", *quota);
  return text + ")";
}

}  // namespace gru4rec
