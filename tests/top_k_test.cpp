#include "gru4rec/model/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gru4rec/core/random.h"

namespace gru4rec {
namespace {

std::vector<ScoredItem> by_full_sort(const std::vector<float>& scores, size_t k) {
  std::vector<ScoredItem> all;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isnan(scores[i])) all.push_back({static_cast<int32_t>(i), scores[i]});
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const ScoredItem& a, const ScoredItem& b) { return a.score > b.score; });
  all.resize(std::min(k, all.size()));
  return all;
}

TEST(TopK, MatchesAFullSortWithTiesAndNan) {
  Rng rng(5);
  for (size_t n : {1, 7, 100, 5000}) {
    for (size_t k : {1, 3, 20, 200, 6000}) {
      std::vector<float> scores(n);
      // Few distinct values, so that ties are frequent; some NaN.
      for (float& s : scores) {
        s = static_cast<float>(rng.below(50)) * 0.5f;
        if (rng.below(40) == 0) s = std::nanf("");
      }
      std::vector<ScoredItem> out(k);
      const size_t written = top_k(scores, k, out);
      const std::vector<ScoredItem> expected = by_full_sort(scores, k);
      ASSERT_EQ(written, expected.size()) << n << " " << k;
      for (size_t i = 0; i < written; ++i) {
        EXPECT_EQ(out[i].item, expected[i].item) << n << " " << k << " " << i;
        EXPECT_EQ(out[i].score, expected[i].score);
      }
    }
  }
}

TEST(TopK, HandlesZeroKAndInfinities) {
  const std::vector<float> scores{1.0f, INFINITY, -INFINITY, 2.0f};
  std::vector<ScoredItem> out(4);
  EXPECT_EQ(top_k(scores, 0, out), 0u);
  ASSERT_EQ(top_k(scores, 4, out), 4u);
  EXPECT_EQ(out[0].item, 1);
  EXPECT_EQ(out[1].item, 3);
  EXPECT_EQ(out[2].item, 0);
  EXPECT_EQ(out[3].item, 2);
}

}  // namespace
}  // namespace gru4rec
