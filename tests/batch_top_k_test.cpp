// Batched top-k (gru4rec predict, the server's batches, Python's recommend_batch) against one
// session at a time through the Predictor's own scores and top_k.
#include "gru4rec/model/batch_top_k.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gru4rec/model/inference.h"
#include "test_support.h"

namespace gru4rec {
namespace {

// The reference: the session's scores from Predictor::score, excluded items set to NaN.
std::vector<ScoredItem> one_at_a_time(const Model& model, std::span<const int32_t> items, size_t k,
                                      bool exclude_seen) {
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
  for (int32_t item : items) predictor.advance(state, item, scratch);
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  predictor.score(state, scores);
  if (exclude_seen)
    for (int32_t item : items) scores[static_cast<size_t>(item)] = std::nanf("");
  std::vector<ScoredItem> out(k);
  out.resize(top_k(scores, k, out));
  return out;
}

void expect_same(const std::vector<ScoredItem>& got, const std::vector<ScoredItem>& expected,
                 const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t r = 0; r < got.size(); ++r) {
    EXPECT_EQ(got[r].item, expected[r].item) << what << " rank " << r;
    // The batched product sums in the kernel's order, the Predictor in Eigen's.
    EXPECT_NEAR(got[r].score, expected[r].score, 1e-5f * (1 + std::abs(expected[r].score)))
        << what << " rank " << r;
  }
}

TEST(BatchTopK, EverySessionAsIfAlone) {
  SessionLog train, test;
  const Model model = testing::train_small_model(
      "layers=16,batch_size=16,n_epochs=2,n_sample=0,threads=1", 600, &train, &test);
  // More sessions than a batch, so that full and partial batches both run, on 1 and 3 threads.
  ASSERT_GT(test.num_sessions(), BatchTopK::kMaxRows + 1);
  for (const int threads : {1, 3}) {
    for (const bool exclude_seen : {false, true}) {
      const auto results = recommend_sessions(
          model, test,
          BatchRecommendOptions{.k = 7, .exclude_seen = exclude_seen, .threads = threads});
      ASSERT_EQ(results.size(), static_cast<size_t>(test.num_sessions()));
      for (int64_t s = 0; s < test.num_sessions(); ++s) {
        expect_same(results[static_cast<size_t>(s)],
                    one_at_a_time(model, test.session_items(s), 7, exclude_seen),
                    "session " + std::to_string(s) + " threads " + std::to_string(threads));
      }
    }
  }
}

TEST(BatchTopK, EmptySessionsGetThePopularItemsAndKIsCapped) {
  const Model model = testing::train_small_model("layers=8,batch_size=16,n_epochs=1,threads=1");
  SessionLog log;
  log.offsets = {0, 0};  // one session without events
  const auto results =
      recommend_sessions(model, log, BatchRecommendOptions{.k = 1000});  // more than the items
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].size(), static_cast<size_t>(model.num_items()));
  for (size_t r = 1; r < results[0].size(); ++r) {
    const int64_t before = model.supports[static_cast<size_t>(results[0][r - 1].item)];
    const int64_t after = model.supports[static_cast<size_t>(results[0][r].item)];
    EXPECT_GE(before, after);
  }
}

TEST(BatchTopK, IncludeListsAndExclusionsPerRow) {
  const Model model = testing::train_small_model("layers=8,batch_size=16,n_epochs=1,threads=1");
  const ItemScorer scorer(model.weights.Wy,
                          std::span<const float>(model.weights.By.data(),
                                                 static_cast<size_t>(model.weights.By.size())));
  BatchTopK batch(scorer);
  const auto units = static_cast<size_t>(scorer.units());
  std::vector<float> a(units, 0.1f), b(units, -0.2f);
  const std::vector<int32_t> include{5, 9, 2, 30}, exclude{9};
  std::vector<ScoredItem> out_a(3), out_b(10);
  const std::vector<TopKQuery> queries{
      TopKQuery{.state = a, .k = 3, .exclude = exclude, .include = include, .out = out_a},
      TopKQuery{.state = b, .k = 10, .exclude = exclude, .include = {}, .out = out_b}};
  std::vector<size_t> counts(2);
  batch.run(queries, counts);
  EXPECT_EQ(counts[0], 3u);
  for (size_t r = 0; r < counts[0]; ++r) {
    EXPECT_NE(out_a[r].item, 9);
    EXPECT_NE(std::find(include.begin(), include.end(), out_a[r].item), include.end());
  }
  EXPECT_EQ(counts[1], 10u);
  for (size_t r = 0; r < counts[1]; ++r) EXPECT_NE(out_b[r].item, 9);
  // The include list left nothing behind: the same state without it selects from every item.
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  scorer.score(a.data(), 1, static_cast<int>(units), scores.data(), model.num_items());
  std::vector<ScoredItem> expected(3), again(3);
  expected.resize(top_k(scores, 3, expected));
  const std::vector<TopKQuery> plain{
      TopKQuery{.state = a, .k = 3, .exclude = {}, .include = {}, .out = again}};
  batch.run(plain, counts);
  ASSERT_EQ(counts[0], expected.size());
  for (size_t r = 0; r < expected.size(); ++r) EXPECT_EQ(again[r].item, expected[r].item);
}

}  // namespace
}  // namespace gru4rec
