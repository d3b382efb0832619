#include "gru4rec/model/inference.h"

#include <algorithm>

#include "gru4rec/core/error.h"

namespace gru4rec {

Predictor::Predictor(const Model& model)
    : model_(model), config_(ForwardConfig::inference(model.params)) {
  for (int size : model.weights.shape.layers) state_size_ += size;
  if (model.weights.shape.repeat_features > 0) repeat_window_ = model.params.repeat_window;
}

Predictor::Scratch Predictor::make_scratch(int max_rows) const {
  Scratch scratch;
  scratch.forward.reserve(model_.weights.shape, max_rows);
  for (int size : model_.weights.shape.layers) {
    scratch.states.push_back(MatrixR<float>::Zero(max_rows, size));
  }
  scratch.candidates.reserve(static_cast<size_t>(repeat_window_));
  scratch.feature_bonus.resize(static_cast<size_t>(model_.weights.shape.repeat_features));
  scratch.bonuses.reserve(static_cast<size_t>(repeat_window_));
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

void Predictor::add_bonuses(std::span<const float> top, std::span<const int32_t> events,
                            std::span<float> scores, Scratch& scratch) const {
  std::vector<ItemBonus>& bonuses = scratch.bonuses;
  repeat_bonuses(top, events, bonuses, scratch);
  for (const ItemBonus& b : bonuses) scores[static_cast<size_t>(b.item)] += b.bonus;
}

void Predictor::repeat_bonuses(std::span<const float> top, std::span<const int32_t> events,
                               std::vector<ItemBonus>& out, Scratch& scratch) const {
  out.clear();
  if (repeat_window_ == 0 || events.empty()) return;
  const NetworkWeights<float>& w = model_.weights;
  GRU4REC_CHECK(static_cast<Eigen::Index>(top.size()) == w.Wr.cols());
  const size_t window = std::min(events.size(), static_cast<size_t>(repeat_window_));
  repeat_candidates(events.last(window), scratch.candidates);
  scratch.feature_bonus.resize(static_cast<size_t>(w.Wr.rows()));
  repeat_feature_bonuses<float>(w.Wr, w.Br, top, scratch.feature_bonus);
  for (const RepeatCandidate& c : scratch.candidates) {
    GRU4REC_CHECK(c.item >= 0 && c.item < num_items(), "session item out of range");
    out.push_back({c.item, repeat_bonus<float>(c.features, scratch.feature_bonus)});
  }
}

void Predictor::score_session(std::span<const float> state, std::span<const int32_t> events,
                              std::span<float> out, Scratch& scratch) const {
  score(state, out);
  if (repeat_window_ == 0) return;
  const auto last = static_cast<size_t>(model_.weights.shape.output_size());
  add_bonuses(state.last(last), events, out, scratch);
}

}  // namespace gru4rec
