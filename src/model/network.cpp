#include "gru4rec/model/network.h"

#include <cmath>

#include "gru4rec/core/error.h"
#include "gru4rec/core/random.h"
#include "gru4rec/model/repeat_head.h"

namespace gru4rec {

int NetworkShape::input_size(size_t layer) const {
  if (layer > 0) return layers[layer - 1];
  switch (mode) {
    case EmbeddingMode::kShared: return layers.back();
    case EmbeddingMode::kSeparate: return embedding_size;
    case EmbeddingMode::kOneHot: return num_items;
  }
  return 0;
}

int64_t NetworkShape::parameter_count() const {
  const int64_t n = num_items;
  int64_t count = n * embedding_size + n * output_size() + n;  // E, Wy, By
  count += int64_t{repeat_features} * (output_size() + 1);     // Wr, Br
  for (size_t l = 0; l < layers.size(); ++l) {
    const int64_t h = layers[l];
    count += input_size(l) * 3 * h + 2 * h * h + h * h + 3 * h;
  }
  return count;
}

NetworkShape NetworkShape::from_params(const Params& params, int32_t num_items) {
  NetworkShape shape;
  shape.mode = embedding_mode(params);
  shape.num_items = num_items;
  shape.embedding_size =
      shape.mode == EmbeddingMode::kSeparate ? gru4rec::embedding_size(params) : 0;
  shape.layers = params.layers;
  shape.repeat_features = params.repeat_window > 0 ? kRepeatFeatures : 0;
  return shape;
}

template <typename T>
NetworkWeights<T> NetworkWeights<T>::zeros(const NetworkShape& shape) {
  GRU4REC_CHECK(!shape.layers.empty() && shape.num_items > 0);
  NetworkWeights<T> w;
  w.shape = shape;
  const auto n = static_cast<Eigen::Index>(shape.num_items);
  if (shape.mode == EmbeddingMode::kSeparate) w.E = MatrixR<T>::Zero(n, shape.embedding_size);
  for (size_t l = 0; l < shape.layers.size(); ++l) {
    const int h = shape.layers[l];
    GruLayerWeights<T> layer;
    layer.Wx = MatrixR<T>::Zero(shape.input_size(l), 3 * h);
    layer.Urz = MatrixR<T>::Zero(h, 2 * h);
    layer.Uh = MatrixR<T>::Zero(h, h);
    layer.bh = RowVector<T>::Zero(3 * h);
    w.layers.push_back(std::move(layer));
  }
  w.Wy = MatrixR<T>::Zero(n, shape.output_size());
  w.By = RowVector<T>::Zero(n);
  if (shape.repeat_features > 0) {
    w.Wr = MatrixR<T>::Zero(shape.repeat_features, shape.output_size());
    w.Br = RowVector<T>::Zero(shape.repeat_features);
  }
  return w;
}

template <typename T>
ItemTables<const T> NetworkWeights<T>::item_tables() const {
  ItemTables<const T> tables{item_rows_of(Wy), item_rows_of(By), item_rows_of(Wy)};
  if (shape.mode == EmbeddingMode::kSeparate) tables.input = item_rows_of(E);
  if (shape.mode == EmbeddingMode::kOneHot) tables.input = item_rows_of(layers[0].Wx);
  return tables;
}

template <typename T>
int64_t NetworkWeights<T>::parameter_count() const {
  int64_t count = 0;
  for_each_tensor([&](const std::string&, const auto& tensor) { count += tensor.size(); });
  return count;
}

template <typename T>
NetworkWeights<T> initialize_network(const NetworkShape& shape, const Params& params,
                                     uint64_t seed) {
  NetworkWeights<T> w = NetworkWeights<T>::zeros(shape);
  Rng rng(Rng::derive_seed(seed, 0));
  // Fills columns [col, col + cols) of `m` (all rows), row by row.
  auto fill_block = [&](MatrixR<T>& m, Eigen::Index col, Eigen::Index cols) {
    const double scale =
        params.sigma > 0 ? params.sigma : std::sqrt(6.0 / static_cast<double>(m.rows() + cols));
    for (Eigen::Index r = 0; r < m.rows(); ++r) {
      for (Eigen::Index c = col; c < col + cols; ++c) {
        const double value =
            params.init_as_normal ? scale * rng.normal() : scale * (2.0 * rng.uniform() - 1.0);
        m(r, c) = static_cast<T>(value);
      }
    }
  };
  if (w.E.size() > 0) fill_block(w.E, 0, w.E.cols());
  for (size_t l = 0; l < w.layers.size(); ++l) {
    auto& layer = w.layers[l];
    const Eigen::Index h = shape.layers[l];
    for (int block = 0; block < 3; ++block) fill_block(layer.Wx, block * h, h);
    fill_block(layer.Uh, 0, h);
    fill_block(layer.Urz, 0, h);
    fill_block(layer.Urz, h, h);
  }
  fill_block(w.Wy, 0, w.Wy.cols());
  return w;
}

template struct NetworkWeights<float>;
template struct NetworkWeights<double>;
template NetworkWeights<float> initialize_network<float>(const NetworkShape&, const Params&,
                                                         uint64_t);
template NetworkWeights<double> initialize_network<double>(const NetworkShape&, const Params&,
                                                           uint64_t);

}  // namespace gru4rec
