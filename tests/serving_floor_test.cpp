#include "gru4rec/serve/serving_floor.h"

#include <gtest/gtest.h>

namespace gru4rec {
namespace {

// 1,000 items, one GRU layer of 10 units, the shared embedding (the item's row of Wy is the
// input): the figures by hand.
NetworkShape small_shape() {
  NetworkShape shape;
  shape.mode = EmbeddingMode::kShared;
  shape.num_items = 1000;
  shape.layers = {10};
  return shape;
}

TEST(ServingFloor, CountsTheBytesAndFlopsOfAnEventByHand) {
  const EventWork w = event_work(small_shape(), WeightPrecision::kFloat32);
  EXPECT_DOUBLE_EQ(w.item_bytes, 1000 * (10 * 4 + 4));  // Wy and By
  EXPECT_DOUBLE_EQ(w.score_flops, 2 * 1000 * 10);
  // Input row (10 floats), Wx (10 x 30), Urz and Uh (10 x 30), the three biases.
  EXPECT_DOUBLE_EQ(w.step_bytes, (10 + 300 + 300 + 30) * 4);
  EXPECT_DOUBLE_EQ(w.step_flops, 2 * 300 + 2 * 300);
  EXPECT_DOUBLE_EQ(event_work(small_shape(), WeightPrecision::kFloat16).item_bytes,
                   1000 * (10 * 2 + 4));
  EXPECT_DOUBLE_EQ(event_work(small_shape(), WeightPrecision::kInt8).item_bytes,
                   1000 * (10 + 4 + 4));  // bytes, the scale, the bias
  NetworkShape one_hot = small_shape();
  one_hot.mode = EmbeddingMode::kOneHot;
  const EventWork o = event_work(one_hot, WeightPrecision::kFloat32);
  EXPECT_DOUBLE_EQ(o.step_bytes, (30 + 300 + 30) * 4);  // a row of Wx, no product
  EXPECT_DOUBLE_EQ(o.step_flops, 2 * 300);
}

TEST(ServingFloor, ABatchReadsTheMatrixOnceAndDoesEveryEventsArithmetic) {
  const EventWork w = event_work(small_shape(), WeightPrecision::kFloat32);
  const CoreSpeed speed{.dram_gb_per_s = 10, .l3_gb_per_s = 40, .fma_gflops = 2};
  const Floor one = batch_floor(w, speed, 1);
  EXPECT_DOUBLE_EQ(one.memory_seconds, (44000 + 2560) / 10e9);
  EXPECT_DOUBLE_EQ(one.fma_seconds, (20000 + 1200) / 2e9);
  const Floor eight = batch_floor(w, speed, 8), cached = batch_floor(w, speed, 8, true);
  EXPECT_DOUBLE_EQ(eight.memory_seconds, (44000 + 8 * 2560) / 10e9);
  EXPECT_DOUBLE_EQ(eight.fma_seconds, 8 * 21200 / 2e9);
  EXPECT_DOUBLE_EQ(cached.memory_seconds, (44000 + 8 * 2560) / 40e9);
  EXPECT_DOUBLE_EQ(eight.events_per_second(), 8 / eight.seconds());
  EXPECT_GT(eight.events_per_second(), one.events_per_second());
}

}  // namespace
}  // namespace gru4rec
