#include "gru4rec/train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "gru4rec/core/error.h"
#include "gru4rec/core/memory.h"
#include "gru4rec/core/parallel.h"

namespace gru4rec {
namespace {

constexpr double kAdagradEpsilon = 1e-6;

// One Adagrad(+momentum) update of `count` contiguous values; `vel` may be null.
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

// Updates values [n * share / shares, n * (share + 1) / shares) of a dense tensor of n values
// (share 0 of 1: all of them).
template <typename T, typename Tensor>
void update_dense_share(const OptimizerConfig& c, Tensor& param, Tensor& acc, Tensor& vel,
                        const Tensor& grad, int share, int shares) {
  GRU4REC_CHECK(param.size() == grad.size() && acc.size() == param.size());
  const auto [first, last] = share_range(param.size(), share, shares);
  if (last <= first) return;
  update_values<T>(c, static_cast<T>(c.lmbd), param.data() + first, acc.data() + first,
                   vel.size() > 0 ? vel.data() + first : nullptr, grad.data() + first,
                   last - first);
}

// Updates the item rows of `grad`'s slots [first, last) (all by default) in an interleaved
// table.
template <typename T>
void update_rows(const OptimizerConfig& c, InterleavedTable<T>& table, const SparseRowGrad<T>& grad,
                 int32_t first = 0, int32_t last = -1) {
  if (last < 0) last = grad.size();
  if (last <= first) return;
  const auto ids =
      grad.ids().subspan(static_cast<size_t>(first), static_cast<size_t>(last - first));
  const auto rows = grad.rows().middleRows(first, last - first);
  const ItemRows<T> param = table.weights();
  const ItemRows<T> acc = table.accumulators();
  const ItemRows<T> vel = table.velocities();
  GRU4REC_CHECK(rows.cols() == param.cols);
  // The rows are scattered over a table far larger than the caches: fetch a few rows ahead so
  // that their cache misses overlap with the arithmetic on the current row. A row's weights
  // and state are one contiguous block of `stride` values.
  constexpr size_t kPrefetchAhead = 8;
  const size_t block_bytes = sizeof(T) * static_cast<size_t>(param.stride);
  // Folded slots have the id -1: prefetching "row -1" is harmless (a hint, inside the table's
  // allocation's neighbourhood at worst) and cheaper than a branch.
  for (size_t k = 0; k < std::min(kPrefetchAhead, ids.size()); ++k) {
    prefetch_bytes(param.row(ids[k]), block_bytes, true);
  }
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k + kPrefetchAhead < ids.size()) {
      prefetch_bytes(param.row(ids[k + kPrefetchAhead]), block_bytes, true);
    }
    const int32_t id = ids[k];
    if (id == SparseRowGrad<T>::kFolded) continue;
    update_values<T>(c, T(0), param.row(id), acc.row(id), vel.empty() ? nullptr : vel.row(id),
                     rows.row(static_cast<Eigen::Index>(k)).data(), param.cols);
  }
}

}  // namespace

OptimizerConfig OptimizerConfig::from_params(const Params& params) {
  return OptimizerConfig{
      .learning_rate = params.learning_rate, .momentum = params.momentum, .lmbd = params.lmbd};
}

template <typename T>
AdagradMomentum<T>::AdagradMomentum(NetworkWeights<T>& w, const OptimizerConfig& config)
    : config_(config), mode_(w.shape.mode) {
  const bool momentum = config.momentum > 0;
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const auto& layer = w.layers[l];
    const bool item_indexed = l == 0 && mode_ == EmbeddingMode::kOneHot;
    GruLayerWeights<T> zeros{
        MatrixR<T>::Zero(item_indexed ? 0 : layer.Wx.rows(), item_indexed ? 0 : layer.Wx.cols()),
        MatrixR<T>::Zero(layer.Urz.rows(), layer.Urz.cols()),
        MatrixR<T>::Zero(layer.Uh.rows(), layer.Uh.cols()), RowVector<T>::Zero(layer.bh.cols())};
    accumulators_.push_back(zeros);
    velocities_.push_back(momentum ? zeros : GruLayerWeights<T>{});
  }
  const ItemTables<const T> items = w.item_tables();
  wy_ = InterleavedTable<T>(items.wy, momentum);
  by_ = InterleavedTable<T>(items.by, momentum);
  if (mode_ != EmbeddingMode::kShared) input_ = InterleavedTable<T>(items.input, momentum);
  // The optimizer holds the item weights from now on.
  w.Wy.resize(0, 0);
  w.By.resize(0);
  if (mode_ == EmbeddingMode::kSeparate) w.E.resize(0, 0);
  if (mode_ == EmbeddingMode::kOneHot) w.layers[0].Wx.resize(0, 0);
}

