// Inference with a trained model: advance session states by one event and score all items.
// This is the API a server calls for one live session, and what the evaluator calls for
// many sessions at once; both run the same forward kernels.
//
// A session state is the hidden vector of every layer, concatenated (state_size() floats,
// zeros for a new session). Scores are raw: h Wy^T + By, the values the official evaluation
// ranks, plus, for a model with the repeat head (model/repeat_head.h), the bonuses of the
// session's recent items: a session is then its state and its last repeat_window() events
// (RepeatWindow). Predictor keeps a reference to the model, which must outlive it; its const
// methods are thread-safe when each thread uses its own Scratch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/model/forward.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/repeat_head.h"

namespace gru4rec {

class Predictor {
 public:
  explicit Predictor(const Model& model);

  // Per-thread buffers for up to max_rows sessions advanced together.
  struct Scratch {
    ForwardBuffers<float> forward;
    std::vector<MatrixR<float>> states;
    std::vector<RepeatCandidate> candidates;
    std::vector<float> feature_bonus;
    std::vector<ItemBonus> bonuses;
  };
  Scratch make_scratch(int max_rows) const;

  int32_t num_items() const { return model_.num_items(); }
  int state_size() const { return state_size_; }

  // Advances one session's state by the event `item` (a dense item index).
  void advance(std::span<float> state, int32_t item, Scratch& scratch) const;

  // Scores of all items (out.size() == num_items()) for one session's state. Without the
  // repeat bonuses (see score_session).
  void score(std::span<const float> state, std::span<float> out) const;

  // The repeat head's events per session: 0 for a model without it.
  int repeat_window() const { return repeat_window_; }
  // The repeat head's bonuses for a session whose top-layer state is `top` and whose last
  // events are `events` (oldest first; only the last repeat_window() count): one per distinct
  // item, into `out` (cleared first; empty without the head).
  void repeat_bonuses(std::span<const float> top, std::span<const int32_t> events,
                      std::vector<ItemBonus>& out, Scratch& scratch) const;
  // score(), then the repeat bonuses of the session's last events (oldest first).
  void score_session(std::span<const float> state, std::span<const int32_t> events,
                     std::span<float> out, Scratch& scratch) const;

  // Advances rows 0..items.size()-1 of `states` (one matrix per layer, a row per session) by
  // their items.
  void advance_rows(std::span<const int32_t> items, std::vector<MatrixR<float>>& states,
                    ForwardBuffers<float>& buffers) const;

  const Model& model() const { return model_; }

 private:
  const Model& model_;
  ForwardConfig config_;
  int state_size_ = 0;
  int repeat_window_ = 0;

  void add_bonuses(std::span<const float> top, std::span<const int32_t> events,
                   std::span<float> scores, Scratch& scratch) const;
};

}  // namespace gru4rec
