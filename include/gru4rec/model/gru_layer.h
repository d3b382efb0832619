// The GRU cell of the original GRU4Rec (the cell of the first GRU paper: the reset gate scales
// the previous state before the recurrent product), on a mini-batch of rows. Pure kernels:
// no I/O, no allocation (buffers are sized by the caller for the largest batch).
//
//   [a_c | a_r | a_z] = x Wx + bh            (the input projection, computed by the caller)
//   r = sigmoid(a_r + h_prev Ur),  z = sigmoid(a_z + h_prev Uz)
//   c = act(a_c + (r * h_prev) Uh)
//   h = (1 - z) * h_prev + z * c
//
// Training never backpropagates into h_prev (GRU4Rec has no BPTT).
#pragma once

#include <cstdint>
#include <span>

#include "gru4rec/core/matrix.h"
#include "gru4rec/model/activation.h"
#include "gru4rec/model/item_rows.h"
#include "gru4rec/model/network.h"

namespace gru4rec {

// Forward values kept for the backward pass, for up to `capacity` rows.
template <typename T>
struct GruCellCache {
  MatrixR<T> hu;  // h_prev [Ur | Uz]
  MatrixR<T> r, z, c, rh;

  void reserve(Eigen::Index capacity, Eigen::Index hidden);
};

// a = x Wx + bh for the first `rows` rows.
template <typename T>
void gru_input_projection(const GruLayerWeights<T>& w, ConstMatrixRef<T> x, MatrixRef<T> a);

// a[i] = Wx[items[i]] + bh: the projection of a one-hot input (layer 0 without embedding);
// `wx` views the rows of that layer's Wx.
template <typename T>
void gru_input_rows(const GruLayerWeights<T>& w, const ItemRows<const T>& wx,
                    std::span<const int32_t> items, MatrixRef<T> a);

// Computes h from a and h_prev (all with the same number of rows); fills `cache` if given.
template <typename T>
void gru_cell_forward(const GruLayerWeights<T>& w, const Activation& hidden_act,
                      ConstMatrixRef<T> a, ConstMatrixRef<T> h_prev, GruCellCache<T>& cache,
                      MatrixRef<T> h);

// From dL/dh computes da = dL/d[a_c | a_r | a_z] and the recurrent weight gradients
// (overwritten, not accumulated).
template <typename T>
void gru_cell_backward(const GruLayerWeights<T>& w, const Activation& hidden_act,
                       ConstMatrixRef<T> h_prev, const GruCellCache<T>& cache, ConstMatrixRef<T> dh,
                       MatrixRef<T> da, MatrixRef<T> dUrz, MatrixRef<T> dUh);

}  // namespace gru4rec
