// The forward pass of the GRU stack on a mini-batch of rows, shared by training (with
// dropout and the values kept for backpropagation), evaluation and serving (no dropout).
// Pure: no I/O and no allocation once the buffers are reserved.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/core/random.h"
#include "gru4rec/model/gru_layer.h"
#include "gru4rec/model/network.h"

namespace gru4rec {

struct ForwardConfig {
  Activation hidden_act{Activation::Kind::kTanh};
  double dropout_embed = 0;   // inverted dropout on the input embedding rows
  double dropout_hidden = 0;  // inverted dropout on every layer's output

  static ForwardConfig inference(const Params& params);
  static ForwardConfig training(const Params& params);
};

// Per-thread buffers for up to `capacity` rows.
template <typename T>
struct ForwardBuffers {
  MatrixR<T> input;       // layer-0 input rows after dropout (not used in one-hot mode)
  MatrixR<T> input_mask;  // dropout multipliers of `input` (0 or 1/(1-p))
  std::vector<MatrixR<T>> projection;   // per layer: x Wx + bh, rows x 3H
  std::vector<GruCellCache<T>> cells;   // per layer
  std::vector<MatrixR<T>> output;       // per layer: output after dropout = the new state
  std::vector<MatrixR<T>> output_mask;  // per layer dropout multipliers

  void reserve(const NetworkShape& shape, Eigen::Index capacity);
  Eigen::Index capacity() const { return input_mask.rows(); }
};

// Runs all layers for the rows' input items, whose layer-0 rows are read from `input_rows`
// (Wy in shared mode, E in separate mode, layer-0 Wx in one-hot mode; usually
// w.item_tables().input). h_prev[l] holds the previous states of layer l in its first
// inputs.size() rows. Results are in buffers.output[l]. Dropout is applied only when
// the config's probabilities are > 0 (then `rng` must not be null).
template <typename T>
void network_forward(const NetworkWeights<T>& w, const ItemRows<const T>& input_rows,
                     const ForwardConfig& config, std::span<const int32_t> inputs,
                     const std::vector<MatrixR<T>>& h_prev, ForwardBuffers<T>& buffers, Rng* rng);

// mask(i, j) = 0 with probability p, else 1 / (1 - p).
template <typename T>
void fill_dropout_mask(Rng& rng, double p, MatrixRef<T> mask);

}  // namespace gru4rec
