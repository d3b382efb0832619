#include "gru4rec/model/repeat_head.h"

#include <algorithm>

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
uint32_t recency_bit(size_t distance) {
  if (distance <= 3) return 1u << (distance - 1);  // 1, 2, 3
  if (distance <= 5) return 1u << 3;
  if (distance <= 9) return 1u << 4;
  return 1u << 5;
}

}  // namespace

void repeat_candidates(std::span<const int32_t> window, std::vector<RepeatCandidate>& out) {
  out.clear();
  const size_t n = window.size();
  for (size_t back = 0; back < n; ++back) {
    const int32_t item = window[n - 1 - back];
    auto found = std::find_if(out.begin(), out.end(),
                              [&](const RepeatCandidate& c) { return c.item == item; });
    if (found == out.end()) {
      out.push_back({item, recency_bit(back + 1)});
    } else if ((found->features >> 6) & 1u) {
      found->features |= 1u << 7;  // a third occurrence
    } else {
      found->features |= 1u << 6;  // a second one
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
