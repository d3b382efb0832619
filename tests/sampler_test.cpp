#include "gru4rec/train/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gru4rec {
namespace {

class SamplerTest : public ::testing::TestWithParam<double> {};

TEST_P(SamplerTest, FrequenciesFollowSupportToThePowerAlpha) {
  const double alpha = GetParam();
  const std::vector<int64_t> support = {1, 2, 4, 8, 16, 100, 3, 50};
  std::vector<double> expected(support.size());
  double total = 0;
  for (size_t i = 0; i < support.size(); ++i) total += expected[i] = std::pow(support[i], alpha);
  for (double& p : expected) p /= total;

  AliasSampler sampler(support, alpha);
  const auto exact = sampler.probabilities();
  for (size_t i = 0; i < support.size(); ++i) EXPECT_NEAR(exact[i], expected[i], 1e-9);

  Rng rng(123);
  const int draws = 1'000'000;
  std::vector<int64_t> counts(support.size(), 0);
  for (int d = 0; d < draws; ++d) ++counts[static_cast<size_t>(sampler.draw(rng))];
  for (size_t i = 0; i < support.size(); ++i) {
    const double p = expected[i];
    const double sd = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(static_cast<double>(counts[i]) / draws, p, 5 * sd) << "item " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Alphas, SamplerTest, ::testing::Values(0.0, 0.4, 0.75, 1.0));

TEST(SampleStore, HandsOutRowsAndRefillsWhenUsedUp) {
  const std::vector<int64_t> support = {5, 1, 1};
  AliasSampler sampler(support, 1.0);
  SampleStore store(&sampler, 4, 12, 9);  // 3 rows per refill
  for (int i = 0; i < 3; ++i) {
    auto row = store.next();
    ASSERT_EQ(row.size(), 4u);
    for (int32_t id : row) EXPECT_TRUE(id >= 0 && id < 3);
  }
  EXPECT_EQ(store.refills(), 1);
  store.next();
  EXPECT_EQ(store.refills(), 2);
  SampleStore tiny(&sampler, 4, 5, 9);  // under 2 rows: a fresh row every step
  tiny.next();
  tiny.next();
  EXPECT_EQ(tiny.refills(), 2);
  SampleStore none(nullptr, 0, 100, 9);
  EXPECT_TRUE(none.next().empty());
}

}  // namespace
}  // namespace gru4rec
