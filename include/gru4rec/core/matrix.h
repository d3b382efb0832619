// Dense storage types: row-major Eigen matrices (a row is an item vector or a batch row).
// Kernels take them by reference and work on the leading rows (`topRows(M)`) of buffers
// allocated once for the largest batch, so that no step allocates.
#pragma once

#include <Eigen/Core>

namespace gru4rec {

template <typename T>
using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;

template <typename T>
using MatrixRef = Eigen::Ref<MatrixR<T>, 0, Eigen::OuterStride<>>;
template <typename T>
using ConstMatrixRef = Eigen::Ref<const MatrixR<T>, 0, Eigen::OuterStride<>>;

}  // namespace gru4rec
