#include "gru4rec/model/inference.h"

#include "gru4rec/core/error.h"

namespace gru4rec {

Predictor::Predictor(const Model& model)
    : model_(model), config_(ForwardConfig::inference(model.params)) {
  for (int size : model.weights.shape.layers) state_size_ += size;
}

Predictor::Scratch Predictor::make_scratch(int max_rows) const {
  Scratch scratch;
  scratch.forward.reserve(model_.weights.shape, max_rows);
  for (int size : model_.weights.shape.layers) {
    scratch.states.push_back(MatrixR<float>::Zero(max_rows, size));
  }
  return scratch;
}

void Predictor::advance_rows(std::span<const int32_t> items, std::vector<MatrixR<float>>& states,
                             ForwardBuffers<float>& buffers) const {
  const auto rows = static_cast<Eigen::Index>(items.size());
  network_forward<float>(model_.weights, model_.weights.item_tables().input, config_, items, states,
                         buffers, nullptr);
  for (size_t l = 0; l < states.size(); ++l) {
    states[l].topRows(rows) = buffers.output[l].topRows(rows);
  }
}

void Predictor::advance(std::span<float> state, int32_t item, Scratch& scratch) const {
  GRU4REC_CHECK(static_cast<int>(state.size()) == state_size_);
  GRU4REC_CHECK(item >= 0 && item < num_items());
  GRU4REC_CHECK(!scratch.states.empty() && scratch.states[0].rows() >= 1,
                "the scratch needs at least one row");
  size_t offset = 0;
  for (auto& layer_state : scratch.states) {
    const auto size = static_cast<size_t>(layer_state.cols());
    std::copy_n(state.data() + offset, size, &layer_state(0, 0));
    offset += size;
  }
  advance_rows(std::span<const int32_t>(&item, 1), scratch.states, scratch.forward);
  offset = 0;
  for (auto& layer_state : scratch.states) {
    const auto size = static_cast<size_t>(layer_state.cols());
    std::copy_n(&layer_state(0, 0), size, state.data() + offset);
    offset += size;
  }
}

void Predictor::score(std::span<const float> state, std::span<float> out) const {
  GRU4REC_CHECK(static_cast<int>(state.size()) == state_size_);
  GRU4REC_CHECK(out.size() == static_cast<size_t>(num_items()));
  const Eigen::Index last = model_.weights.shape.output_size();
  Eigen::Map<const Eigen::VectorXf> h(state.data() + state.size() - static_cast<size_t>(last),
                                      last);
  Eigen::Map<Eigen::VectorXf> scores(out.data(), num_items());
  scores.noalias() = model_.weights.Wy * h;
  scores += model_.weights.By.transpose();
}

}  // namespace gru4rec
