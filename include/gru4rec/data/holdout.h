// A validation split of a training log, for tuning without looking at the test data: the last
// sessions of the log go to validation, whole sessions only, as the official GRU4Rec splits
// train_tr / train_valid.
//
// "Last" is by the time of a session's first event, ties in file order (session_order_by_time),
// so a log whose times are synthetic (a session's events numbered from its position in the
// file, as the ready-made Diginetica, Tmall and RetailRocket files) is cut in file order.
// Validation events whose item does not occur in the training part are dropped, as the test
// protocol drops unknown items, and validation sessions left with fewer than two events too.
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>

#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"

namespace gru4rec {

struct HoldoutSplit {
  SessionLog train, valid;       // items are indices of the same ItemIndex as the input
  int64_t dropped_events = 0;    // validation events with items unknown to `train`
  int64_t dropped_sessions = 0;  // validation sessions left with fewer than two events
};

// The last sessions, until they hold at least valid_share (in (0, 1)) of the events, become the
// validation part. Throws Error when either part would be empty. `drop_unknown_items` false
// keeps every event of the validation sessions (for a model that knows all items of `log`).
HoldoutSplit split_last_sessions(const SessionLog& log, double valid_share,
                                 bool drop_unknown_items = true);

// Writes `log` as a tab-separated SessionId / ItemId / Time file with a header, atomically.
void write_session_log(const std::string& path, const SessionLog& log, const ItemIndex& items);

}  // namespace gru4rec
