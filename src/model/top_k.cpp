#include "gru4rec/model/top_k.h"

#include <algorithm>
#include <cmath>

#include "gru4rec/core/error.h"
#include "model/item_scorer_kernels.h"

namespace gru4rec {
namespace {

// "a ranks before b".
bool better(const ScoredItem& a, const ScoredItem& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

}  // namespace

size_t top_k(std::span<const float> scores, size_t k, std::span<ScoredItem> out) {
  GRU4REC_CHECK(out.size() >= k, "top_k: output buffer smaller than k");
  if (k == 0) return 0;
  // out[0..size) is a heap whose front is the worst of the selection (the comparator is
  // `better`, so the heap's "largest" element is the one every other ranks before).
  size_t size = 0;
  const auto n = static_cast<int32_t>(scores.size());
  int32_t i = 0;
  for (; i < n && size < k; ++i) {
    if (std::isnan(scores[static_cast<size_t>(i)])) continue;
    out[size++] = ScoredItem{i, scores[static_cast<size_t>(i)]};
    std::push_heap(out.begin(), out.begin() + static_cast<ptrdiff_t>(size), better);
  }
  const auto end = out.begin() + static_cast<ptrdiff_t>(size);
  // Items are left only once the selection is full (the loop above took every item until
  // then). Few scores beat its worst: a SIMD scan skips to the next one that does. Later items
  // lose ties, so only a strictly higher score enters (NaN never does).
  while (i < n) {
    i += static_cast<int32_t>(
        find_above(scores.data() + i, static_cast<size_t>(n - i), out.front().score));
    if (i == n) break;
    std::pop_heap(out.begin(), end, better);
    *(end - 1) = ScoredItem{i, scores[static_cast<size_t>(i)]};
    std::push_heap(out.begin(), end, better);
    ++i;
  }
  std::sort_heap(out.begin(), end, better);
  return size;
}

}  // namespace gru4rec
