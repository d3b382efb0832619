// From raw events to the four GRU4Rec files, the way the GRU4Rec papers prepare their data
// (reference section 4):
//   1. sessions: the given session ids, or each user's events cut at inactivity gaps (and
//      given sessions may be cut at gaps too); the event-type filter applies before or after
//      the cut (some datasets cut on all event types, then keep views);
//   2. events sorted by (session, time, item id); consecutive repeats of an item dropped
//      (dedupe);
//   3. filters: either iterated until nothing changes (sessions shorter than
//      min_session_length, then items with fewer than min_item_support events), or the one
//      pass of the RSC15 script (sessions of length 1, items below the support, sessions
//      shorter than min_session_length);
//   4. a time split: by session start (test = sessions starting at or after split - test
//      span; train_full = every event before that time, sessions of length 1 removed;
//      train_tr / train_valid the same one span earlier) or by session end (RSC15: sessions
//      ending before max time - test span are train, the rest test, filtered to train items
//      and length >= 2; the same on train for train_tr / train_valid).
// Pure computation on an EventTable (no I/O); memory about 3 times the table.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gru4rec/prepare/raw_events.h"

namespace gru4rec {

struct PrepareOptions {
  bool cut_at_gaps = false;              // the key is a user (or a session to cut further)
  int64_t gap_ms = 3'600'000;            // inactivity that ends a session
  bool filter_types_after_cut = false;   // cut sessions on every event type, then filter
  bool offset_from_session_day = false;  // Diginetica: time = session's first day + offset
  bool dedupe = true;
  bool iterate_filters = true;
  int min_session_length = 2;
  int min_item_support = 5;
  enum class Split { kBySessionStart, kBySessionEnd };
  Split split = Split::kBySessionStart;
  int64_t test_span_ms = 86'400'000;
  std::optional<int64_t> split_time_ms;  // default: the last event's time
  bool time_in_seconds = true;           // output unit of the Time column
};

// One output file: sessions in order, each with its events in time order.
struct PreparedLog {
  std::vector<std::string> session_ids;
  std::vector<int64_t> offsets{0};  // events of session s: [offsets[s], offsets[s+1])
  std::vector<int32_t> items;       // EventTable item indices
  std::vector<int64_t> times;       // ms
  int64_t events() const { return static_cast<int64_t>(items.size()); }
  int64_t sessions() const { return static_cast<int64_t>(session_ids.size()); }
};

struct PreparedData {
  PreparedLog train_full, test, train_tr, train_valid;
  // Counts after each step, for the report (name, events, sessions).
  struct Step {
    std::string name;
    int64_t events = 0, sessions = 0;
  };
  std::vector<Step> steps;
};

// Throws Error naming the step that left no events (e.g. "after the item filter (support >=
// 5): no event left").
PreparedData prepare_events(const EventTable& table, const PrepareOptions& options);

// Writes a log as TSV (SessionId, ItemId, Time; the time in seconds, with milliseconds when
// there are any, or in milliseconds).
void write_log(std::ostream& out, const PreparedLog& log, const EventTable& table,
               bool time_in_seconds);

}  // namespace gru4rec
