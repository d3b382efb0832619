// The k best-scored items of a score vector by partial selection (no sort of all scores), for
// recommendations. Pure; allocates nothing (the caller owns the output buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace gru4rec {

struct ScoredItem {
  int32_t item = 0;  // index into the score vector
  float score = 0;
};

// Writes the min(k, #finite scores) items with the highest scores into out[0..), best first;
// equal scores are ordered by item index. NaN scores are never selected. out.size() must be at
// least k. Returns the number of items written. O(n + m log k) for n scores of which m enter the
// running selection.
size_t top_k(std::span<const float> scores, size_t k, std::span<ScoredItem> out);

}  // namespace gru4rec
