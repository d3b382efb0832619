// The weights of a GRU4Rec network, templated on the scalar type: float for training and
// inference, double for the finite-difference gradient tests.
//
// Layout (row-major; a row per item where the matrix is item-indexed):
//   E    N x embedding   separate input embedding (kSeparate only)
//   per layer l with input size I and hidden size H:
//     Wx   I x 3H   input weights, column blocks [candidate | reset | update];
//                   in kOneHot mode layer 0 has I = N (one row per item)
//     Urz  H x 2H   recurrent weights of the gates [reset | update]
//     Uh   H x H    recurrent weights of the candidate
//     bh   1 x 3H   bias, same blocks as Wx
//   Wy   N x H_last  output item vectors (also the input embedding in kShared mode)
//   By   1 x N       output item biases
//   Wr   K x H_last  repeat head (repeat_window > 0 only; model/repeat_head.h): per feature,
//                    the weights of the state in the bonus
//   Br   1 x K       repeat head: per feature, the constant part of the bonus
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/model/item_rows.h"
#include "gru4rec/model/params.h"

namespace gru4rec {

struct NetworkShape {
  EmbeddingMode mode = EmbeddingMode::kShared;
  int32_t num_items = 0;
  int embedding_size = 0;  // kSeparate only
  std::vector<int> layers;
  int repeat_features = 0;  // rows of Wr: kRepeatFeatures with the repeat head, else 0

  int input_size(size_t layer) const;  // rows of Wx of that layer
  int output_size() const { return layers.back(); }
  int64_t parameter_count() const;  // of a network of this shape

  static NetworkShape from_params(const Params& params, int32_t num_items);
};

template <typename T>
struct GruLayerWeights {
  MatrixR<T> Wx, Urz, Uh;
  RowVector<T> bh;
};

template <typename T>
struct NetworkWeights {
  NetworkShape shape;
  MatrixR<T> E;
  std::vector<GruLayerWeights<T>> layers;
  MatrixR<T> Wy;
  RowVector<T> By;
  MatrixR<T> Wr;  // empty without the repeat head
  RowVector<T> Br;

  // All tensors allocated with the shape and set to zero.
  static NetworkWeights zeros(const NetworkShape& shape);
  // Views of the item-indexed tensors.
  ItemTables<const T> item_tables() const;
  int64_t parameter_count() const;

  // Calls f(name, matrix view) on every tensor in a fixed order (E, per layer Wx, Urz, Uh,
  // bh, then Wy, By, Wr, Br); absent tensors are skipped. Used by the optimizer, the model file and
  // the tests so that the list of tensors exists in one place only.
  template <typename F>
  void for_each_tensor(F&& f);
  template <typename F>
  void for_each_tensor(F&& f) const;
};

// Initialization of the official implementation: each block of each weight matrix (each gate's
// input block, each recurrent block, E, Wy) is drawn from U(-s, s) with
// s = sqrt(6 / (rows + cols)) of that block (or N(0, s) with init_as_normal; s = sigma when
// sigma > 0); biases are zero. Draw order: E, then per layer the input blocks (candidate,
// reset, update), the candidate's recurrent block, the reset and update recurrent blocks,
// then Wy. The repeat head starts at zero (no bonus) and draws nothing: with or without it,
// the same seed gives the same GRU weights.
template <typename T>
NetworkWeights<T> initialize_network(const NetworkShape& shape, const Params& params,
                                     uint64_t seed);

template <typename T>
template <typename F>
void NetworkWeights<T>::for_each_tensor(F&& f) {
  if (E.size() > 0) f("E", E);
  for (size_t l = 0; l < layers.size(); ++l) {
    f("layer" + std::to_string(l) + ".Wx", layers[l].Wx);
    f("layer" + std::to_string(l) + ".Urz", layers[l].Urz);
    f("layer" + std::to_string(l) + ".Uh", layers[l].Uh);
    f("layer" + std::to_string(l) + ".bh", layers[l].bh);
  }
  f("Wy", Wy);
  f("By", By);
  if (Wr.size() > 0) f("Wr", Wr);
  if (Br.size() > 0) f("Br", Br);
}

template <typename T>
template <typename F>
void NetworkWeights<T>::for_each_tensor(F&& f) const {
  const_cast<NetworkWeights<T>*>(this)->for_each_tensor(
      [&](const std::string& name, auto& tensor) { f(name, std::as_const(tensor)); });
}

}  // namespace gru4rec
