#include "gru4rec/model/forward.h"

#include "gru4rec/core/error.h"

namespace gru4rec {

ForwardConfig ForwardConfig::inference(const Params& params) {
  return ForwardConfig{.hidden_act = params.hidden_act};
}

ForwardConfig ForwardConfig::training(const Params& params) {
  return ForwardConfig{.hidden_act = params.hidden_act,
                       .dropout_embed = params.dropout_p_embed,
                       .dropout_hidden = params.dropout_p_hidden};
}

template <typename T>
void ForwardBuffers<T>::reserve(const NetworkShape& shape, Eigen::Index capacity) {
  const Eigen::Index input_size = shape.mode == EmbeddingMode::kOneHot ? 0 : shape.input_size(0);
  input.resize(capacity, input_size);
  input_mask.resize(capacity, input_size);
  const size_t layers = shape.layers.size();
  projection.resize(layers);
  cells.resize(layers);
  output.resize(layers);
  output_mask.resize(layers);
  for (size_t l = 0; l < layers; ++l) {
    const Eigen::Index h = shape.layers[l];
    projection[l].resize(capacity, 3 * h);
    cells[l].reserve(capacity, h);
    output[l].resize(capacity, h);
    output_mask[l].resize(capacity, h);
  }
}

template <typename T>
void fill_dropout_mask(Rng& rng, double p, MatrixRef<T> mask) {
  // Compare 32-bit uniforms against p: two decisions per 64-bit draw.
  const auto threshold = static_cast<uint64_t>(p * 4294967296.0);
  const T keep = static_cast<T>(1.0 / (1.0 - p));
  for (Eigen::Index r = 0; r < mask.rows(); ++r) {
    T* row = &mask(r, 0);
    const Eigen::Index cols = mask.cols();
    Eigen::Index c = 0;
    for (; c + 1 < cols; c += 2) {
      const uint64_t bits = rng.next_u64();
      row[c] = (bits & 0xFFFFFFFFu) < threshold ? T(0) : keep;
      row[c + 1] = (bits >> 32) < threshold ? T(0) : keep;
    }
    if (c < cols) row[c] = (rng.next_u64() & 0xFFFFFFFFu) < threshold ? T(0) : keep;
  }
}

template <typename T>
void network_forward(const NetworkWeights<T>& w, const ItemRows<const T>& input_rows,
                     const ForwardConfig& config, std::span<const int32_t> inputs,
                     const std::vector<MatrixR<T>>& h_prev, ForwardBuffers<T>& b, Rng* rng) {
  const auto rows = static_cast<Eigen::Index>(inputs.size());
  GRU4REC_CHECK(rows <= b.capacity(), "{} rows exceed the buffers' {}", rows, b.capacity());
  GRU4REC_CHECK(h_prev.size() == w.layers.size());
  const bool drop_embed = config.dropout_embed > 0;
  const bool drop_hidden = config.dropout_hidden > 0;
  GRU4REC_CHECK(rng != nullptr || (!drop_embed && !drop_hidden));
  const EmbeddingMode mode = w.shape.mode;
  if (mode != EmbeddingMode::kOneHot) {
    GRU4REC_CHECK(input_rows.cols == b.input.cols());
    auto x = b.input.topRows(rows);
    for (Eigen::Index i = 0; i < rows; ++i) {
      x.row(i) = Eigen::Map<const RowVector<T>>(input_rows.row(inputs[static_cast<size_t>(i)]),
                                                input_rows.cols);
    }
    if (drop_embed) {
      auto mask = b.input_mask.topRows(rows);
      fill_dropout_mask<T>(*rng, config.dropout_embed, mask);
      x.array() *= mask.array();
    }
  }
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const GruLayerWeights<T>& layer = w.layers[l];
    auto a = b.projection[l].topRows(rows);
    if (l == 0 && mode == EmbeddingMode::kOneHot) {
      gru_input_rows<T>(layer, input_rows, inputs, a);
    } else if (l == 0) {
      gru_input_projection<T>(layer, b.input.topRows(rows), a);
    } else {
      gru_input_projection<T>(layer, b.output[l - 1].topRows(rows), a);
    }
    auto h = b.output[l].topRows(rows);
    gru_cell_forward<T>(layer, config.hidden_act, a, h_prev[l].topRows(rows), b.cells[l], h);
    if (drop_hidden) {
      auto mask = b.output_mask[l].topRows(rows);
      fill_dropout_mask<T>(*rng, config.dropout_hidden, mask);
      h.array() *= mask.array();
    }
  }
}

#define GRU4REC_INSTANTIATE(T)                                                         \
  template struct ForwardBuffers<T>;                                                   \
  template void fill_dropout_mask<T>(Rng&, double, MatrixRef<T>);                      \
  template void network_forward<T>(const NetworkWeights<T>&, const ItemRows<const T>&, \
                                   const ForwardConfig&, std::span<const int32_t>,     \
                                   const std::vector<MatrixR<T>>&, ForwardBuffers<T>&, Rng*);
GRU4REC_INSTANTIATE(float)
GRU4REC_INSTANTIATE(double)
#undef GRU4REC_INSTANTIATE

}  // namespace gru4rec
