#include "gru4rec/train/warm_start.h"

#include <fmt/format.h>

#include "gru4rec/core/error.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/network.h"

namespace gru4rec {
namespace {

std::string shape_text(const Params& params) {
  std::string text;
  for (const auto& [name, value] : format_params(params)) {
    if (name == "layers" || name == "embedding" || name == "constrained_embedding")
      text += fmt::format("{}{}={}", text.empty() ? "" : ",", name, value);
  }
  return text;
}

// The first `rows` rows of `from` into `to` (same columns).
template <typename Tensor>
void copy_rows(const Tensor& from, Tensor& to, Eigen::Index rows) {
  GRU4REC_CHECK(from.cols() == to.cols() && from.rows() == rows && to.rows() >= rows);
  to.topRows(rows) = from;
}

// Every tensor of `from` into `to`, whose item-indexed tensors have more rows: the first
// `known` rows of those.
void copy_parent_tensors(const NetworkWeights<float>& from, NetworkWeights<float>& to,
                         Eigen::Index known) {
  copy_rows(from.Wy, to.Wy, known);
  to.By.head(known) = from.By;
  if (to.shape.mode == EmbeddingMode::kSeparate) copy_rows(from.E, to.E, known);
  for (size_t l = 0; l < to.layers.size(); ++l) {
    if (l == 0 && to.shape.mode == EmbeddingMode::kOneHot)
      copy_rows(from.layers[0].Wx, to.layers[0].Wx, known);  // one row per item
    else
      to.layers[l].Wx = from.layers[l].Wx;
    to.layers[l].Urz = from.layers[l].Urz;
    to.layers[l].Uh = from.layers[l].Uh;
    to.layers[l].bh = from.layers[l].bh;
  }
}

}  // namespace

void check_same_shape(const Params& parent, const Params& params) {
  const NetworkShape a = NetworkShape::from_params(parent, 2);
  const NetworkShape b = NetworkShape::from_params(params, 2);
  if (a.mode != b.mode || a.embedding_size != b.embedding_size || a.layers != b.layers) {
    throw Error(fmt::format(
        "the parameters would change the network's shape ({}; the model continued from has "
        "{}): continuing a model keeps its layers, embedding and constrained_embedding",
        shape_text(params), shape_text(parent)));
  }
}

void check_init_shrink(double init_shrink) {
  if (!(init_shrink > 0 && init_shrink <= 1))
    throw Error(
        fmt::format("init_shrink is {}; expected a factor in (0, 1] (1 keeps the GRU "
                    "layers' weights as they were)",
                    init_shrink));
}

Model warm_start(const Model& parent, const Params& params, ItemIndex items, const SessionLog& data,
                 const std::string& source, double init_shrink) {
  check_init_shrink(init_shrink);
  check_same_shape(parent.params, params);
  const int32_t known = parent.num_items();
  GRU4REC_CHECK(items.size() >= known);
  for (int32_t i = 0; i < known; ++i) GRU4REC_CHECK(items.id(i) == parent.items.id(i));
  Model model = Model::initialize(params, std::move(items), data, source);
  for (int32_t i = 0; i < known; ++i)
    model.supports[static_cast<size_t>(i)] += parent.supports[static_cast<size_t>(i)];
  copy_parent_tensors(parent.weights, model.weights, known);
  if (init_shrink != 1.0) {
    const auto shrink = static_cast<float>(init_shrink);
    for (size_t l = 0; l < model.weights.layers.size(); ++l) {
      GruLayerWeights<float>& layer = model.weights.layers[l];
      // One-hot input: layer 0's Wx has one row per item, kept as the other item rows are.
      if (l != 0 || model.weights.shape.mode != EmbeddingMode::kOneHot) layer.Wx *= shrink;
      layer.Urz *= shrink;
      layer.Uh *= shrink;
      layer.bh *= shrink;
    }
  }
  if (parent.optimizer_state) {  // the state goes on too; new items' rows start from zero
    auto state = std::make_shared<OptimizerState>();
    state->accumulators = NetworkWeights<float>::zeros(model.weights.shape);
    copy_parent_tensors(parent.optimizer_state->accumulators, state->accumulators, known);
    if (parent.optimizer_state->velocities) {
      state->velocities = NetworkWeights<float>::zeros(model.weights.shape);
      copy_parent_tensors(*parent.optimizer_state->velocities, *state->velocities, known);
    }
    model.optimizer_state = std::move(state);
  }
  model.lineage = parent.lineage;
  // A model made in memory has no file id yet: the id its file would have.
  const uint64_t parent_id =
      parent.content_id != 0 ? parent.content_id : model_content_id(serialize_model(parent));
  model.lineage.push_back(LineageStep{parent_id, known, parent.stats.events, parent.stats.sessions,
                                      parent.stats.time_min, parent.stats.time_max,
                                      parent.stats.epochs});
  return model;
}

}  // namespace gru4rec
