// Top-k recommendations of several sessions at once: their final states are scored against
// every item in one pass over the packed item weights (ItemScorer), then each row's best items
// are selected (top_k). The one implementation behind `gru4rec predict`, the server's batches
// of concurrent requests and the Python package's recommend_batch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/model/item_scorer.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/top_k.h"

namespace gru4rec {

// One row of a batch: the state it is scored from and what may be selected.
struct TopKQuery {
  std::span<const float> state;      // the last layer's output (ItemScorer::units() floats)
  size_t k = 0;                      // out.size() >= k
  std::span<const int32_t> exclude;  // never selected
  std::span<const int32_t> include;  // when not empty, only these items compete
  std::span<ScoredItem> out;         // best first; ties in item order
};

// Buffers for batches of up to kMaxRows queries. Allocates at construction only; not
// thread-safe (one per thread); the scorer must outlive it.
class BatchTopK {
 public:
  static constexpr int kMaxRows = 32;  // one pass over the item weights serves this many rows

  explicit BatchTopK(const ItemScorer& scorer);

  // Fills each query's `out`; counts[r] gets the number of items written for queries[r]
  // (fewer than k when fewer items can be selected). queries.size() <= kMaxRows.
  void run(std::span<const TopKQuery> queries, std::span<size_t> counts);

 private:
  const ItemScorer& scorer_;
  MatrixR<float> states_, scores_;  // kMaxRows x units, kMaxRows x items
  std::vector<float> candidates_;   // NaN but for the included items during a query
};

struct BatchRecommendOptions {
  size_t k = 20;
  bool exclude_seen = false;  // never recommend an item the session already has
  int threads = 1;            // sessions are shared out between this many threads
};

// The top-k items after the last event of each session of `sessions` (item indices of
// model.items), in session order. A session without events gets the most popular training
// items (the model's supports), as the server answers one.
std::vector<std::vector<ScoredItem>> recommend_sessions(const Model& model,
                                                        const SessionLog& sessions,
                                                        const BatchRecommendOptions& options);

}  // namespace gru4rec
