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
//            Defaults k=100, sample_size=1000;
//   sr       sequential rules (Ludewig & Jannach 2018): every training session a_1 .. a_m gives
//            each pair of positions p < q with q - p <= steps the rule a_p -> a_q the weight
//            1 / (q - p) (the "div" weighting, summed over all pairs and sessions; a_p = a_q
//            counts too); each item keeps its `pruning` strongest rules (0: all; ties: the
//            smaller item index). The score of j is the weight of (the session's last item -> j).
//            Defaults steps=10, pruning=20 (those of the authors' session-rec framework as we
//            know them; not confirmed from the paper's text);
//   stan     STAN (Garg et al., SIGIR 2019): the current session s (l events) weighs its item i,
//            last seen at position p (1-based), w1(i) = exp((p - l) / lambda_spw); the
//            candidates are the sample_size most recent training sessions sharing an item
//            with s (as vsknn); the similarity of a candidate n is
//              sim(s, n) = sum over the items of both of w1(i) / sqrt(|s| |n|)
//            with |.| the number of DISTINCT items of a session (a cosine with a binary n);
//            its recency weight w2(n) = exp(-(t(s) - t(n)) / lambda_snh), t(n) the time of
//            n's last event, lambda_snh in DAYS (the log's times are seconds); the k
//            neighbours are the candidates with the largest sim * w2 (the paper's time-aware
//            similarity; ties: the more recent). With r the most recent item of s that n
//            holds, n's item i gets
//              w3(i | n) = exp(-d(i, n) / lambda_inh),
//            d the smallest distance between a position of i and a position of r in n (the
//            nearest occurrences; 0 for r itself); score(i) = sum over the neighbours n
//            holding i of sim(s, n) w2(n) w3(i | n). A scorer does not see the current
//            session's times: t(s) is the latest time of the training log, a factor
//            exp(-(t(s) - T) / lambda_snh) common to all neighbours and items whatever the
//            true T, so no choice of neighbours and no ranking depends on it (see
//            src/baselines/stan.cpp). A lambda of 0 switches its factor off (weight 1).
//            Defaults k=100, sample_size=1000, lambda_spw=1.02, lambda_snh=5 (days),
//            lambda_inh=2.05 (the lambdas as we recall them from the STAN and session-rec
//            experiments; the papers' text was not at hand to confirm them). The
//            recency factor needs real times: on logs whose times only order the sessions
//            (the SR-GNN-style Diginetica and Tmall splits) lambda_snh=0 is the fair setting;
//   vstan    VSTAN (Ludewig, Latifi & Jannach, UMUAI 2021): STAN with V-SKNN's ideas. A shared
//            item adds w1(i) (1 + lambda_idf idf(i)) to the similarity, idf(i) = ln(N / N_i)
//            (N training sessions, N_i of them hold i); a neighbour's votes (not its choice)
//            are also weighted by how recent its match r is in s, exp(-(l - p_r) / lambda_ipw)
//            with p_r the last position of r in s (V-SKNN's sequence-aware item scoring).
//            Every lambda of 0 switches its factor off (lambda_ipw=0, lambda_idf=0 is stan).
//            Defaults as stan's, lambda_ipw=1.02, lambda_idf=1 (our choice, the paper's tuned
//            values were not at hand; on the last 10% of the Diginetica and Tmall training
//            sessions lambda_ipw=1.02 moved Recall@20 by +0.9% and -2.9%, lambda_idf=1 by
//            under 0.3%).
//   hybrid   the fixed hybrid reference: the session's own items first, by how often the session
//            has them so far, then the ranking of a trained GRU4Rec model (its raw scores,
//            without its repeat head), which also orders items of equal count (the rule of
//            `gru4rec eval --session-items-first`, model/repeat_head.h session_item_bonuses).
//            Parameter model=PATH (a model file of `gru4rec train -s`; the path may not hold
//            ','), required; it needs the training items' ids, so only the ItemIndex overload
//            of fit_baseline fits it. Training items the model does not know rank after those
//            it knows, and their events do not advance its state. Not a default of the
//            commands that run every baseline (it needs a model).
//
// Items a method gives no score (an item-kNN without neighbours, a session kNN without
// candidates) are ranked after the ones it scores, by popularity: scored items get 1 + score,
// the others support / (2 (max support + 1)) < 1/2. So ties do not decide their Recall, whatever
// the evaluation's tie mode. stan and vstan give 1 + ln(score / the prediction's smallest
// score) instead: their scores span hundreds of orders of magnitude (w2 of a neighbour 100
// lambda_snh old is e^-100), and as 1 + score in a float most would round to 1 and tie.
//
// Fitting is pure and deterministic; a fitted Baseline is immutable and thread-safe, each
// scorer it makes is for one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/data/item_index.h"
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

class Model;

// The algorithms fit_baseline() knows, in the order of the list above.
const std::vector<std::string>& baseline_names();
// baseline_names() but hybrid: those that fit on the training data alone (the defaults of the
// commands that run every baseline).
std::vector<std::string> data_only_baseline_names();

// Fits `algorithm` on `train` (items 0 .. num_items-1) with `params`, a parameter string
// "key=value,key=value" (empty: the defaults). Throws Error for an unknown algorithm, an
// unknown parameter or a value out of range.
std::unique_ptr<Baseline> fit_baseline(std::string_view algorithm, std::string_view params,
                                       const SessionLog& train, int32_t num_items);
// The same for every algorithm, hybrid included: `items` are the ids of train's item indices.
std::unique_ptr<Baseline> fit_baseline(std::string_view algorithm, std::string_view params,
                                       const SessionLog& train, const ItemIndex& items);

// The hybrid of a model in memory (description: what description() returns). The baseline
// shares the model, which must not change while it lives.
std::unique_ptr<Baseline> make_hybrid_baseline(std::shared_ptr<const Model> model,
                                               const ItemIndex& items, std::string description);

}  // namespace gru4rec
