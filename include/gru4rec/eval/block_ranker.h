// Full-ranking of a block of predictions at GEMM speed: the scores of up to max_rows sessions
// against all items are computed tile by tile (kTileItems items at a time, so that a tile's
// scores stay in the cache) and counted right away, never stored for the whole catalogue.
//
// The counts are those of count_rank() on scores computed by one GEMM: an item is counted
// above (or tied with) the target by comparing against the target's score from the same
// product. As that score is known only once the target's tile is done, items are first
// compared with an estimate (a dot product) and those too close to call are kept and settled
// at the end; a row with too many of them (massive ties) is recomputed on its own.
// Optionally it also keeps each row's top-N items (for coverage and popularity bias), by a
// bounded heap per row fed from the same tiles.
// Per-thread object; no allocation after construction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/eval/metrics.h"
#include "gru4rec/model/repeat_head.h"
#include "gru4rec/model/top_k.h"

namespace gru4rec {

class BlockRanker {
 public:
  static constexpr Eigen::Index kTileItems = 1024;

  // items: num_items x d (row j is item j's output weights); bias: num_items values. Both must
  // outlive the ranker.
  // list_length > 0: rank() also writes each row's list_length best items.
  BlockRanker(const MatrixR<float>& items, const float* bias, Eigen::Index max_rows,
              int list_length = 0);

  // Counts, for each row of `states` (a row per prediction, d columns, at most max_rows), the
  // items scored above and tied with its target. targets.size() == states.rows() <=
  // counts.size().
  // With a list length, top_items receives list_length items per row (row r at
  // r * list_length), best first; equal scores in item order, as top_k() orders them.
  // `bonuses` (the repeat head's, model/repeat_head.h): row r's scores of the items
  // bonuses[bonus_starts[r] .. bonus_starts[r + 1]) are raised by their bonus before anything is
  // counted or listed (each item at most once per row); empty: none.
  void rank(ConstMatrixRef<float> states, std::span<const int32_t> targets,
            std::span<RankCounts> counts, std::span<int32_t> top_items = {},
            std::span<const ItemBonus> bonuses = {}, std::span<const int32_t> bonus_starts = {});

  // Rows that were recomputed on their own since construction (for tests).
  int64_t recomputed_rows() const { return recomputed_rows_; }

 private:
  static constexpr int kCloseCapacity = 32;  // close calls kept per row

  // Feeds one tile's scores (plus bias) of a row to the row's heap of best items.
  void keep_best(size_t row, const float* scores, const float* bias, Eigen::Index first,
                 Eigen::Index width);

  const MatrixR<float>& items_;
  const float* bias_;
  Eigen::Index max_rows_;
  MatrixR<float> tile_scores_;             // max_rows x kTileItems
  std::vector<float> low_, high_, exact_;  // per row: the band around the estimate, the score
  std::vector<int64_t> greater_;
  std::vector<int32_t> close_count_;
  std::vector<float> close_;     // max_rows x kCloseCapacity
  RowVector<float> row_scores_;  // one row against every item (recomputed rows)
  int list_length_ = 0;
  std::vector<ScoredItem> heaps_;  // max_rows x list_length: per row, a heap with the worst first
  std::vector<int32_t> heap_sizes_;
  int64_t recomputed_rows_ = 0;
};

}  // namespace gru4rec
