#include "gru4rec/eval/block_ranker.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gru4rec/core/error.h"

namespace gru4rec {

namespace {

// Heap order with the worst item at the front: a lower score, or an equal score and a higher
// item index (top_k() ranks equal scores by item index).
bool better(const ScoredItem& a, const ScoredItem& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

}  // namespace

BlockRanker::BlockRanker(const MatrixR<float>& items, const float* bias, Eigen::Index max_rows,
                         int list_length)
    : items_(items),
      bias_(bias),
      max_rows_(max_rows),
      tile_scores_(max_rows, std::min(kTileItems, std::max<Eigen::Index>(items.rows(), 1))),
      low_(static_cast<size_t>(max_rows)),
      high_(static_cast<size_t>(max_rows)),
      exact_(static_cast<size_t>(max_rows)),
      greater_(static_cast<size_t>(max_rows)),
      close_count_(static_cast<size_t>(max_rows)),
      close_(static_cast<size_t>(max_rows) * kCloseCapacity),
      row_scores_(items.rows()),
      list_length_(list_length),
      heaps_(static_cast<size_t>(max_rows) * static_cast<size_t>(std::max(list_length, 0))),
      heap_sizes_(static_cast<size_t>(max_rows)) {
  GRU4REC_CHECK(list_length >= 0);
}

void BlockRanker::rank(ConstMatrixRef<float> states, std::span<const int32_t> targets,
                       std::span<RankCounts> counts, std::span<int32_t> top_items,
                       std::span<const ItemBonus> bonuses, std::span<const int32_t> bonus_starts) {
  const auto rows = static_cast<Eigen::Index>(targets.size());
  GRU4REC_CHECK(rows <= max_rows_ && rows == states.rows() && counts.size() >= targets.size());
  GRU4REC_CHECK(states.cols() == items_.cols());
  const Eigen::Index n = items_.rows();
  const auto d = static_cast<double>(items_.cols());
  constexpr double kEpsilon = std::numeric_limits<float>::epsilon();
  // The estimate of each target's score and the band around it within which the product's
  // rounding could put the real value: a dot product's error is below about d * epsilon *
  // sum |h_m w_m| whatever the order of the sum; the band is four times that, plus the
  // rounding of the bias addition.
  for (const int32_t target : targets)
    GRU4REC_CHECK(target >= 0 && target < n, "target out of range");
  const bool with_bonuses = !bonus_starts.empty();
  GRU4REC_CHECK(!with_bonuses || (bonus_starts.size() == targets.size() + 1 &&
                                  bonus_starts.back() <= static_cast<int32_t>(bonuses.size())));
  // Row r's bonuses.
  const auto row_bonuses = [&](size_t r) {
    if (!with_bonuses) return std::span<const ItemBonus>();
    return bonuses.subspan(static_cast<size_t>(bonus_starts[r]),
                           static_cast<size_t>(bonus_starts[r + 1] - bonus_starts[r]));
  };
  const auto length = static_cast<size_t>(list_length_);
  GRU4REC_CHECK(top_items.size() >= (length == 0 ? 0 : static_cast<size_t>(rows) * length));
  std::fill(heap_sizes_.begin(), heap_sizes_.end(), 0);
  for (Eigen::Index i = 0; i < rows; ++i) {
    const auto r = static_cast<size_t>(i);
    const auto h = states.row(i);
    const auto w = items_.row(targets[r]);
    const float dot = h.dot(w);
    const double magnitude = (h.cwiseAbs().cwiseProduct(w.cwiseAbs())).sum();
    float b = bias_[targets[r]];
    double bonus_magnitude = 0;  // the tile adds the bonus in another order
    for (const ItemBonus& bonus : row_bonuses(r)) {
      GRU4REC_CHECK(bonus.item >= 0 && bonus.item < n, "bonus item out of range");
      if (bonus.item == targets[r]) {
        b += bonus.bonus;
        bonus_magnitude = std::abs(bonus.bonus) + std::abs(bias_[targets[r]]);
      }
    }
    const float value = dot + b;
    const double band = 4.0 * (d + 2.0) * kEpsilon * magnitude +
                        4.0 * kEpsilon * (std::abs(dot) + std::abs(b) + bonus_magnitude) +
                        std::numeric_limits<float>::denorm_min();
    low_[r] = static_cast<float>(static_cast<double>(value) - band);
    high_[r] = static_cast<float>(static_cast<double>(value) + band);
    exact_[r] = std::numeric_limits<float>::quiet_NaN();
    greater_[r] = 0;
    close_count_[r] = 0;
  }
  for (Eigen::Index j0 = 0; j0 < n; j0 += tile_scores_.cols()) {
    const Eigen::Index width = std::min(tile_scores_.cols(), n - j0);
    auto tile = tile_scores_.topLeftCorner(rows, width);
    tile.noalias() = states * items_.middleRows(j0, width).transpose();
    const float* tile_bias = bias_ + j0;
    for (Eigen::Index i = 0; i < rows; ++i) {
      const auto r = static_cast<size_t>(i);
      float* scores = &tile_scores_(i, 0);
      for (const ItemBonus& bonus : row_bonuses(r)) {
        if (bonus.item >= j0 && bonus.item < j0 + width) scores[bonus.item - j0] += bonus.bonus;
      }
      const Eigen::Index target = targets[r] - j0;
      float saved_target = 0;
      if (target >= 0 && target < width) {
        exact_[r] = scores[target] + tile_bias[target];
        // Take the target out of the counts: the lowest value is never counted.
        saved_target = tile_scores_(i, target);
        tile_scores_(i, target) = -std::numeric_limits<float>::infinity();
      }
      const float low = low_[r], high = high_[r];
      // Items above the row's current worst listed item: only then is the tile worth a look
      // for the top list (an equal score from a later tile never enters: larger item index).
      const bool list_full = length > 0 && static_cast<size_t>(heap_sizes_[r]) == length;
      const float list_floor =
          list_full ? heaps_[r * length].score : std::numeric_limits<float>::infinity();
      int64_t above_floor = 0;
      int64_t greater = 0;
      int32_t close = 0;
      for (Eigen::Index j = 0; j < width; ++j) {
        const float v = scores[j] + tile_bias[j];
        greater += v > high ? 1 : 0;
        above_floor += v > list_floor ? 1 : 0;
        close += (v >= low) & (v <= high) ? 1 : 0;
      }
      greater_[r] += greater;
      if (close > 0) {
        // Rare: keep the close calls' values (or give up on the row when there are too many).
        int32_t& kept = close_count_[r];
        for (Eigen::Index j = 0; j < width && kept <= kCloseCapacity; ++j) {
          const float v = scores[j] + tile_bias[j];
          if (v >= low && v <= high) {
            if (kept < kCloseCapacity) close_[r * kCloseCapacity + static_cast<size_t>(kept)] = v;
            ++kept;
          }
        }
      }
      if (target >= 0 && target < width) {
        tile_scores_(i, target) = saved_target;
        above_floor += exact_[r] > list_floor ? 1 : 0;  // the target was out of the count
      }
      if (length > 0 && (!list_full || above_floor > 0)) keep_best(r, scores, tile_bias, j0, width);
    }
  }
  for (size_t r = 0; length > 0 && r < static_cast<size_t>(rows); ++r) {
    ScoredItem* heap = &heaps_[r * length];
    const auto size = static_cast<size_t>(heap_sizes_[r]);
    std::sort_heap(heap, heap + size, better);  // best first
    for (size_t k = 0; k < length; ++k) top_items[r * length + k] = k < size ? heap[k].item : -1;
  }
  for (Eigen::Index i = 0; i < rows; ++i) {
    const auto r = static_cast<size_t>(i);
    const float exact = exact_[r];
    RankCounts& out = counts[r];
    if (!std::isfinite(exact)) {
      out = RankCounts{.greater = n - 1, .equal = 0};
      continue;
    }
    if (close_count_[r] > kCloseCapacity || !(exact >= low_[r] && exact <= high_[r])) {
      // Too many ties to keep, or the estimate was off: score the row on its own.
      ++recomputed_rows_;
      row_scores_.noalias() = states.row(i) * items_.transpose();
      for (const ItemBonus& bonus : row_bonuses(r)) row_scores_[bonus.item] += bonus.bonus;
      out = count_rank(row_scores_.data(), bias_, n, targets[r]);
      continue;
    }
    // Every item above the band is above the exact score, every item below it is below.
    int64_t greater = greater_[r], equal = 0;
    for (int32_t k = 0; k < close_count_[r]; ++k) {
      const float v = close_[r * kCloseCapacity + static_cast<size_t>(k)];
      greater += v > exact ? 1 : 0;
      equal += v == exact ? 1 : 0;
    }
    out = RankCounts{.greater = greater, .equal = equal};
  }
}

void BlockRanker::keep_best(size_t row, const float* scores, const float* bias, Eigen::Index first,
                            Eigen::Index width) {
  const auto length = static_cast<size_t>(list_length_);
  ScoredItem* heap = &heaps_[row * length];
  auto size = static_cast<size_t>(heap_sizes_[row]);
  constexpr Eigen::Index kChunk = 64;
  for (Eigen::Index c = 0; c < width; c += kChunk) {
    const Eigen::Index end = std::min(width, c + kChunk);
    if (size == length) {
      // Skip, by a vectorised test, the chunks with nothing above the current worst entry.
      const float floor = heap[0].score;
      int any = 0;
      for (Eigen::Index j = c; j < end; ++j) any |= scores[j] + bias[j] > floor ? 1 : 0;
      if (any == 0) continue;
    }
    for (Eigen::Index j = c; j < end; ++j) {
      const float v = scores[j] + bias[j];
      if (!(v == v)) continue;  // NaN: never listed
      const ScoredItem candidate{static_cast<int32_t>(first + j), v};
      if (size < length) {
        heap[size++] = candidate;
        std::push_heap(heap, heap + size, better);
      } else if (better(candidate, heap[0])) {
        std::pop_heap(heap, heap + size, better);
        heap[size - 1] = candidate;
        std::push_heap(heap, heap + size, better);
      }
    }
  }
  heap_sizes_[row] = static_cast<int32_t>(size);
}

}  // namespace gru4rec
