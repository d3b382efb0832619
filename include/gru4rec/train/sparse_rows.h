// SparseRowGrad: the gradient of an item-indexed matrix (Wy, By, E, or the one-hot input
// weights) for one training step, as a list of item rows. Gradient rows of an item that occurs
// several times in the step (as input, target, or sampled negative) are summed before the
// optimizer sees them, as the official PyTorch version does.
//
// Rows are added one at a time (add), or as a block with a row per occurrence (append) that
// the caller fills in place, e.g. straight from a GEMM, before merge_duplicates() folds the
// rows of repeated items into the item's first row. Folded rows are left zero with the id
// kFolded, which consumers skip. No allocation after reserve(). Not thread-safe, except that
// several threads may fill disjoint block()s and rows and call find() at once while no row is
// added (SplitStep).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/matrix.h"

namespace gru4rec {

template <typename T>
class SparseRowGrad {
 public:
  static constexpr int32_t kFolded = -1;

  void reserve(int32_t num_items, Eigen::Index max_rows, Eigen::Index cols) {
    slot_of_item_.assign(static_cast<size_t>(num_items), -1);
    ids_.assign(static_cast<size_t>(max_rows), 0);
    folds_.reserve(static_cast<size_t>(max_rows));
    rows_.resize(max_rows, cols);
    count_ = 0;
  }

  // Forgets the rows of the previous step (cost proportional to the rows it had).
  void clear() {
    for (int32_t i = 0; i < count_; ++i) {
      const int32_t id = ids_[static_cast<size_t>(i)];
      if (id != kFolded) slot_of_item_[static_cast<size_t>(id)] = -1;
    }
    count_ = 0;
    folds_.clear();
  }

  // Gives each occurrence in `items` a row of its own, slots [first, first + items.size()),
  // returned as `first`; the caller fills them (see block()) and then calls merge_duplicates().
  int32_t append(std::span<const int32_t> items) {
    GRU4REC_CHECK(count_ + static_cast<Eigen::Index>(items.size()) <= rows_.rows(),
                  "more rows than reserved");
    const int32_t first = count_;
    for (int32_t item : items) {
      int32_t& slot = slot_of_item_[static_cast<size_t>(item)];
      if (slot < 0) {
        slot = count_;
        ids_[static_cast<size_t>(count_)] = item;
      } else {
        folds_.emplace_back(count_, slot);
        ids_[static_cast<size_t>(count_)] = kFolded;
      }
      ++count_;
    }
    return first;
  }

  // Adds the rows of repeated occurrences appended since clear() to their item's row.
  void merge_duplicates() {
    for (const auto& [from, into] : folds_) {
      rows_.row(into) += rows_.row(from);
      rows_.row(from).setZero();
    }
    folds_.clear();
  }

  // Rows [first, first + count) for the caller to fill after append().
  auto block(int32_t first, int32_t count) { return rows_.middleRows(first, count); }

  // Adds `gradient` (a row expression with cols() columns) to the row of `item`.
  template <typename Row>
  void add(int32_t item, const Row& gradient) {
    const auto [slot, is_new] = slot_of(item);
    if (is_new) {
      rows_.row(slot) = gradient;
    } else {
      rows_.row(slot) += gradient;
    }
  }

  // Gives `item` a (zero) row if it has none yet.
  void add_zero(int32_t item) {
    const auto [slot, is_new] = slot_of(item);
    if (is_new) rows_.row(slot).setZero();
  }

  void add_scalar(int32_t item, T gradient) {
    add(item, Eigen::Matrix<T, 1, 1>::Constant(gradient));
  }

  // The slot of `item`, or -1 when it has none.
  int32_t find(int32_t item) const { return slot_of_item_[static_cast<size_t>(item)]; }

  int32_t size() const { return count_; }
  std::span<const int32_t> ids() const { return {ids_.data(), static_cast<size_t>(count_)}; }
  auto rows() { return rows_.topRows(count_); }
  auto rows() const { return rows_.topRows(count_); }

 private:
  // The row of `item`, allocated when it has none (then `is_new`).
  std::pair<int32_t, bool> slot_of(int32_t item) {
    int32_t& slot = slot_of_item_[static_cast<size_t>(item)];
    if (slot >= 0) return {slot, false};
    GRU4REC_CHECK(count_ < rows_.rows(), "more distinct rows than reserved");
    slot = count_++;
    ids_[static_cast<size_t>(slot)] = item;
    return {slot, true};
  }

  std::vector<int32_t> slot_of_item_;               // one per item; -1 when the item has no row yet
  std::vector<int32_t> ids_;                        // per slot: the item, or kFolded
  std::vector<std::pair<int32_t, int32_t>> folds_;  // (repeated slot, the item's first slot)
  MatrixR<T> rows_;
  int32_t count_ = 0;
};

}  // namespace gru4rec
