// The official GRU4Rec next-item evaluation (reference section 3): test events with items
// unknown to the model are dropped before sessions are formed (the caller reads the test log
// against the model's items); every session starts from a zero state; every event but the
// first of a session is predicted from the events before it; the target is ranked against all
// training items by raw score (no sorting: the items above and equal to the target are
// counted); Recall@N, MRR@N and NDCG@N over all predictions, and the coverage and popularity
// bias of the top-N lists (eval/metrics.h).
#pragma once

#include <cstdint>
#include <vector>

#include "gru4rec/core/parallel.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/eval/metrics.h"
#include "gru4rec/eval/next_item_scorer.h"
#include "gru4rec/model/model.h"

namespace gru4rec {

struct EvalOptions {
  std::vector<int> cutoffs{20};
  TieMode mode = TieMode::kStandard;
  int batch_size = 512;  // sessions advanced together per thread (the official run.py uses 512)
  int threads = available_cores();  // sessions are shared out between this many threads
  bool list_metrics = true;         // coverage and popularity bias (keeps every prediction's top-N)
  // The fixed hybrid reference (evaluate() only): the session's own items first, by how often
  // the session has them so far, then the model's ranking (which also orders items of equal
  // count); the model's repeat head, if any, is not used.
  bool session_items_first = false;
};

struct EvalResult {
  TieMode mode = TieMode::kStandard;
  std::vector<int> cutoffs;
  std::vector<double> recall, mrr, ndcg;
  std::vector<double> coverage, popularity_bias;  // empty without list_metrics
  int64_t predictions = 0;
  int64_t sessions = 0;  // sessions with at least one prediction
  int64_t events = 0;    // test events with known items
  double seconds = 0;
};

EvalResult evaluate(const Model& model, const SessionLog& test, const EvalOptions& options);

// The same protocol for any next-item scorer (the baselines): each thread makes a scorer and
// follows its share of the test sessions; every target is ranked against all the scores with
// the same tie modes, and the top-N lists are taken by top_k() (ties in item order).
// `supports`: training events per item (one per item; the popularity percentiles).
EvalResult evaluate_scorer(const ScorerFactory& make_scorer, std::span<const int64_t> supports,
                           const SessionLog& test, const EvalOptions& options);

}  // namespace gru4rec
