// The repeat head: an option of this implementation (Params::repeat_window > 0), not of the
// official GRU4Rec, for data where sessions come back to their own items (on Tmall 45% of the
// next items were seen earlier in the same session).
//
// Why: a GRU state of a few hundred units cannot remember which of the 40,000 items the session
// has seen, and sampled training rarely shows it the session's own items as negatives, so it
// scores them like any other item (on Tmall GRU4Rec finds 55% of the repeated next items in its
// top 20, while ranking the session's items first finds nearly all). RepeatNet (Ren et al., AAAI
// 2019) adds a repeat mode: a distribution over the session's own items, chosen by recency and
// the session's state, mixed with the usual one by a learned repeat probability. The head here
// is the same idea in the log domain, so that it stays a ranking of scores: every distinct item
// of the session's last repeat_window events gets a bonus added to its score,
//
//   score(i) = h Wy_i^T + By_i + sum_k phi_k(i) (Br_k + h Wr_k^T)
//
// with h the top-layer state and phi(i) kRepeatFeatures binary features of the item's place in
// the window: how many events ago it was last seen (1, 2, 3, 4-5, 6-9, 10 or more: bits 0-5) and
// whether it occurs at least 2, 3, 4, 6 and 10 times (bits 6-10; on Tmall the count of an item
// in the session is the strongest sign that it comes back). Br is the bonus of each feature, Wr
// lets the state raise or lower it (the session's "repeat mode"). Items outside the window get no
// bonus. The head is fitted after the GRU (train/repeat_fit.h), so the GRU is the official model.
//
// Pure functions on value types; no allocation once the outputs have their capacity.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/model/top_k.h"

namespace gru4rec {

inline constexpr int kRepeatFeatures = 11;

// A distinct item of the window and its features (bit k: phi_k = 1).
struct RepeatCandidate {
  int32_t item = 0;
  uint32_t features = 0;
};

// A score to add to one item's (the repeat head's bonus).
struct ItemBonus {
  int32_t item = 0;
  float bonus = 0;
};

// The session's last `capacity` events, oldest first: the memory the head needs besides the
// GRU state. Value type; capacity 0 keeps nothing.
class RepeatWindow {
 public:
  explicit RepeatWindow(int capacity = 0) : capacity_(capacity) {
    items_.reserve(static_cast<size_t>(std::min(capacity, 256)));
  }
  void clear() { items_.clear(); }
  void add(int32_t item);
  // Replaces the content by the last `capacity` of `items`.
  void assign(std::span<const int32_t> items);
  std::span<const int32_t> items() const { return items_; }
  int capacity() const { return capacity_; }

 private:
  int capacity_;
  std::vector<int32_t> items_;
};

// The distinct items of `window` (events oldest first) with their features, the most recently
// seen first, into `out` (cleared first).
void repeat_candidates(std::span<const int32_t> window, std::vector<RepeatCandidate>& out);

// The bonus of each feature for the state h: feature_bonus[k] = Br_k + h Wr_k^T.
template <typename T>
void repeat_feature_bonuses(const MatrixR<T>& Wr, const RowVector<T>& Br, std::span<const T> h,
                            std::span<T> feature_bonus);

// Top-k with the bonuses from a top list by the model's scores alone: `list` holds the best
// k + bonuses.size() items by score (all of them when there are fewer), best first; every item
// outside it and outside `bonuses` is then below at least k items of it, so the answer is among
// the two. Adds each bonus to its item's score (score_of(item) gives the score of an item not in
// the list), sorts best first (ties by item index, as top_k) and keeps k. The caller leaves out
// of `bonuses` the items that may not be recommended.
void merge_repeat_bonuses(std::vector<ScoredItem>& list, std::span<const ItemBonus> bonuses,
                          const std::function<float(int32_t)>& score_of, size_t k);

// The fixed session-items-first rule (the hybrid reference of `eval --session-items-first` and
// of the `hybrid` baseline): each distinct item of `events` gets kSessionItemStep per
// occurrence, far above any model score, so that its count in the session decides first and
// the model's score only among items of equal count. Into `out` (cleared first), in order of
// first occurrence.
inline constexpr float kSessionItemStep = 1e4f;
void session_item_bonuses(std::span<const int32_t> events, std::vector<ItemBonus>& out);

// The bonus of a candidate: the sum of its features' bonuses.
template <typename T>
T repeat_bonus(uint32_t features, std::span<const T> feature_bonus) {
  T sum = 0;
  for (size_t k = 0; k < feature_bonus.size(); ++k) {
    if ((features >> k) & 1u) sum += feature_bonus[k];
  }
  return sum;
}

}  // namespace gru4rec
