// Inference with a trained model: advance session states by one event and score all items.
// This is the API a server calls for one live session, and what the evaluator calls for
// many sessions at once; both run the same forward kernels.
//
// A session state is the hidden vector of every layer, concatenated (state_size() floats,
// zeros for a new session). Scores are raw: h Wy^T + By, the values the official evaluation
// ranks. Predictor keeps a reference to the model, which must outlive it; its const methods
// are thread-safe when each thread uses its own Scratch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/model/forward.h"
#include "gru4rec/model/model.h"

namespace gru4rec {

class Predictor {
 public:
  explicit Predictor(const Model& model);

  // Per-thread buffers for up to max_rows sessions advanced together.
  struct Scratch {
    ForwardBuffers<float> forward;
    std::vector<MatrixR<float>> states;
  };
  Scratch make_scratch(int max_rows) const;

  int32_t num_items() const { return model_.num_items(); }
  int state_size() const { return state_size_; }

  // Advances one session's state by the event `item` (a dense item index).
  void advance(std::span<float> state, int32_t item, Scratch& scratch) const;

  // Scores of all items (out.size() == num_items()) for one session's state.
  void score(std::span<const float> state, std::span<float> out) const;

  // Advances rows 0..items.size()-1 of `states` (one matrix per layer, a row per session) by
  // their items.
  void advance_rows(std::span<const int32_t> items, std::vector<MatrixR<float>>& states,
                    ForwardBuffers<float>& buffers) const;

  const Model& model() const { return model_; }

 private:
  const Model& model_;
  ForwardConfig config_;
  int state_size_ = 0;
};

}  // namespace gru4rec
