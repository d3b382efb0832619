#include "gru4rec/train/train_step.h"

#include <algorithm>
#include <utility>

#include "gru4rec/core/error.h"
#include "gru4rec/core/memory.h"

namespace gru4rec {
namespace {

// Rows gathered ahead of use, so that their cache misses overlap.
constexpr Eigen::Index kPrefetchRows = 8;

// out = column sums of m, accumulated row by row (contiguous and vectorized for row-major m).
template <typename Matrix, typename Row>
void column_sums(const Matrix& m, Row&& out) {
  out.setZero();
  for (Eigen::Index i = 0; i < m.rows(); ++i) out += m.row(i);
}

}  // namespace

template <typename T>
void gather_columns(const ItemTables<const T>& items, std::span<const int32_t> columns,
                    std::span<const T> column_shift, Eigen::Index first, Eigen::Index last,
                    MatrixR<T>& out, RowVector<T>& bias) {
  const ItemRows<const T>& wy = items.wy;
  GRU4REC_CHECK(wy.cols == out.cols() && last <= out.rows() && last <= bias.size());
  const size_t row_bytes = sizeof(T) * static_cast<size_t>(wy.cols);
  for (Eigen::Index j = first; j < last; ++j) {
    if (j + kPrefetchRows < last) {
      prefetch_bytes(wy.row(columns[static_cast<size_t>(j + kPrefetchRows)]), row_bytes);
    }
    const int32_t item = columns[static_cast<size_t>(j)];
    out.row(j) = Eigen::Map<const RowVector<T>>(wy.row(item), wy.cols);
    bias(j) = *items.by.row(item);
  }
  if (!column_shift.empty()) {
    bias.segment(first, last - first) -=
        Eigen::Map<const RowVector<T>>(column_shift.data() + first, last - first);
  }
}

template <typename T>
double StepGradients<T>::squared_norm() const {
  double total = 0;
  for (const auto& layer : layers) {
    total += static_cast<double>(layer.Wx.squaredNorm() + layer.Urz.squaredNorm() +
                                 layer.Uh.squaredNorm() + layer.bh.squaredNorm());
  }
  total += static_cast<double>(wy_rows.rows().squaredNorm());
  total += static_cast<double>(input_rows.rows().squaredNorm());
  total += static_cast<double>(by_rows.rows().squaredNorm());
  return total;
}

template <typename T>
void StepGradients<T>::scale(T factor) {
  for (auto& layer : layers) {
    layer.Wx *= factor;
    layer.Urz *= factor;
    layer.Uh *= factor;
    layer.bh *= factor;
  }
  wy_rows.rows() *= factor;
  input_rows.rows() *= factor;
  by_rows.rows() *= factor;
}

template <typename T>
void StepGradients<T>::reserve(const NetworkShape& shape, Eigen::Index rows, Eigen::Index columns,
                               bool input_side_only) {
  layers.resize(shape.layers.size());
  for (size_t l = 0; l < shape.layers.size(); ++l) {
    const Eigen::Index h = shape.layers[l];
    auto& g = layers[l];
    const bool one_hot_input = l == 0 && shape.mode == EmbeddingMode::kOneHot;
    g.Wx = MatrixR<T>::Zero(one_hot_input ? 0 : shape.input_size(l), one_hot_input ? 0 : 3 * h);
    g.Urz = MatrixR<T>::Zero(h, 2 * h);
    g.Uh = MatrixR<T>::Zero(h, h);
    g.bh = RowVector<T>::Zero(3 * h);
  }
  const bool shared = shape.mode == EmbeddingMode::kShared;
  if (input_side_only) {
    if (shared) wy_rows.reserve(shape.num_items, rows, shape.output_size());
  } else {
    wy_rows.reserve(shape.num_items, columns + (shared ? rows : 0), shape.output_size());
    by_rows.reserve(shape.num_items, columns, 1);
  }
  if (shape.mode == EmbeddingMode::kSeparate) {
    input_rows.reserve(shape.num_items, rows, shape.embedding_size);
  } else if (shape.mode == EmbeddingMode::kOneHot) {
    input_rows.reserve(shape.num_items, rows, 3 * shape.layers[0]);
  }
}

StepConfig StepConfig::from_params(const Params& params) {
  return StepConfig{.forward = ForwardConfig::training(params),
                    .loss = LossConfig::from_params(params),
                    .batch_size = params.batch_size};
}

template <typename T>
TrainStep<T>::TrainStep(const NetworkShape& shape, const StepConfig& config, int max_rows,
                        int max_columns, bool gru_only)
    : shape_(shape), config_(config), max_rows_(max_rows) {
  GRU4REC_CHECK(max_rows > 0 && max_columns >= max_rows);
  const Eigen::Index rows = max_rows;
  const Eigen::Index columns = max_columns;
  const Eigen::Index out_size = shape.output_size();
  forward_.reserve(shape, rows);
  if (!gru_only) {
    loss_.reserve(rows, columns);
    out_rows_.resize(columns, out_size);
    scores_.resize(rows, columns);
    d_scores_.resize(rows, columns);
    column_bias_.resize(columns);
  }
  Eigen::Index widest = *std::max_element(shape.layers.begin(), shape.layers.end());
  if (shape.mode != EmbeddingMode::kOneHot)
    widest = std::max<Eigen::Index>(widest, shape.input_size(0));
  d_hidden_.resize(rows, widest);
  d_input_.resize(rows, widest);
  d_projection_.resize(rows, 3 * *std::max_element(shape.layers.begin(), shape.layers.end()));
  gradients_.reserve(shape, rows, columns, gru_only);
}

template <typename T>
T TrainStep<T>::run(const NetworkWeights<T>& w, const ItemTables<const T>& items,
                    std::span<const int32_t> inputs, std::span<const int32_t> columns,
                    std::span<const T> column_shift, std::vector<MatrixR<T>>& hidden,
                    Rng* dropout_rng, PhaseProfile* profile) {
  const T loss =
      forward_output(w, items, inputs, columns, column_shift, hidden, dropout_rng, profile);
  backward_hidden(w, inputs, hidden, profile);
  return loss;
}

template <typename T>
T TrainStep<T>::forward_output(const NetworkWeights<T>& w, const ItemTables<const T>& items,
                               std::span<const int32_t> inputs, std::span<const int32_t> columns,
                               std::span<const T> column_shift,
                               const std::vector<MatrixR<T>>& hidden, Rng* dropout_rng,
                               PhaseProfile* profile) {
  const auto rows = static_cast<Eigen::Index>(inputs.size());
  const auto cols = static_cast<Eigen::Index>(columns.size());
  GRU4REC_CHECK(rows > 0 && rows <= scores_.rows() && cols >= rows && cols <= scores_.cols());
  GRU4REC_CHECK(column_shift.empty() || column_shift.size() == columns.size());
  rows_ = rows;
  cols_ = cols;

  network_forward<T>(w, items.input, config_.forward, inputs, hidden, forward_, dropout_rng);
  mark_phase(profile, Phase::kForward);
  auto top = forward_.output.back().topRows(rows);

  // Scores against the target columns: R = h Wy[columns]^T + By[columns] - shift.
  auto out = out_rows_.topRows(cols);
  auto bias = column_bias_.head(cols);
  gather_columns<T>(items, columns, column_shift, 0, cols, out_rows_, column_bias_);
  auto scores = scores_.topLeftCorner(rows, cols);
  scores.noalias() = top * out.transpose();
  scores.rowwise() += bias;
  mark_phase(profile, Phase::kScores);

  auto d_scores = d_scores_.topLeftCorner(rows, cols);
  const T loss = loss_forward_backward<T>(config_.loss, scores, loss_, d_scores,
                                          T(1) / static_cast<T>(config_.batch_size));
  mark_phase(profile, Phase::kLoss);

  // Output side: item rows and biases of the columns. In shared mode the inputs' rows are
  // registered first, so that they occupy the leading slots.
  StepGradients<T>& g = gradients_;
  g.wy_rows.clear();
  g.input_rows.clear();
  g.by_rows.clear();
  g.output_side_applied = false;
  if (shape_.mode == EmbeddingMode::kShared) {
    for (int32_t item : inputs) g.wy_rows.add_zero(item);
  }
  g.wy_input_slots = g.wy_rows.size();
  // One row per column, computed in place, then repeated items folded together.
  const int32_t first = g.wy_rows.append(columns);
  g.wy_rows.block(first, static_cast<int32_t>(cols)).noalias() = d_scores.transpose() * top;
  g.wy_rows.merge_duplicates();
  g.by_rows.append(columns);
  column_sums(d_scores, g.by_rows.block(0, static_cast<int32_t>(cols)).transpose());
  g.by_rows.merge_duplicates();
  mark_phase(profile, Phase::kBackward);
  return loss;
}

template <typename T>
void TrainStep<T>::backward_hidden(const NetworkWeights<T>& w, std::span<const int32_t> inputs,
                                   std::vector<MatrixR<T>>& hidden, PhaseProfile* profile) {
  const Eigen::Index rows = rows_;
  const Eigen::Index cols = cols_;
  auto d_scores = d_scores_.topLeftCorner(rows, cols);
  auto out = out_rows_.topRows(cols);
  d_hidden_.topLeftCorner(rows, shape_.output_size()).noalias() = d_scores * out;
  backward_layers(w, inputs, hidden);
  mark_phase(profile, Phase::kBackward);
}

template <typename T>
ConstMatrixRef<T> TrainStep<T>::forward_gru(const NetworkWeights<T>& w,
                                            const ItemTables<const T>& items,
                                            std::span<const int32_t> inputs,
                                            const std::vector<MatrixR<T>>& hidden,
                                            Rng* dropout_rng) {
  const auto rows = static_cast<Eigen::Index>(inputs.size());
  GRU4REC_CHECK(rows > 0 && rows <= max_rows_);
  rows_ = rows;
  cols_ = 0;
  network_forward<T>(w, items.input, config_.forward, inputs, hidden, forward_, dropout_rng);
  StepGradients<T>& g = gradients_;
  g.wy_rows.clear();
  g.input_rows.clear();
  g.by_rows.clear();
  g.wy_input_slots = 0;
  g.output_side_applied = false;
  return forward_.output.back().topRows(rows);
}

template <typename T>
void TrainStep<T>::backward_gru(const NetworkWeights<T>& w, std::span<const int32_t> inputs,
                                ConstMatrixRef<T> d_top, std::vector<MatrixR<T>>& hidden) {
  GRU4REC_CHECK(d_top.rows() == rows_ && d_top.cols() == shape_.output_size());
  d_hidden_.topLeftCorner(rows_, shape_.output_size()) = d_top;
  backward_layers(w, inputs, hidden);
}

template <typename T>
void TrainStep<T>::backward_layers(const NetworkWeights<T>& w, std::span<const int32_t> inputs,
                                   std::vector<MatrixR<T>>& hidden) {
  const Eigen::Index rows = rows_;
  GRU4REC_CHECK(static_cast<Eigen::Index>(inputs.size()) == rows);
  const size_t num_layers = w.layers.size();
  const EmbeddingMode mode = shape_.mode;
  StepGradients<T>& g = gradients_;
  // Down through the GRU stack. d_hidden_ holds dL/d(output of layer l, after dropout).
  for (size_t l = num_layers; l-- > 0;) {
    const Eigen::Index h = shape_.layers[l];
    auto dh = d_hidden_.topLeftCorner(rows, h);
    if (config_.forward.dropout_hidden > 0) {
      dh.array() *= forward_.output_mask[l].topRows(rows).array();
    }
    auto da = d_projection_.topLeftCorner(rows, 3 * h);
    auto& gl = g.layers[l];
    gru_cell_backward<T>(w.layers[l], config_.forward.hidden_act, hidden[l].topRows(rows),
                         forward_.cells[l], dh, da, gl.Urz, gl.Uh);
    column_sums(da, gl.bh);
    if (l == 0 && mode == EmbeddingMode::kOneHot) {
      for (Eigen::Index i = 0; i < rows; ++i) {
        g.input_rows.add(inputs[static_cast<size_t>(i)], da.row(i));
      }
      continue;
    }
    auto layer_input = l == 0 ? forward_.input.topRows(rows) : forward_.output[l - 1].topRows(rows);
    gl.Wx.noalias() = layer_input.transpose() * da;
    const Eigen::Index input_size = w.layers[l].Wx.rows();
    d_input_.topLeftCorner(rows, input_size).noalias() = da * w.layers[l].Wx.transpose();
    std::swap(d_hidden_, d_input_);
  }
  if (mode != EmbeddingMode::kOneHot) {
    auto dx = d_hidden_.topLeftCorner(rows, shape_.input_size(0));
    if (config_.forward.dropout_embed > 0) {
      dx.array() *= forward_.input_mask.topRows(rows).array();
    }
    SparseRowGrad<T>& target = mode == EmbeddingMode::kShared ? g.wy_rows : g.input_rows;
    for (Eigen::Index i = 0; i < rows; ++i) target.add(inputs[static_cast<size_t>(i)], dx.row(i));
  }

  // The dropped-out outputs become the carried states.
  for (size_t l = 0; l < num_layers; ++l) {
    hidden[l].topRows(rows) = forward_.output[l].topRows(rows);
  }
}

template void gather_columns<float>(const ItemTables<const float>&, std::span<const int32_t>,
                                    std::span<const float>, Eigen::Index, Eigen::Index,
                                    MatrixR<float>&, RowVector<float>&);
template void gather_columns<double>(const ItemTables<const double>&, std::span<const int32_t>,
                                     std::span<const double>, Eigen::Index, Eigen::Index,
                                     MatrixR<double>&, RowVector<double>&);
template struct StepGradients<float>;
template struct StepGradients<double>;
template class TrainStep<float>;
template class TrainStep<double>;

}  // namespace gru4rec
