#include "gru4rec/data/session_batcher.h"

#include "gru4rec/core/error.h"

namespace gru4rec {

SessionBatcher::SessionBatcher(const SessionLog& log, std::vector<int64_t> session_order,
                               int batch_size, int min_rows)
    : log_(log),
      order_(std::move(session_order)),
      batch_size_(static_cast<size_t>(batch_size)),
      min_rows_(static_cast<size_t>(min_rows)) {
  GRU4REC_CHECK(batch_size > 0 && min_rows >= 1);
  position_.reserve(batch_size_);
  end_.reserve(batch_size_);
  inputs_.reserve(batch_size_);
  targets_.reserve(batch_size_);
  kept_rows_.reserve(batch_size_);
  session_ends_.reserve(batch_size_);
  restart();
}

SessionBatcher::SessionBatcher(const SessionLog& log, SessionQueue& queue, int batch_size,
                               int min_rows)
    : SessionBatcher(log, std::vector<int64_t>{}, batch_size, min_rows) {
  queue_ = &queue;
}

void SessionBatcher::restart() {
  next_session_ = 0;
  started_ = false;
  finished_ = false;
  position_.clear();
  end_.clear();
}

void SessionBatcher::restart(std::vector<int64_t> session_order) {
  order_ = std::move(session_order);
  restart();
}

bool SessionBatcher::assign_next_session(size_t row) {
  for (;;) {
    int64_t session = -1;
    if (queue_ != nullptr) {
      session = queue_->take();
    } else if (next_session_ < order_.size()) {
      session = order_[next_session_++];
    }
    if (session < 0) break;
    const auto s = static_cast<size_t>(session);
    if (log_.offsets[s + 1] - log_.offsets[s] < 2) continue;  // no (input, target) pair
    position_[row] = log_.offsets[s];
    end_[row] = log_.offsets[s + 1];
    return true;
  }
  return false;
}

bool SessionBatcher::next(Step& step) {
  if (finished_) return false;
  kept_rows_.clear();
  if (!started_) {
    started_ = true;
    while (position_.size() < batch_size_) {
      position_.push_back(0);
      end_.push_back(0);
      if (!assign_next_session(position_.size() - 1)) {
        position_.pop_back();
        end_.pop_back();
        break;
      }
    }
  } else {
    // Advance every row; rows whose session ended take the next session or are removed.
    bool removed = false;
    size_t kept = 0;
    for (size_t row = 0; row < position_.size(); ++row) {
      ++position_[row];
      if (position_[row] + 1 >= end_[row] && !assign_next_session(row)) {
        removed = true;
        continue;
      }
      kept_rows_.push_back(static_cast<int32_t>(row));
      position_[kept] = position_[row];
      end_[kept] = end_[row];
      ++kept;
    }
    position_.resize(kept);
    end_.resize(kept);
    if (!removed) kept_rows_.clear();
  }
  if (position_.empty() || position_.size() < min_rows_) {
    finished_ = true;
    return false;
  }
  const size_t rows = position_.size();
  inputs_.resize(rows);
  targets_.resize(rows);
  session_ends_.resize(rows);
  for (size_t row = 0; row < rows; ++row) {
    const auto p = static_cast<size_t>(position_[row]);
    inputs_[row] = log_.items[p];
    targets_[row] = log_.items[p + 1];
    session_ends_[row] = position_[row] + 2 == end_[row] ? 1 : 0;
  }
  step.inputs = inputs_;
  step.targets = targets_;
  step.session_ends = session_ends_;
  step.kept_rows = kept_rows_;
  return true;
}

}  // namespace gru4rec
