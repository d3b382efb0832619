#include "gru4rec/data/data_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "gru4rec/core/text.h"

namespace gru4rec {

DataStats compute_stats(std::span<const int64_t> offsets, std::span<const int32_t> items,
                        double first_time, double last_time) {
  DataStats s;
  s.events = static_cast<int64_t>(items.size());
  s.sessions = offsets.empty() ? 0 : static_cast<int64_t>(offsets.size()) - 1;
  std::vector<int32_t> distinct(items.begin(), items.end());
  std::sort(distinct.begin(), distinct.end());
  s.items = std::unique(distinct.begin(), distinct.end()) - distinct.begin();
  std::vector<int64_t> lengths;
  for (size_t i = 0; i + 1 < offsets.size(); ++i) lengths.push_back(offsets[i + 1] - offsets[i]);
  if (!lengths.empty()) {
    std::sort(lengths.begin(), lengths.end());
    s.min_length = lengths.front();
    s.max_length = lengths.back();
    s.median_length = lengths[lengths.size() / 2];
    s.p90_length = lengths[std::min(lengths.size() - 1, lengths.size() * 9 / 10)];
    s.mean_length = static_cast<double>(s.events) / static_cast<double>(s.sessions);
  }
  s.first_time = first_time;
  s.last_time = last_time;
  return s;
}

std::string describe_stats(const DataStats& s, const std::string& unit) {
  if (s.events == 0) return "empty (no event)";
  return fmt::format(
      "events {}, sessions {}, items {}; session length min {}, median {}, mean {:.2f}, 90% "
      "{}, max {}; time {} .. {} {} ({:.1f} days)",
      with_thousands(s.events), with_thousands(s.sessions), with_thousands(s.items), s.min_length,
      s.median_length, s.mean_length, s.p90_length, s.max_length, format_double(s.first_time),
      format_double(s.last_time), unit,
      (s.last_time - s.first_time) / (unit == "ms" ? 86'400'000.0 : 86'400.0));
}

}  // namespace gru4rec
