#include "gru4rec/train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "gru4rec/core/error.h"
#include "gru4rec/core/memory.h"

namespace gru4rec {
namespace {

constexpr double kAdagradEpsilon = 1e-6;

// One dense Adagrad(+momentum) update of a contiguous block of values.
template <typename T>
void update_values(const OptimizerConfig& c, T lmbd, T* param, T* acc, T* vel, const T* grad,
                   Eigen::Index count) {
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> p(param, count), a(acc, count);
  Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> g(grad, count);
  const T lr = static_cast<T>(c.learning_rate);
  const T eps = static_cast<T>(kAdagradEpsilon);
  a += g.square();
  if (vel != nullptr) {
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> v(vel, count);
    const T mu = static_cast<T>(c.momentum);
    if (lmbd != T(0)) {
      v = mu * v - lr * (g / (a + eps).sqrt() + lmbd * p);
    } else {
      v = mu * v - lr * (g / (a + eps).sqrt());
    }
    p += v;
  } else if (lmbd != T(0)) {
    p = p * (T(1) - lr * lmbd) - lr * (g / (a + eps).sqrt());
  } else {
    p -= lr * (g / (a + eps).sqrt());
  }
}

template <typename T, typename Tensor>
void update_dense(const OptimizerConfig& c, Tensor& param, Tensor& acc, Tensor& vel,
                  const Tensor& grad) {
  GRU4REC_CHECK(param.size() == grad.size() && acc.size() == param.size());
  update_values<T>(c, static_cast<T>(c.lmbd), param.data(), acc.data(),
                   vel.size() > 0 ? vel.data() : nullptr, grad.data(), param.size());
}

// Updates the rows of `grad`'s slots [first, last) (all by default).
template <typename T, typename Tensor>
void update_rows(const OptimizerConfig& c, Tensor& param, Tensor& acc, Tensor& vel,
                 const SparseRowGrad<T>& grad, int32_t first = 0, int32_t last = -1) {
  if (last < 0) last = grad.size();
  const auto ids = grad.ids().subspan(static_cast<size_t>(first), static_cast<size_t>(last - first));
  const auto rows = grad.rows().middleRows(first, last - first);
  // By is a row vector (one value per item); the others have one row per item.
  const bool per_value = param.rows() == 1 && rows.cols() == 1;
  const Eigen::Index width = per_value ? 1 : param.cols();
  GRU4REC_CHECK(rows.cols() == width);
  const bool has_velocity = vel.size() > 0;
  // The rows are scattered over matrices far larger than the caches: fetch the rows a few
  // steps ahead so that their cache misses overlap with the arithmetic on the current row.
  constexpr size_t kPrefetchAhead = 16;
  const size_t row_bytes = sizeof(T) * static_cast<size_t>(width);
  auto prefetch_row = [&](size_t k) {
    const Eigen::Index offset = static_cast<Eigen::Index>(ids[k]) * width;
    prefetch_bytes(param.data() + offset, row_bytes, true);
    prefetch_bytes(acc.data() + offset, row_bytes, true);
    if (has_velocity) prefetch_bytes(vel.data() + offset, row_bytes, true);
  };
  for (size_t k = 0; k < std::min(kPrefetchAhead, ids.size()); ++k) prefetch_row(k);
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k + kPrefetchAhead < ids.size()) prefetch_row(k + kPrefetchAhead);
    const Eigen::Index offset = static_cast<Eigen::Index>(ids[k]) * width;
    update_values<T>(c, T(0), param.data() + offset, acc.data() + offset,
                     has_velocity ? vel.data() + offset : nullptr,
                     rows.row(static_cast<Eigen::Index>(k)).data(), width);
  }
}

}  // namespace

OptimizerConfig OptimizerConfig::from_params(const Params& params) {
  return OptimizerConfig{
      .learning_rate = params.learning_rate, .momentum = params.momentum, .lmbd = params.lmbd};
}

template <typename T>
AdagradMomentum<T>::AdagradMomentum(const NetworkShape& shape, const OptimizerConfig& config)
    : config_(config), accumulators_(NetworkWeights<T>::zeros(shape)) {
  if (config.momentum > 0)
    velocities_ = NetworkWeights<T>::zeros(shape);
  else
    velocities_.layers.resize(shape.layers.size());
}

template <typename T>
void AdagradMomentum<T>::update(NetworkWeights<T>& w, const StepGradients<T>& g,
                                PhaseProfile* profile) {
  auto& acc = accumulators_;
  auto& vel = velocities_;
  const EmbeddingMode mode = w.shape.mode;
  for (size_t l = 0; l < w.layers.size(); ++l) {
    auto& p = w.layers[l];
    const auto& gl = g.layers[l];
    if (!(l == 0 && mode == EmbeddingMode::kOneHot)) {
      update_dense<T>(config_, p.Wx, acc.layers[l].Wx, vel.layers[l].Wx, gl.Wx);
    }
    update_dense<T>(config_, p.Urz, acc.layers[l].Urz, vel.layers[l].Urz, gl.Urz);
    update_dense<T>(config_, p.Uh, acc.layers[l].Uh, vel.layers[l].Uh, gl.Uh);
    update_dense<T>(config_, p.bh, acc.layers[l].bh, vel.layers[l].bh, gl.bh);
  }
  mark_phase(profile, Phase::kDenseUpdate);
  if (mode == EmbeddingMode::kOneHot) {
    update_rows<T>(config_, w.layers[0].Wx, acc.layers[0].Wx, vel.layers[0].Wx, g.input_rows);
  }
  if (mode == EmbeddingMode::kSeparate) update_rows<T>(config_, w.E, acc.E, vel.E, g.input_rows);
  if (g.output_side_applied) {
    update_rows<T>(config_, w.Wy, acc.Wy, vel.Wy, g.wy_rows, 0, g.wy_input_slots);
  } else {
    update_rows<T>(config_, w.Wy, acc.Wy, vel.Wy, g.wy_rows);
    update_rows<T>(config_, w.By, acc.By, vel.By, g.by_rows);
  }
  mark_phase(profile, Phase::kSparseUpdate);
}

template <typename T>
void AdagradMomentum<T>::update_output_side(NetworkWeights<T>& w, StepGradients<T>& g,
                                            PhaseProfile* profile) {
  GRU4REC_CHECK(!g.output_side_applied);
  update_rows<T>(config_, w.Wy, accumulators_.Wy, velocities_.Wy, g.wy_rows, g.wy_input_slots);
  update_rows<T>(config_, w.By, accumulators_.By, velocities_.By, g.by_rows);
  g.output_side_applied = true;
  mark_phase(profile, Phase::kSparseUpdate);
}

template class AdagradMomentum<float>;
template class AdagradMomentum<double>;

}  // namespace gru4rec