template <typename T>
ItemTables<const T> AdagradMomentum<T>::item_tables() const {
  ItemTables<const T> tables{wy_.weights(), by_.weights(), wy_.weights()};
  if (mode_ != EmbeddingMode::kShared) tables.input = input_.weights();
  return tables;
}

template <typename T>
void AdagradMomentum<T>::export_items(NetworkWeights<T>& w) const {
  const NetworkShape& shape = w.shape;
  const auto n = static_cast<Eigen::Index>(shape.num_items);
  w.Wy.resize(n, shape.output_size());
  wy_.copy_weights_to(item_rows_of(w.Wy));
  w.By.resize(n);
  by_.copy_weights_to(item_rows_of(w.By));
  if (mode_ == EmbeddingMode::kSeparate) {
    w.E.resize(n, shape.embedding_size);
    input_.copy_weights_to(item_rows_of(w.E));
  }
  if (mode_ == EmbeddingMode::kOneHot) {
    w.layers[0].Wx.resize(n, 3 * shape.layers[0]);
    input_.copy_weights_to(item_rows_of(w.layers[0].Wx));
  }
}

namespace {

template <typename From, typename To>
void copy_item_rows(const ItemRows<From>& from, const ItemRows<To>& to) {
  GRU4REC_CHECK(from.rows == to.rows && from.cols == to.cols);
  for (int32_t r = 0; r < static_cast<int32_t>(from.rows); ++r)
    std::copy_n(from.row(r), from.cols, to.row(r));
}

}  // namespace

template <typename T>
void AdagradMomentum<T>::transfer_state(NetworkWeights<T>& state, bool velocities,
                                        bool into_optimizer) {
  const auto copy = [into_optimizer](auto& optimizer_side, auto& state_side) {
    if (into_optimizer)
      optimizer_side = state_side;
    else
      state_side = optimizer_side;
  };
  std::vector<GruLayerWeights<T>>& dense = velocities ? velocities_ : accumulators_;
  for (size_t l = 0; l < dense.size(); ++l) {
    // The one-hot input weights are item-indexed: they live in input_.
    if (!(l == 0 && mode_ == EmbeddingMode::kOneHot)) copy(dense[l].Wx, state.layers[l].Wx);
    copy(dense[l].Urz, state.layers[l].Urz);
    copy(dense[l].Uh, state.layers[l].Uh);
    copy(dense[l].bh, state.layers[l].bh);
  }
  const auto copy_rows = [&](InterleavedTable<T>& table, const ItemRows<T>& tensor) {
    const ItemRows<T> slab = velocities ? table.velocities() : table.accumulators();
    if (into_optimizer)
      copy_item_rows(ItemRows<const T>(tensor), slab);
    else
      copy_item_rows(ItemRows<const T>(slab), tensor);
  };
  copy_rows(wy_, item_rows_of(state.Wy));
  copy_rows(by_, item_rows_of(state.By));
  if (mode_ == EmbeddingMode::kSeparate) copy_rows(input_, item_rows_of(state.E));
  if (mode_ == EmbeddingMode::kOneHot) copy_rows(input_, item_rows_of(state.layers[0].Wx));
}

