#include "gru4rec/model/repeat_head.h"

#include <algorithm>
#include <array>

#include "gru4rec/core/error.h"

namespace gru4rec {

void RepeatWindow::add(int32_t item) {
  if (capacity_ == 0) return;
  if (static_cast<int>(items_.size()) == capacity_) items_.erase(items_.begin());
  items_.push_back(item);
}

void RepeatWindow::assign(std::span<const int32_t> items) {
  const size_t keep = std::min(items.size(), static_cast<size_t>(capacity_));
  items_.assign(items.end() - static_cast<ptrdiff_t>(keep), items.end());
}

namespace {

// Feature bits: the recency bucket of the distance (events since the last occurrence, 1 for
// the last event), then count >= 2 and count >= 3.
// Count features: occurrences in the window >= each threshold.
constexpr std::array<uint32_t, 5> kCountThresholds = {2, 3, 4, 6, 10};

uint32_t recency_bit(size_t distance) {
  if (distance <= 3) return 1u << (distance - 1);  // 1, 2, 3
  if (distance <= 5) return 1u << 3;
  if (distance <= 9) return 1u << 4;
  return 1u << 5;
}

}  // namespace

void repeat_candidates(std::span<const int32_t> window, std::vector<RepeatCandidate>& out) {
  out.clear();
  // The occurrences are counted in the upper 16 bits of `features` until the end.
  constexpr uint32_t kOne = 1u << 16;
  const size_t n = window.size();
  for (size_t back = 0; back < n; ++back) {
    const int32_t item = window[n - 1 - back];
    auto found = std::find_if(out.begin(), out.end(),
                              [&](const RepeatCandidate& c) { return c.item == item; });
    if (found == out.end()) {
      out.push_back({item, recency_bit(back + 1) | kOne});
    } else {
      found->features += kOne;
    }
  }
  for (RepeatCandidate& c : out) {
    const uint32_t count = c.features >> 16;
    c.features &= kOne - 1;
    for (size_t t = 0; t < kCountThresholds.size(); ++t) {
      if (count >= kCountThresholds[t]) c.features |= 1u << (6 + t);
    }
  }
}

void session_item_bonuses(std::span<const int32_t> events, std::vector<ItemBonus>& out) {
  out.clear();
  for (const int32_t item : events) {
    auto found =
        std::find_if(out.begin(), out.end(), [&](const ItemBonus& b) { return b.item == item; });
    if (found == out.end()) {
      out.push_back({item, kSessionItemStep});
    } else {
      found->bonus += kSessionItemStep;
    }
  }
}

void merge_repeat_bonuses(std::vector<ScoredItem>& list, std::span<const ItemBonus> bonuses,
                          const std::function<float(int32_t)>& score_of, size_t k) {
  for (const ItemBonus& b : bonuses) {
    auto found = std::find_if(list.begin(), list.end(),
                              [&](const ScoredItem& s) { return s.item == b.item; });
    if (found != list.end()) {
      found->score += b.bonus;
    } else {
      list.push_back(ScoredItem{b.item, score_of(b.item) + b.bonus});
    }
  }
  std::sort(list.begin(), list.end(), [](const ScoredItem& a, const ScoredItem& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  });
  if (list.size() > k) list.resize(k);
}

template <typename T>
void repeat_feature_bonuses(const MatrixR<T>& Wr, const RowVector<T>& Br, std::span<const T> h,
                            std::span<T> feature_bonus) {
  GRU4REC_CHECK(Wr.rows() == static_cast<Eigen::Index>(feature_bonus.size()) &&
                Br.size() == Wr.rows() && Wr.cols() == static_cast<Eigen::Index>(h.size()));
  const Eigen::Map<const RowVector<T>> state(h.data(), static_cast<Eigen::Index>(h.size()));
  for (Eigen::Index k = 0; k < Wr.rows(); ++k) {
    feature_bonus[static_cast<size_t>(k)] = Br[k] + state.dot(Wr.row(k));
  }
}

template void repeat_feature_bonuses<float>(const MatrixR<float>&, const RowVector<float>&,
                                            std::span<const float>, std::span<float>);
template void repeat_feature_bonuses<double>(const MatrixR<double>&, const RowVector<double>&,
                                             std::span<const double>, std::span<double>);

}  // namespace gru4rec
