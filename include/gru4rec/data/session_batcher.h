// Session-parallel mini-batches (GRU4Rec, ICLR 2016, section 3.1.1), used by training and by
// evaluation. Each of up to batch_size rows follows one session; every step feeds each row its
// session's current event as input and the next event as target. A row whose target was its
// session's last event takes the next session (in the given order) and its hidden state must
// be zeroed after that step (Step::session_ends). When no session is left, such rows are
// removed: the batch shrinks at the end of the epoch (Step::kept_rows says how).
// Sessions with fewer than two events produce no step. Not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/data/session_log.h"

namespace gru4rec {

// Sessions shared out on demand among the batchers of several training threads: a batcher
// takes the next session of the common order whenever one of its rows needs one. So every
// thread walks through the (time) order at the same pace whatever its speed, and they all run
// out of sessions together at the end of an epoch. take() is thread-safe; restart() is not
// (call it between epochs, when no thread takes).
class SessionQueue {
 public:
  explicit SessionQueue(std::vector<int64_t> order) : order_(std::move(order)) {}

  // The next session of the order, or -1 when none is left.
  int64_t take() {
    const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    return i < order_.size() ? order_[i] : -1;
  }
  void restart() { next_.store(0, std::memory_order_relaxed); }
  void restart(std::vector<int64_t> order) {
    order_ = std::move(order);
    restart();
  }

 private:
  std::vector<int64_t> order_;
  std::atomic<size_t> next_{0};
};

class SessionBatcher {
 public:
  struct Step {
    std::span<const int32_t> inputs;        // one item per row
    std::span<const int32_t> targets;       // one item per row
    std::span<const uint8_t> session_ends;  // 1: the row's target ends its session
    // Non-empty when rows were removed since the previous step: row k of this step continues
    // row kept_rows[k] of the previous step (states must be compacted accordingly).
    std::span<const int32_t> kept_rows;
  };

  // `min_rows`: stop when fewer rows remain (training with n_sample == 0 needs 2 rows so that
  // every row has a negative); 1 otherwise.
  SessionBatcher(const SessionLog& log, std::vector<int64_t> session_order, int batch_size,
                 int min_rows = 1);
  // Takes its sessions from `queue` (shared with other batchers; must outlive this one).
  SessionBatcher(const SessionLog& log, SessionQueue& queue, int batch_size, int min_rows = 1);

  // Fills `step` with the next mini-batch; false at the end of the epoch.
  bool next(Step& step);

  // Starts a new epoch with the same session order (or a new one). With a queue, the queue is
  // restarted by its owner.
  void restart();
  void restart(std::vector<int64_t> session_order);

 private:
  bool assign_next_session(size_t row);

  const SessionLog& log_;
  std::vector<int64_t> order_;
  SessionQueue* queue_ = nullptr;  // when set, sessions come from it instead of order_
  size_t batch_size_;
  size_t min_rows_;
  size_t next_session_ = 0;
  bool started_ = false;
  std::vector<int64_t> position_, end_;  // per row: current event and one past the session
  std::vector<int32_t> inputs_, targets_, kept_rows_;
  std::vector<uint8_t> session_ends_;
  bool finished_ = false;
};

}  // namespace gru4rec
