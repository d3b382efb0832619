// Simple session-based recommenders, evaluated with the same protocol as GRU4Rec (see
// eval/evaluator.h evaluate_scorer) so that users can see by how much GRU4Rec beats them:
//
//   pop      the most popular training items (support = training events), the same for everyone;
//   spop     the current session's items first, by how often the session has them, then pop;
//   itemknn  the items most similar to the session's last item, similarity of two items i, j:
//              sim(i, j) = c(i, j) / (s(i)^alpha * s(j)^(1 - alpha) + lmbd)
//            with c(i, j) the number of training sessions holding both, s(i) the number of
//            sessions holding i (the cosine-style similarity of the GRU4Rec paper, regularised
//            by lmbd); each item keeps its n_sims best neighbours. Defaults n_sims=100,
//            lmbd=20, alpha=0.5;
//   vsknn    session kNN with decaying weights (V-SKNN, Ludewig & Jannach 2018): the current
//            session's item at position p of l (1-based) weighs p / l (the last one 1); the
//            candidate neighbours are the sample_size most recent training sessions sharing an
//            item with it; a candidate's similarity is the sum of the weights of the items they
//            share; the k most similar ones vote for their items with their similarity.
//            Defaults k=100, sample_size=1000.
//
// Items a method gives no score (an item-kNN without neighbours, a session kNN without
// candidates) are ranked after the ones it scores, by popularity: scored items get 1 + score,
// the others support / (2 (max support + 1)) < 1/2. So ties do not decide their Recall, whatever
// the evaluation's tie mode.
//
// Fitting is pure and deterministic; a fitted Baseline is immutable and thread-safe, each
// scorer it makes is for one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/data/session_log.h"
#include "gru4rec/eval/next_item_scorer.h"

namespace gru4rec {

class Baseline {
 public:
  virtual ~Baseline() = default;
  virtual std::unique_ptr<NextItemScorer> make_scorer() const = 0;
  // The algorithm and its parameters, as `name k=v,k=v`.
  virtual std::string description() const = 0;
};

// The algorithms fit_baseline() knows, in the order of the list above.
const std::vector<std::string>& baseline_names();

// Fits `algorithm` on `train` (items 0 .. num_items-1) with `params`, a parameter string
// "key=value,key=value" (empty: the defaults). Throws Error for an unknown algorithm, an
// unknown parameter or a value out of range.
std::unique_ptr<Baseline> fit_baseline(std::string_view algorithm, std::string_view params,
                                       const SessionLog& train, int32_t num_items);

}  // namespace gru4rec
