#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"
#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/eval/evaluator.h"

namespace gru4rec {
namespace {

// Items get indices in order of first appearance: a=0, b=1, c=2, d=3.
// Sessions (oldest first): S1 a b c, S2 b c, S3 a c d, S4 b d.
// Events per item (support): a 2, b 3, c 3, d 2; sessions per item: the same.
// Sessions holding both: ab 1, ac 2, ad 1, bc 2, bd 1, cd 1.
constexpr const char* kTrain =
    "SessionId\tItemId\tTime\n"
    "1\ta\t1\n1\tb\t2\n1\tc\t3\n"
    "2\tb\t10\n2\tc\t11\n"
    "3\ta\t20\n3\tc\t21\n3\td\t22\n"
    "4\tb\t30\n4\td\t31\n";

class BaselinesTest : public ::testing::Test {
 protected:
  void SetUp() override { train_ = parse_training_log(kTrain, "train.tsv", ReadOptions{}, items_); }

  // The scores after the events `session` (item indices).
  std::vector<float> scores_after(const Baseline& baseline, const std::vector<int32_t>& session) {
    auto scorer = baseline.make_scorer();
    scorer->start_session();
    for (int32_t item : session) scorer->add_event(item);
    std::vector<float> scores(4);
    scorer->score(scores);
    return scores;
  }

