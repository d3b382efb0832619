// What the evaluation protocol needs from a recommender that is not a GRU4Rec model (the
// baselines): it follows one test session event by event and scores every item as the next.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace gru4rec {

// One session at a time; not thread-safe (each evaluation thread makes its own).
class NextItemScorer {
 public:
  virtual ~NextItemScorer() = default;
  // Forgets the current session.
  virtual void start_session() = 0;
  // The session's next event (a dense item index of the training data).
  virtual void add_event(int32_t item) = 0;
  // A score for every item (scores.size() == number of items) as the next event: higher is
  // better. Called after at least one add_event() of the session.
  virtual void score(std::span<float> scores) = 0;
};

using ScorerFactory = std::function<std::unique_ptr<NextItemScorer>()>;

}  // namespace gru4rec
