#include "gru4rec/serve/catalog.h"

#include <algorithm>
#include <numeric>

#include "gru4rec/core/error.h"

namespace gru4rec {

Catalog::Catalog(const ItemIndex& items, std::span<const int64_t> supports, ItemIndex& registry)
    : items_(&items), supports_(supports.begin(), supports.end()) {
  GRU4REC_CHECK(static_cast<int32_t>(supports.size()) == items.size());
  for (int32_t i = 0; i < items.size(); ++i) to_global_.push_back(registry.insert(items.id(i)));
  to_local_.assign(static_cast<size_t>(registry.size()), -1);
  for (int32_t i = 0; i < items.size(); ++i)
    to_local_[static_cast<size_t>(to_global_[static_cast<size_t>(i)])] = i;
  by_popularity_.resize(supports_.size());
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(), [&](int32_t a, int32_t b) {
    return supports_[static_cast<size_t>(a)] > supports_[static_cast<size_t>(b)];
  });
  rank_.resize(by_popularity_.size());
  for (size_t r = 0; r < by_popularity_.size(); ++r)
    rank_[static_cast<size_t>(by_popularity_[r])] = static_cast<int32_t>(r);
}

size_t Catalog::popular(const RecommendOptions& options, std::span<ScoredItem> out) const {
  GRU4REC_CHECK(out.size() >= options.k);
  check_item_indices(static_cast<int32_t>(supports_.size()), options);
  // Sorted copies, searched by bisection: O((k + lists) log lists), not items x list length.
  thread_local std::vector<int32_t> exclude, include;
  exclude.assign(options.exclude.begin(), options.exclude.end());
  std::sort(exclude.begin(), exclude.end());
  const auto excluded = [&](int32_t item) {
    return std::binary_search(exclude.begin(), exclude.end(), item);
  };
  const auto emit = [&](size_t n, int32_t item) {
    out[n] = ScoredItem{item, static_cast<float>(supports_[static_cast<size_t>(item)])};
  };
  size_t n = 0;
  if (!options.include.empty()) {
    // The candidates in popularity order (the same order as the full list: by rank).
    include.assign(options.include.begin(), options.include.end());
    std::sort(include.begin(), include.end(), [&](int32_t a, int32_t b) {
      return rank_[static_cast<size_t>(a)] < rank_[static_cast<size_t>(b)];
    });
    include.erase(std::unique(include.begin(), include.end()), include.end());
    for (int32_t item : include) {
      if (n == options.k) break;
      if (!excluded(item)) emit(n++, item);
    }
    return n;
  }
  for (int32_t item : by_popularity_) {
    if (n == options.k) break;
    if (!excluded(item)) emit(n++, item);
  }
  return n;
}

}  // namespace gru4rec
