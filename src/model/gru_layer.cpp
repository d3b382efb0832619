#include "gru4rec/model/gru_layer.h"

#include "gru4rec/model/activation_kernels.h"

namespace gru4rec {

template <typename T>
void GruCellCache<T>::reserve(Eigen::Index capacity, Eigen::Index hidden) {
  hu.resize(capacity, 2 * hidden);
  r.resize(capacity, hidden);
  z.resize(capacity, hidden);
  c.resize(capacity, hidden);
  rh.resize(capacity, hidden);
}

template <typename T>
void gru_input_projection(const GruLayerWeights<T>& w, ConstMatrixRef<T> x, MatrixRef<T> a) {
  a.noalias() = x * w.Wx;
  a.rowwise() += w.bh;
}

template <typename T>
void gru_input_rows(const GruLayerWeights<T>& w, const ItemRows<const T>& wx,
                    std::span<const int32_t> items, MatrixRef<T> a) {
  for (size_t i = 0; i < items.size(); ++i) {
    a.row(static_cast<Eigen::Index>(i)) =
        Eigen::Map<const RowVector<T>>(wx.row(items[i]), wx.cols) + w.bh;
  }
}

template <typename T>
void gru_cell_forward(const GruLayerWeights<T>& w, const Activation& hidden_act,
                      ConstMatrixRef<T> a, ConstMatrixRef<T> h_prev, GruCellCache<T>& cache,
                      MatrixRef<T> h) {
  const Eigen::Index rows = a.rows();
  const Eigen::Index hidden = w.Uh.rows();
  auto hu = cache.hu.topRows(rows);
  auto r = cache.r.topRows(rows);
  auto z = cache.z.topRows(rows);
  auto c = cache.c.topRows(rows);
  auto rh = cache.rh.topRows(rows);
  hu.noalias() = h_prev * w.Urz;
  r.array() = (a.middleCols(hidden, hidden) + hu.leftCols(hidden)).array().logistic();
  z.array() = (a.rightCols(hidden) + hu.rightCols(hidden)).array().logistic();
  rh.array() = r.array() * h_prev.array();
  c.noalias() = rh * w.Uh;
  c += a.leftCols(hidden);
  apply_activation(hidden_act, c, c);
  h.array() = h_prev.array() + z.array() * (c.array() - h_prev.array());
}

template <typename T>
void gru_cell_backward(const GruLayerWeights<T>& w, const Activation& hidden_act,
                       ConstMatrixRef<T> h_prev, const GruCellCache<T>& cache, ConstMatrixRef<T> dh,
                       MatrixRef<T> da, MatrixRef<T> dUrz, MatrixRef<T> dUh) {
  const Eigen::Index rows = dh.rows();
  const Eigen::Index hidden = w.Uh.rows();
  auto r = cache.r.topRows(rows).array();
  auto z = cache.z.topRows(rows).array();
  auto c = cache.c.topRows(rows);
  auto rh = cache.rh.topRows(rows);
  auto da_c = da.leftCols(hidden);
  auto da_r = da.middleCols(hidden, hidden);
  auto da_z = da.rightCols(hidden);
  // Update gate and candidate.
  da_z.array() = dh.array() * (c.array() - h_prev.array()) * z * (T(1) - z);
  da_c.array() = dh.array() * z;
  multiply_by_activation_derivative(hidden_act, c, da_c);
  dUh.noalias() = rh.transpose() * da_c;
  // Reset gate: d(r * h_prev) = da_c Uh^T; the part flowing into h_prev is dropped (no BPTT).
  da_r.noalias() = da_c * w.Uh.transpose();
  da_r.array() *= h_prev.array() * r * (T(1) - r);
  dUrz.noalias() = h_prev.transpose() * da.rightCols(2 * hidden);
}

#define GRU4REC_INSTANTIATE(T)                                                                     \
  template struct GruCellCache<T>;                                                                 \
  template void gru_input_projection<T>(const GruLayerWeights<T>&, ConstMatrixRef<T>,              \
                                        MatrixRef<T>);                                             \
  template void gru_input_rows<T>(const GruLayerWeights<T>&, const ItemRows<const T>&,             \
                                  std::span<const int32_t>, MatrixRef<T>);                         \
  template void gru_cell_forward<T>(const GruLayerWeights<T>&, const Activation&,                  \
                                    ConstMatrixRef<T>, ConstMatrixRef<T>, GruCellCache<T>&,        \
                                    MatrixRef<T>);                                                 \
  template void gru_cell_backward<T>(const GruLayerWeights<T>&, const Activation&,                 \
                                     ConstMatrixRef<T>, const GruCellCache<T>&, ConstMatrixRef<T>, \
                                     MatrixRef<T>, MatrixRef<T>, MatrixRef<T>);
GRU4REC_INSTANTIATE(float)
GRU4REC_INSTANTIATE(double)
#undef GRU4REC_INSTANTIATE

}  // namespace gru4rec
