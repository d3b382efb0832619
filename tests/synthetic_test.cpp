#include "gru4rec/data/synthetic.h"

#include <gtest/gtest.h>

#include "gru4rec/data/session_reader.h"

namespace gru4rec {
namespace {

TEST(Synthetic, IsDeterministicAndSplitByTime) {
  SyntheticOptions options;
  options.num_sessions = 2000;
  const SyntheticData a = generate_synthetic_data(options);
  const SyntheticData b = generate_synthetic_data(options);
  EXPECT_EQ(a.train_tsv, b.train_tsv);
  EXPECT_EQ(a.test_tsv, b.test_tsv);
  options.seed = 8;
  EXPECT_NE(generate_synthetic_data(options).train_tsv, a.train_tsv);

  ItemIndex items;
  ReadReport report;
  const SessionLog train = parse_training_log(a.train_tsv, "train", ReadOptions{}, items, &report);
  EXPECT_FALSE(report.was_sorted);
  EXPECT_EQ(train.num_events(), a.train_events);
  const SessionLog test = parse_test_log(a.test_tsv, "test", ReadOptions{}, items);
  EXPECT_GT(test.num_sessions(), 0);
  // Every test session starts after every training session.
  double last_train_start = 0;
  for (int64_t s = 0; s < train.num_sessions(); ++s) {
    last_train_start = std::max(
        last_train_start, train.times[static_cast<size_t>(train.offsets[static_cast<size_t>(s)])]);
  }
  for (int64_t s = 0; s < test.num_sessions(); ++s) {
    EXPECT_GT(test.times[static_cast<size_t>(test.offsets[static_cast<size_t>(s)])],
              last_train_start);
  }
  // Power-law popularity: the most popular item is far above the median one.
  auto support = item_supports(train, items.size());
  std::sort(support.begin(), support.end());
  EXPECT_GT(support.back(), 10 * support[support.size() / 2]);
}

}  // namespace
}  // namespace gru4rec
