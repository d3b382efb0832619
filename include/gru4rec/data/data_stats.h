// A statistics summary of a session log (events, sessions, items, session lengths, time span),
// printed by `gru4rec prepare` for its outputs and by `gru4rec info DATA` for any data file.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace gru4rec {

struct DataStats {
  int64_t events = 0, sessions = 0, items = 0;
  int64_t min_length = 0, median_length = 0, p90_length = 0, max_length = 0;
  double mean_length = 0;
  double first_time = 0, last_time = 0;  // in the log's own unit
};

// offsets: session s has events [offsets[s], offsets[s+1]); items: dense indices.
DataStats compute_stats(std::span<const int64_t> offsets, std::span<const int32_t> items,
                        double first_time, double last_time);

// One line per figure, for the terminal ("events 1,234" ...); `unit` names the time unit.
std::string describe_stats(const DataStats& stats, const std::string& unit);

}  // namespace gru4rec