// The const_casts: transfer_state() writes only to the side it copies into.
template <typename T>
void AdagradMomentum<T>::import_state(const NetworkWeights<T>& acc, const NetworkWeights<T>* vel) {
  transfer_state(const_cast<NetworkWeights<T>&>(acc), false, true);
  if (config_.momentum > 0 && vel != nullptr)
    transfer_state(const_cast<NetworkWeights<T>&>(*vel), true, true);
}

template <typename T>
void AdagradMomentum<T>::export_state(NetworkWeights<T>& acc, NetworkWeights<T>* vel) const {
  auto& self = const_cast<AdagradMomentum&>(*this);
  self.transfer_state(acc, false, false);
  if (config_.momentum > 0 && vel != nullptr) self.transfer_state(*vel, true, false);
}

template <typename T>
bool AdagradMomentum<T>::weights_finite(const NetworkWeights<T>& w) const {
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const auto& p = w.layers[l];
    if (!p.Wx.allFinite() || !p.Urz.allFinite() || !p.Uh.allFinite() || !p.bh.allFinite())
      return false;
  }
  return wy_.weights_finite() && by_.weights_finite() &&
         (input_.empty() || input_.weights_finite());
}

template <typename T>
void AdagradMomentum<T>::update_dense_layers(NetworkWeights<T>& w, const StepGradients<T>& g,
                                             int share, int shares) {
  for (size_t l = 0; l < w.layers.size(); ++l) {
    auto& p = w.layers[l];
    const auto& gl = g.layers[l];
    auto& acc = accumulators_[l];
    auto& vel = velocities_[l];
    if (!(l == 0 && mode_ == EmbeddingMode::kOneHot))
      update_dense_share<T>(config_, p.Wx, acc.Wx, vel.Wx, gl.Wx, share, shares);
    update_dense_share<T>(config_, p.Urz, acc.Urz, vel.Urz, gl.Urz, share, shares);
    update_dense_share<T>(config_, p.Uh, acc.Uh, vel.Uh, gl.Uh, share, shares);
    update_dense_share<T>(config_, p.bh, acc.bh, vel.bh, gl.bh, share, shares);
  }
}

template <typename T>
void AdagradMomentum<T>::update(NetworkWeights<T>& w, const StepGradients<T>& g,
                                PhaseProfile* profile) {
  update_dense_layers(w, g, 0, 1);
  mark_phase(profile, Phase::kDenseUpdate);
  if (mode_ != EmbeddingMode::kShared) update_rows<T>(config_, input_, g.input_rows);
  if (g.output_side_applied) {
    update_rows<T>(config_, wy_, g.wy_rows, 0, g.wy_input_slots);
  } else {
    update_rows<T>(config_, wy_, g.wy_rows);
    update_rows<T>(config_, by_, g.by_rows);
  }
  mark_phase(profile, Phase::kSparseUpdate);
}

template <typename T>
void AdagradMomentum<T>::update_share(NetworkWeights<T>& w, const StepGradients<T>& g, int share,
                                      int shares, const ItemSlots& slots) {
  GRU4REC_CHECK(!g.output_side_applied && shares >= 1 && share >= 0 && share < shares);
  update_dense_layers(w, g, share, shares);
  if (mode_ != EmbeddingMode::kShared)
    update_rows<T>(config_, input_, g.input_rows, slots.input.first, slots.input.last);
  for (const SlotRange& range : slots.wy)
    update_rows<T>(config_, wy_, g.wy_rows, range.first, range.last);
  update_rows<T>(config_, by_, g.by_rows, slots.by.first, slots.by.last);
}

template <typename T>
void AdagradMomentum<T>::update_output_side(StepGradients<T>& g, PhaseProfile* profile) {
  GRU4REC_CHECK(!g.output_side_applied);
  update_rows<T>(config_, wy_, g.wy_rows, g.wy_input_slots);
  update_rows<T>(config_, by_, g.by_rows);
  g.output_side_applied = true;
  mark_phase(profile, Phase::kSparseUpdate);
}

template class AdagradMomentum<float>;
template class AdagradMomentum<double>;

}  // namespace gru4rec
