#include "login_throttle.h"

#include <fmt/format.h>

#include <algorithm>

namespace gru4rec {

double LoginThrottle::blocked_for(const std::string& address, double now) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(address);
  if (found == entries_.end()) return 0;
  const Entry& e = found->second;
  if (now - e.window_start >= kWindowSeconds) return 0;
  return e.failures >= kMaxFailures ? e.window_start + kWindowSeconds - now : 0;
}

std::string LoginThrottle::record_failure(const std::string& address, double now) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxAddresses && entries_.find(address) == entries_.end()) {
    std::erase_if(entries_,
                  [&](const auto& e) { return now - e.second.window_start >= kWindowSeconds; });
    if (entries_.size() >= kMaxAddresses) entries_.clear();
  }
  Entry& e = entries_[address];
  if (e.failures == 0 || now - e.window_start >= kWindowSeconds) e = Entry{now, 0};
  ++e.failures;
  if (e.failures < kMaxFailures)
    return fmt::format("Admin: refused a request from {} (wrong or missing token)", address);
  if (e.failures == kMaxFailures)
    return fmt::format(
        "Admin: refused a request from {} (wrong or missing token); {} failures: its admin "
        "requests are refused (429) for {:.0f} s",
        address, e.failures, kWindowSeconds);
  return "";
}

size_t LoginThrottle::addresses() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace gru4rec
