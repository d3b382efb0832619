// Failed admin logins, counted per client address: after kMaxFailures within kWindowSeconds an
// address is refused (429) until its window ends, the right token or not, so that guessing
// costs a minute per few tries. One log line per failure while under the limit and one when an
// address is blocked, so that a flood does not flood the log.
//
// Thread-safe (one mutex; admin requests are rare). Memory: at most kMaxAddresses entries; when
// full, entries whose window has ended are dropped first, then all (a flood from many addresses
// is then throttled less, never remembered without bound).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace gru4rec {

class LoginThrottle {
 public:
  static constexpr size_t kMaxFailures = 5;
  static constexpr double kWindowSeconds = 60;
  static constexpr size_t kMaxAddresses = 10'000;

  // Seconds until `address` may try again (0: it may try now). `now` in seconds.
  double blocked_for(const std::string& address, double now);
  // Records a failed login; returns what to log ("" for nothing).
  std::string record_failure(const std::string& address, double now);
  // Addresses remembered now (at most kMaxAddresses).
  size_t addresses();

 private:
  struct Entry {
    double window_start = 0;
    size_t failures = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace gru4rec
