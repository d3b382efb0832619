#include "gru4rec/train/split_step.h"

#include <algorithm>
#include <cmath>

#include "gru4rec/core/error.h"
#include "gru4rec/train/losses.h"

namespace gru4rec {
namespace {

// Adds the rows of `from` to their items' rows in `into` (each item of `from` must have one),
// those whose row in `into` is in [first, last) only.
void add_rows_in_range(SparseRowGrad<float>& into, const SparseRowGrad<float>& from, int32_t first,
                       int32_t last) {
  const auto ids = from.ids();
  const auto rows = from.rows();
  auto into_rows = into.rows();
  for (size_t k = 0; k < ids.size(); ++k) {
    if (ids[k] < 0) continue;
    const int32_t slot = into.find(ids[k]);
    if (slot >= first && slot < last) into_rows.row(slot) += rows.row(static_cast<Eigen::Index>(k));
  }
}

}  // namespace

struct SplitStep::Share {
  std::unique_ptr<TrainStep<float>> step;  // the GRU part of this share's rows
  std::vector<MatrixR<float>> hidden;      // the states of its rows
  LossWorkspace<float> loss_workspace;
  Rng dropout_rng{0};
  Eigen::Index first = 0, rows = 0;  // its rows of the mini-batch
  float loss = 0;
};

SplitStep::SplitStep(const NetworkShape& shape, const StepConfig& config, int max_rows,
                     int max_columns, double grad_cap, uint64_t seed, int shares, ThreadTeam& team)
    : shape_(shape), config_(config), grad_cap_(grad_cap), team_(team) {
  GRU4REC_CHECK(shares >= 1 && team.size() <= shares && max_rows >= shares &&
                max_columns >= max_rows);
  const int share_rows = (max_rows + shares - 1) / shares;
  for (int p = 0; p < shares; ++p) {
    auto share = std::make_unique<Share>();
    share->step = std::make_unique<TrainStep<float>>(shape, config, share_rows, share_rows,
                                                     /*gru_only=*/true);
    for (int size : shape.layers) share->hidden.push_back(MatrixR<float>::Zero(share_rows, size));
    share->loss_workspace.reserve(share_rows, max_columns);
    share->dropout_rng =
        Rng(Rng::derive_seed(seed, kShareDropoutStreamBase + static_cast<uint64_t>(p)));
    shares_.push_back(std::move(share));
  }
  const Eigen::Index out_size = shape.output_size();
  out_rows_.resize(max_columns, out_size);
  column_bias_.resize(max_columns);
  top_.resize(max_rows, out_size);
  d_top_.resize(max_rows, out_size);
  scores_.resize(max_rows, max_columns);
  d_scores_.resize(max_rows, max_columns);
  total_.reserve(shape, max_rows, max_columns);
}

SplitStep::~SplitStep() = default;

template <typename Body>
void SplitStep::for_each_share(Body&& body) {
  const int shares = static_cast<int>(shares_.size());
  const int threads = team_.size();
  // Thread t runs shares t, t + threads, ...: which thread runs a share changes nothing in
  // what the share computes.
  team_.run([&](int t) {
    for (int p = t; p < shares; p += threads) body(p);
  });
}

float SplitStep::train(NetworkWeights<float>& w, AdagradMomentum<float>& optimizer,
                       std::span<const int32_t> inputs, std::span<const int32_t> columns,
                       std::span<const float> column_shift, std::vector<MatrixR<float>>& hidden,
                       Rng* dropout_rng, PhaseProfile* profile) {
  const auto rows = static_cast<Eigen::Index>(inputs.size());
  const auto cols = static_cast<Eigen::Index>(columns.size());
  GRU4REC_CHECK(rows > 0 && cols >= rows && cols <= scores_.cols() && rows <= scores_.rows());
  GRU4REC_CHECK(column_shift.empty() || column_shift.size() == columns.size());
  const int shares = static_cast<int>(shares_.size());
  const Eigen::Index out_size = shape_.output_size();
  // Share 0 takes the first rows, so that it always has some.
  const Eigen::Index per_share = (rows + shares - 1) / shares;
  for (int p = 0; p < shares; ++p) {
    Share& share = *shares_[static_cast<size_t>(p)];
    share.first = std::min(rows, p * per_share);
    share.rows = std::min(rows, share.first + per_share) - share.first;
    share.loss = 0;
  }
  const ItemTables<const float> items = optimizer.item_tables();
  const bool shared_mode = shape_.mode == EmbeddingMode::kShared;

  // Every item row that the step's gradient has gets its slot now, so that the threads can
  // fill the slots concurrently: the inputs' first (their gradients come last), then one
  // per column (repeated items folded after phase D).
  StepGradients<float>& g = total_;
  g.wy_rows.clear();
  g.by_rows.clear();
  g.input_rows.clear();
  g.output_side_applied = false;
  SparseRowGrad<float>& input_grad = shared_mode ? g.wy_rows : g.input_rows;
  for (int32_t item : inputs) input_grad.add_zero(item);
  const int32_t input_slots = input_grad.size();
  g.wy_input_slots = shared_mode ? input_slots : 0;
  const int32_t first_column_slot = g.wy_rows.append(columns);
  g.by_rows.append(columns);

  auto out = out_rows_.topRows(cols);
  auto bias = column_bias_.head(cols);
  auto top = top_.topRows(rows);
  auto d_top = d_top_.topRows(rows);
  auto scores = scores_.topLeftCorner(rows, cols);
  auto d_scores = d_scores_.topLeftCorner(rows, cols);

  // A: the GRU forward pass by rows; the columns' item rows gathered by columns.
  for_each_share([&](int p) {
    Share& share = *shares_[static_cast<size_t>(p)];
    const auto [c0, c1] = share_range(cols, p, shares);
    gather_columns<float>(items, columns, column_shift, c0, c1, out_rows_, column_bias_);
    if (share.rows == 0) return;
    for (size_t l = 0; l < hidden.size(); ++l) {
      share.hidden[l].topRows(share.rows) = hidden[l].middleRows(share.first, share.rows);
    }
    top.middleRows(share.first, share.rows) = share.step->forward_gru(
        w, items, inputs.subspan(static_cast<size_t>(share.first), static_cast<size_t>(share.rows)),
        share.hidden, p == 0 ? dropout_rng : &share.dropout_rng);
  });
  mark_phase(profile, Phase::kForward);

  // B: the scores by columns.
  for_each_share([&](int p) {
    const auto [c0, c1] = share_range(cols, p, shares);
    if (c1 <= c0) return;
    auto block = scores.middleCols(c0, c1 - c0);
    block.noalias() = top * out.middleRows(c0, c1 - c0).transpose();
    block.rowwise() += bias.segment(c0, c1 - c0);
  });
  mark_phase(profile, Phase::kScores);

  // C: the loss by rows.
  const float grad_scale = 1.0f / static_cast<float>(config_.batch_size);
  for_each_share([&](int p) {
    Share& share = *shares_[static_cast<size_t>(p)];
    if (share.rows == 0) return;
    share.loss = loss_forward_backward<float>(
        config_.loss, scores.middleRows(share.first, share.rows), share.loss_workspace,
        d_scores.middleRows(share.first, share.rows), grad_scale, share.first);
  });
  float loss = 0;
  for (const auto& share : shares_) loss += share->loss;
  if (!std::isfinite(loss)) return loss;
  mark_phase(profile, Phase::kLoss);

  // D: the columns' item-row and bias gradients by columns; dL/d(top outputs) by units.
  for_each_share([&](int p) {
    const auto [c0, c1] = share_range(cols, p, shares);
    if (c1 > c0) {
      const auto n = static_cast<int32_t>(c1 - c0);
      g.wy_rows.block(first_column_slot + static_cast<int32_t>(c0), n).noalias() =
          d_scores.middleCols(c0, n).transpose() * top;
      auto bias_grad = g.by_rows.block(static_cast<int32_t>(c0), n).transpose();
      bias_grad.setZero();
      for (Eigen::Index i = 0; i < rows; ++i) bias_grad += d_scores.row(i).segment(c0, n);
    }
    const auto [h0, h1] = share_range(out_size, p, shares);
    if (h1 > h0) d_top.middleCols(h0, h1 - h0).noalias() = d_scores * out.middleCols(h0, h1 - h0);
  });
  g.wy_rows.merge_duplicates();
  g.by_rows.merge_duplicates();

  // E: the GRU backward pass by rows (partial GRU gradients per share); the new states.
  for_each_share([&](int p) {
    Share& share = *shares_[static_cast<size_t>(p)];
    if (share.rows == 0) return;
    share.step->backward_gru(
        w, inputs.subspan(static_cast<size_t>(share.first), static_cast<size_t>(share.rows)),
        d_top.middleRows(share.first, share.rows), share.hidden);
    for (size_t l = 0; l < hidden.size(); ++l) {
      hidden[l].middleRows(share.first, share.rows) = share.hidden[l].topRows(share.rows);
    }
  });
  mark_phase(profile, Phase::kBackward);

  // F: the shares' gradients summed, each thread a slice of every GRU tensor and the input
  // rows of a share of the input slots; then the update of the same slices and of the item
  // rows of those input slots and of its columns' slots (which it filled in phase D: they are
  // still in its cache). Merged slots hold distinct items, so no row is updated twice.
  using Slots = AdagradMomentum<float>::ItemSlots;
  const auto owned_slots = [&](int p) {
    const auto [a0, a1] = share_range(input_slots, p, shares);
    const auto [c0, c1] = share_range(cols, p, shares);
    const AdagradMomentum<float>::SlotRange inputs_range{static_cast<int32_t>(a0),
                                                         static_cast<int32_t>(a1)};
    Slots slots;
    slots.wy[0] = shared_mode ? inputs_range : AdagradMomentum<float>::SlotRange{};
    slots.wy[1] = {first_column_slot + static_cast<int32_t>(c0),
                   first_column_slot + static_cast<int32_t>(c1)};
    slots.by = {static_cast<int32_t>(c0), static_cast<int32_t>(c1)};
    slots.input = shared_mode ? AdagradMomentum<float>::SlotRange{} : inputs_range;
    return slots;
  };
  const auto reduce = [&](int p) {
    const auto sum_slices = [&](auto member) {
      for (size_t l = 0; l < g.layers.size(); ++l) {
        auto& into = g.layers[l].*member;
        const auto [b, e] = share_range(into.size(), p, shares);
        if (e <= b) continue;
        Eigen::Map<Eigen::ArrayXf> sum(into.data() + b, e - b);
        sum.setZero();
        for (const auto& share : shares_) {
          if (share->rows == 0) continue;
          const auto& part = share->step->gradients().layers[l].*member;
          sum += Eigen::Map<const Eigen::ArrayXf>(part.data() + b, e - b);
        }
      }
    };
    sum_slices(&GruLayerWeights<float>::Wx);
    sum_slices(&GruLayerWeights<float>::Urz);
    sum_slices(&GruLayerWeights<float>::Uh);
    sum_slices(&GruLayerWeights<float>::bh);
    const auto [a0, a1] = share_range(input_slots, p, shares);
    for (const auto& share : shares_) {
      if (share->rows == 0) continue;
      StepGradients<float>& part = share->step->gradients();
      add_rows_in_range(input_grad, shared_mode ? part.wy_rows : part.input_rows,
                        static_cast<int32_t>(a0), static_cast<int32_t>(a1));
    }
  };
  if (grad_cap_ > 0) {
    for_each_share(reduce);
    const double norm = std::sqrt(g.squared_norm());
    if (norm >= grad_cap_) g.scale(static_cast<float>(grad_cap_ / norm));
    for_each_share([&](int p) { optimizer.update_share(w, g, p, shares, owned_slots(p)); });
  } else {
    for_each_share([&](int p) {
      reduce(p);
      optimizer.update_share(w, g, p, shares, owned_slots(p));
    });
  }
  mark_phase(profile, Phase::kDenseUpdate);
  return loss;
}

}  // namespace gru4rec
