// Views of item-indexed matrices (Wy, By, E, the one-hot input weights) whose rows may be
// spaced apart: during training the optimizer keeps each item's accumulator and velocity next
// to its parameters (see train/interleaved_table.h), so a row's stride can exceed its width.
// Views do not own memory.
#pragma once

#include <cstdint>
#include <type_traits>

#include "gru4rec/core/matrix.h"

namespace gru4rec {

template <typename T>
struct ItemRows {
  T* data = nullptr;
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
  Eigen::Index stride = 0;  // elements from one row to the next (>= cols)

  T* row(int32_t item) const { return data + static_cast<Eigen::Index>(item) * stride; }
  bool empty() const { return data == nullptr; }

  operator ItemRows<const T>() const requires(!std::is_const_v<T>) {
    return {data, rows, cols, stride};
  }
};

// The item-indexed parameters a training step or an inference step reads.
template <typename T>
struct ItemTables {
  ItemRows<T> wy;     // output vectors (and input embedding in shared mode), N x L_last
  ItemRows<T> by;     // output biases, N x 1
  ItemRows<T> input;  // rows fed to layer 0: Wy (shared), E (separate), layer-0 Wx (one-hot)
};

// Views of plain (unspaced) storage: a matrix has a row per item, a row vector (By) one value
// per item.
template <typename T>
ItemRows<T> item_rows_of(MatrixR<T>& m) {
  return {m.data(), m.rows(), m.cols(), m.cols()};
}
template <typename T>
ItemRows<const T> item_rows_of(const MatrixR<T>& m) {
  return {m.data(), m.rows(), m.cols(), m.cols()};
}
template <typename T>
ItemRows<T> item_rows_of(RowVector<T>& v) {
  return {v.data(), v.cols(), 1, 1};
}
template <typename T>
ItemRows<const T> item_rows_of(const RowVector<T>& v) {
  return {v.data(), v.cols(), 1, 1};
}

}  // namespace gru4rec