  ItemIndex items_;
  SessionLog train_;
};

// The score of items a method leaves unscored: support / (2 (max support + 1)).
constexpr float kFallbackA = 0.5f * 2 / 4, kFallbackB = 0.5f * 3 / 4, kFallbackD = 0.5f * 2 / 4;

TEST_F(BaselinesTest, PopScoresTheSupports) {
  const auto pop = fit_baseline("pop", "", train_, 4);
  EXPECT_EQ(scores_after(*pop, {0}), (std::vector<float>{2, 3, 3, 2}));
}

TEST_F(BaselinesTest, SpopPutsTheSessionsItemsFirstByCount) {
  const auto spop = fit_baseline("spop", "", train_, 4);
  const std::vector<float> s = scores_after(*spop, {1, 2, 1});  // b c b
  EXPECT_FLOAT_EQ(s[1], 1 + 2 + kFallbackB);                    // b twice
  EXPECT_FLOAT_EQ(s[2], 1 + 1 + 0.5f * 3 / 4);                  // c once
  EXPECT_FLOAT_EQ(s[0], kFallbackA);
  EXPECT_FLOAT_EQ(s[3], kFallbackD);
  // A new session forgets the old one.
  EXPECT_FLOAT_EQ(scores_after(*spop, {3})[1], kFallbackB);
}

TEST_F(BaselinesTest, ItemKnnSimilaritiesByHand) {
  const auto knn = fit_baseline("itemknn", "lmbd=1,alpha=0.5", train_, 4);
  const std::vector<float> s = scores_after(*knn, {1, 0});      // only the last item (a) counts
  EXPECT_FLOAT_EQ(s[2], 1 + 2 / (std::sqrt(2.0f * 3.0f) + 1));  // a-c: 2 sessions
  EXPECT_FLOAT_EQ(s[1], 1 + 1 / (std::sqrt(2.0f * 3.0f) + 1));  // a-b
  EXPECT_FLOAT_EQ(s[3], 1 + 1 / (std::sqrt(2.0f * 2.0f) + 1));  // a-d
  EXPECT_FLOAT_EQ(s[0], kFallbackA);                            // not its own neighbour
  // alpha weighs the two items' session counts unevenly: s(a)^alpha s(j)^(1 - alpha).
  const auto skewed = fit_baseline("itemknn", "lmbd=0,alpha=0.25", train_, 4);
  EXPECT_FLOAT_EQ(scores_after(*skewed, {0})[2],
                  1 + 2 / (std::pow(2.0f, 0.25f) * std::pow(3.0f, 0.75f)));
  // n_sims keeps the best neighbours: a keeps c and d; b falls back to popularity.
  const auto two = fit_baseline("itemknn", "n_sims=2,lmbd=1", train_, 4);
  const std::vector<float> t = scores_after(*two, {0});
  EXPECT_FLOAT_EQ(t[1], kFallbackB);
  EXPECT_FLOAT_EQ(t[2], 1 + 2 / (std::sqrt(2.0f * 3.0f) + 1));
  EXPECT_FLOAT_EQ(t[3], 4.0f / 3);  // 1 + 1 / (sqrt(2 * 2) + 1)
}

TEST_F(BaselinesTest, VsknnWeightsAndNeighboursByHand) {
  // Session b c: weights b 1/2, c 1. Similarities: S1 (b, c) 1.5, S2 (b, c) 1.5, S3 (c) 1,
  // S4 (b) 0.5. With k=2 the neighbours are S2 and S1 (tied; the more recent first, both kept):
  // votes a 1.5, b 3, c 3; d none.
  const auto knn = fit_baseline("vsknn", "k=2", train_, 4);
  const std::vector<float> s = scores_after(*knn, {1, 2});
  EXPECT_FLOAT_EQ(s[0], 2.5f);
  EXPECT_FLOAT_EQ(s[1], 4.0f);
  EXPECT_FLOAT_EQ(s[2], 4.0f);
  EXPECT_FLOAT_EQ(s[3], kFallbackD);
  // With sample_size=2 the candidates are the two most recent sessions sharing an item, S4
  // (0.5) and S3 (1): votes a 1, b 0.5, c 1, d 1.5.
  const auto recent = fit_baseline("vsknn", "k=2,sample_size=2", train_, 4);
  EXPECT_EQ(scores_after(*recent, {1, 2}), (std::vector<float>{2.0f, 1.5f, 2.0f, 2.5f}));
  // A repeated item weighs as its last position: c b c gives c 1, b 2/3.
  const std::vector<float> r = scores_after(*knn, {2, 1, 2});
  // S1, S2: 1 + 2/3; S3: 1; S4: 2/3 -> neighbours S2, S1: a 5/3, b 10/3, c 10/3.
  EXPECT_FLOAT_EQ(r[0], 1 + 5.0f / 3);
  EXPECT_FLOAT_EQ(r[1], 1 + 10.0f / 3);
}

TEST_F(BaselinesTest, EvaluatedWithTheOfficialProtocolAndTieModes) {
  // Test session b a c: after b the target a (pop: a 2 ties with d, below b and c 3); after
  // b a the target c (3, tied with b).
  ReadReport report;
  const SessionLog test = parse_test_log("SessionId\tItemId\tTime\n9\tb\t1\n9\ta\t2\n9\tc\t3\n",
                                         "test.tsv", ReadOptions{}, items_, &report);
  const auto pop = fit_baseline("pop", "", train_, 4);
  const std::vector<int64_t> supports{2, 3, 3, 2};
  EvalOptions options;
  options.cutoffs = {1, 3};
  options.threads = 1;
  const ScorerFactory factory = [&] { return pop->make_scorer(); };
  EvalResult standard = evaluate_scorer(factory, supports, test, options);
  EXPECT_EQ(standard.predictions, 2);
  EXPECT_DOUBLE_EQ(standard.recall[0], 0.5);  // ranks 3 and 1
  EXPECT_DOUBLE_EQ(standard.mrr[1], (1.0 / 3 + 1.0) / 2);
  options.mode = TieMode::kConservative;
  EvalResult conservative = evaluate_scorer(factory, supports, test, options);
  EXPECT_DOUBLE_EQ(conservative.recall[0], 0.0);  // ranks 4 and 2
  EXPECT_DOUBLE_EQ(conservative.mrr[1], 0.5 / 2);
  // Every prediction's top-3 of pop is b, c, a (ties in item order): 3 of 4 items listed;
  // percentiles b, c 1/2 (two items below), a 0.
  EXPECT_DOUBLE_EQ(standard.coverage[1], 0.75);
  EXPECT_DOUBLE_EQ(standard.popularity_bias[0], 0.5);
  EXPECT_DOUBLE_EQ(standard.popularity_bias[1], (0.5 + 0.5 + 0.0) / 3);
}

TEST_F(BaselinesTest, BadNamesAndParametersAreClearErrors) {
  const auto message = [&](std::string_view algo, std::string_view params) {
    try {
      fit_baseline(algo, params, train_, 4);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("knn", "").find("unknown baseline"), std::string::npos);
  EXPECT_NE(message("itemknn", "n_sim=3").find("no parameter"), std::string::npos);
  EXPECT_NE(message("itemknn", "alpha=2").find("from 0 to 1"), std::string::npos);
  EXPECT_NE(message("itemknn", "n_sims=2.5").find("an integer"), std::string::npos);
  EXPECT_NE(message("vsknn", "k").find("key=value"), std::string::npos);
  EXPECT_NE(message("pop", "k=1").find("no parameter"), std::string::npos);
}

}  // namespace
}  // namespace gru4rec
