// SessionLog: click events grouped by session, in the layout GRU4Rec trains on.
//
// Events of session s are items[offsets[s] .. offsets[s+1]-1], ordered by time. Sessions are
// stored in order of first appearance in the input file; session_order_by_time() gives the
// order in which training processes them. Item values are dense indices of an ItemIndex.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gru4rec {

struct SessionLog {
  std::vector<int32_t> items;
  std::vector<double> times;
  std::vector<int64_t> offsets{0};
  std::vector<std::string> session_ids;

  int64_t num_events() const { return static_cast<int64_t>(items.size()); }
  int64_t num_sessions() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t session_length(int64_t session) const {
    return offsets[static_cast<size_t>(session) + 1] - offsets[static_cast<size_t>(session)];
  }
  std::span<const int32_t> session_items(int64_t session) const {
    return std::span<const int32_t>(items).subspan(
        static_cast<size_t>(offsets[static_cast<size_t>(session)]),
        static_cast<size_t>(session_length(session)));
  }
};

// Indices of all sessions, stably sorted by the time of their first event (oldest first):
// the order in which the official implementation trains, so the latest data comes last.
std::vector<int64_t> session_order_by_time(const SessionLog& log);

// Number of (input, target) pairs: events minus sessions, i.e. the training steps' rows per
// epoch, and the number of predictions the evaluation makes.
int64_t count_transitions(const SessionLog& log);

// Number of events of each item (the support used for sampling and logQ).
std::vector<int64_t> item_supports(const SessionLog& log, int32_t num_items);

}  // namespace gru4rec
