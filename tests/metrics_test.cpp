#include "gru4rec/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gru4rec/core/error.h"
#include "gru4rec/core/random.h"
#include "gru4rec/eval/block_ranker.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/top_k.h"
#include "test_support.h"

namespace gru4rec {
namespace {

TEST(Metrics, CountsItemsAboveAndTiedWithTheTarget) {
  // Scores with bias: {0.5, 1.0, 1.0, 0.2, 1.0, 2.0}; target item 2 has 1.0.
  const float scores[] = {0.5f, 0.5f, 1.0f, 0.2f, 0.0f, 2.0f};
  const float bias[] = {0.0f, 0.5f, 0.0f, 0.0f, 1.0f, 0.0f};
  const RankCounts counts = count_rank(scores, bias, 6, 2);
  EXPECT_EQ(counts.greater, 1);  // item 5
  EXPECT_EQ(counts.equal, 2);    // items 1 and 4
  EXPECT_DOUBLE_EQ(rank_from_counts(1, 2, TieMode::kStandard), 2.0);
  EXPECT_DOUBLE_EQ(rank_from_counts(1, 2, TieMode::kConservative), 4.0);
  EXPECT_DOUBLE_EQ(rank_from_counts(1, 2, TieMode::kMedian), 3.0);
  EXPECT_DOUBLE_EQ(rank_from_counts(0, 1, TieMode::kMedian), 1.5);
  const float nan_scores[] = {0.1f, NAN, 0.3f};
  const float zero_bias[] = {0, 0, 0};
  EXPECT_EQ(count_rank(nan_scores, zero_bias, 3, 1).greater, 2);  // ranked last
}

TEST(Metrics, RecallAndMrrByHand) {
  RankMetrics m({1, 5, 20});
  for (double rank : {1.0, 2.0, 5.0, 25.0, 3.5}) m.add(rank);
  EXPECT_EQ(m.count(), 5);
  EXPECT_DOUBLE_EQ(m.recall(0), 1.0 / 5);
  EXPECT_DOUBLE_EQ(m.recall(1), 4.0 / 5);
  EXPECT_DOUBLE_EQ(m.recall(2), 4.0 / 5);
  EXPECT_DOUBLE_EQ(m.mrr(0), 1.0 / 5);
  EXPECT_DOUBLE_EQ(m.mrr(1), (1 + 0.5 + 0.2 + 1 / 3.5) / 5);
  EXPECT_DOUBLE_EQ(m.mrr(2), (1 + 0.5 + 0.2 + 1 / 3.5) / 5);
  RankMetrics other({1, 5, 20});
  other.add(1);
  m.merge(other);
  EXPECT_DOUBLE_EQ(m.recall(0), 2.0 / 6);
}

TEST(Metrics, ParsesTieModes) {
  EXPECT_EQ(parse_tie_mode("median"), TieMode::kMedian);
  EXPECT_THROW(parse_tie_mode("tiebreaking"), Error);
}

// A model whose scores are all equal: every rank is decided by the tie mode alone.
TEST(Evaluator, AllTiedScoresGiveTheTieModesRanks) {
  Model model = testing::train_small_model("n_epochs=1,layers=4,n_sample=8,batch_size=8", 200);
  model.weights.Wy.setZero();
  model.weights.By.setZero();
  SessionLog test;
  test.items = {0, 1, 2, 3, 4, 5};
  test.times = {0, 1, 2, 3, 4, 5};
  test.offsets = {0, 3, 6};
  test.session_ids = {"a", "b"};
  const double n = model.num_items();
  for (auto [mode, rank] :
       {std::pair{TieMode::kStandard, 1.0}, std::pair{TieMode::kConservative, n},
        std::pair{TieMode::kMedian, (n + 1) / 2}}) {
    EvalOptions options;
    options.cutoffs = {1, static_cast<int>(n)};
    options.mode = mode;
    const EvalResult result = evaluate(model, test, options);
    EXPECT_EQ(result.predictions, 4);
    EXPECT_DOUBLE_EQ(result.recall[1], 1.0);
    EXPECT_DOUBLE_EQ(result.mrr[1], 1.0 / rank) << tie_mode_name(mode);
    EXPECT_DOUBLE_EQ(result.recall[0], rank == 1.0 ? 1.0 : 0.0);
  }
}

// The evaluator's ranks equal those from scoring each prefix one event at a time with the
// single-step API and ranking by brute force.
TEST(Evaluator, MatchesStepByStepScoringOfEachSession) {
  SessionLog test;
  Model model = testing::train_small_model("n_epochs=2,layers=8,n_sample=16,batch_size=16", 400,
                                           nullptr, &test);
  ASSERT_GT(test.num_sessions(), 5);
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  RankMetrics expected({1, 5, 10});
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  for (int64_t s = 0; s < test.num_sessions(); ++s) {
    std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
    auto items = test.session_items(s);
    for (size_t i = 0; i + 1 < items.size(); ++i) {
      predictor.advance(state, items[i], scratch);
      predictor.score(state, scores);
      const float target = scores[static_cast<size_t>(items[i + 1])];
      int64_t greater = 0;
      for (float v : scores) greater += v > target ? 1 : 0;
      expected.add(1.0 + static_cast<double>(greater));
    }
  }
  std::vector<EvalResult> results;
  for (int threads : {1, 2, 3}) {
    EvalOptions options;
    options.cutoffs = {1, 5, 10};
    options.batch_size = 7;  // several sessions per step, with refills and a shrinking end
    options.threads = threads;
    const EvalResult result = evaluate(model, test, options);
    EXPECT_EQ(result.predictions, expected.count());
    for (size_t k = 0; k < 3; ++k) {
      // The evaluator's kernel and the predictor's GEMV may round the last bit differently:
      // allow a near-tie to move one rank.
      EXPECT_NEAR(result.recall[k], expected.recall(k), 2.0 / expected.count()) << threads;
      EXPECT_NEAR(result.mrr[k], expected.mrr(k), 2.0 / expected.count()) << threads;
    }
    results.push_back(result);
  }
  // Every thread count gives the same results, exactly (docs/evaluation.md: "with the same
  // results").
  for (size_t t = 1; t < results.size(); ++t) {
    EXPECT_EQ(results[t].predictions, results[0].predictions);
    EXPECT_EQ(results[t].recall, results[0].recall) << t + 1 << " threads";
    EXPECT_EQ(results[t].mrr, results[0].mrr) << t + 1 << " threads";
  }
}

}  // namespace
}  // namespace gru4rec

namespace gru4rec {
namespace {

// Ranks of every row by one plain product over all items and count_rank().
std::vector<RankCounts> reference_counts(const MatrixR<float>& states, const MatrixR<float>& items,
                                         const std::vector<float>& bias,
                                         const std::vector<int32_t>& targets) {
  std::vector<RankCounts> counts;
  for (Eigen::Index i = 0; i < states.rows(); ++i) {
    const RowVector<float> scores = states.row(i) * items.transpose();
    counts.push_back(
        count_rank(scores.data(), bias.data(), items.rows(), targets[static_cast<size_t>(i)]));
  }
  return counts;
}

struct RankerProblem {
  MatrixR<float> states, items;
  std::vector<float> bias;
  std::vector<int32_t> targets;
};

// Small integers everywhere: every product and sum is exact in float, so every way of computing
// the scores agrees and ties are frequent.
RankerProblem integer_problem(Eigen::Index rows, Eigen::Index n, Eigen::Index d, int spread,
                              uint64_t seed) {
  Rng rng(seed);
  auto draw = [&] {
    return static_cast<float>(static_cast<int>(rng.below(2 * spread + 1)) - spread);
  };
  RankerProblem p{MatrixR<float>(rows, d), MatrixR<float>(n, d), std::vector<float>(n), {}};
  for (Eigen::Index i = 0; i < p.states.size(); ++i) p.states.data()[i] = draw();
  for (Eigen::Index i = 0; i < p.items.size(); ++i) p.items.data()[i] = draw();
  for (float& b : p.bias) b = draw();
  for (Eigen::Index i = 0; i < rows; ++i)
    p.targets.push_back(static_cast<int32_t>(rng.below(static_cast<uint32_t>(n))));
  return p;
}

TEST(BlockRanker, CountsExactlyAsCountRankWithManyTies) {
  // Catalogues smaller than, equal to and larger than a tile, with a partial last tile.
  for (Eigen::Index n : {Eigen::Index{7}, BlockRanker::kTileItems, Eigen::Index{2500}}) {
    const RankerProblem p = integer_problem(37, n, 6, 2, static_cast<uint64_t>(n));
    BlockRanker ranker(p.items, p.bias.data(), 64);
    std::vector<RankCounts> counts(64);
    ranker.rank(p.states, p.targets, counts);
    const std::vector<RankCounts> expected = reference_counts(p.states, p.items, p.bias, p.targets);
    int64_t ties = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(counts[i].greater, expected[i].greater) << n << " row " << i;
      EXPECT_EQ(counts[i].equal, expected[i].equal) << n << " row " << i;
      ties += expected[i].equal;
    }
    EXPECT_GT(ties, 0) << "the problem should have ties";
  }
}

TEST(BlockRanker, RecomputesRowsWithMassiveTiesAndHandlesNonFiniteTargets) {
  RankerProblem p = integer_problem(5, 3000, 4, 1, 9);
  p.states.row(0).setZero();  // every item scores its bias: three values, ~1000 ties each
  p.states.row(1).setZero();
  p.bias.assign(p.bias.size(), 1.0f);  // row 0 and 1: all 3000 items tied
  p.items.row(p.targets[2]).setConstant(std::numeric_limits<float>::infinity());
  p.states.row(2).setOnes();  // row 2's target scores +inf: ranked last, as count_rank does
  BlockRanker ranker(p.items, p.bias.data(), 8);
  std::vector<RankCounts> counts(8);
  ranker.rank(p.states, p.targets, counts);
  const std::vector<RankCounts> expected = reference_counts(p.states, p.items, p.bias, p.targets);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(counts[i].greater, expected[i].greater) << i;
    EXPECT_EQ(counts[i].equal, expected[i].equal) << i;
  }
  // Row 0 ties with every item but itself and row 2's target, whose infinite weights give NaN
  // against a zero state (NaN is neither above nor tied).
  EXPECT_EQ(counts[0].equal, 2998);
  EXPECT_GE(ranker.recomputed_rows(), 2);
}

TEST(BlockRanker, AgreesWithAFullProductOnRealValuedScores) {
  Rng rng(4);
  const Eigen::Index rows = 50, n = 5000, d = 64;
  MatrixR<float> states(rows, d), items(n, d);
  for (Eigen::Index i = 0; i < states.size(); ++i)
    states.data()[i] = static_cast<float>(rng.normal());
  for (Eigen::Index i = 0; i < items.size(); ++i)
    items.data()[i] = static_cast<float>(rng.normal() * 0.1);
  std::vector<float> bias(static_cast<size_t>(n));
  for (float& b : bias) b = static_cast<float>(rng.normal() * 0.1);
  std::vector<int32_t> targets;
  for (Eigen::Index i = 0; i < rows; ++i) targets.push_back(static_cast<int32_t>(rng.below(n)));
  BlockRanker ranker(items, bias.data(), rows);
  std::vector<RankCounts> counts(static_cast<size_t>(rows));
  ranker.rank(states, targets, counts);
  const std::vector<RankCounts> expected = reference_counts(states, items, bias, targets);
  // Two products may round a near-tie differently; over 250,000 comparisons, allow one.
  int64_t differences = 0;
  for (size_t i = 0; i < expected.size(); ++i)
    differences += std::abs(counts[i].greater - expected[i].greater);
  EXPECT_LE(differences, 1);
  EXPECT_EQ(ranker.recomputed_rows(), 0);
}

TEST(Metrics, NdcgByHand) {
  RankMetrics metrics({1, 3});
  for (double rank : {1.0, 2.0, 5.0, 2.5}) metrics.add(rank);
  EXPECT_DOUBLE_EQ(metrics.ndcg(0), 1.0 / 4);
  // 1/log2(1 + rank): 1, 1/log2(3), 0 (rank 5 > 3), 1/log2(3.5).
  EXPECT_NEAR(metrics.ndcg(1), (1.0 + 1.0 / std::log2(3.0) + 1.0 / std::log2(3.5)) / 4, 1e-12);
  RankMetrics other({1, 3});
  other.add(1.0);
  metrics.merge(other);
  EXPECT_DOUBLE_EQ(metrics.ndcg(0), 2.0 / 5);
}

TEST(Metrics, CoverageAndPopularityBiasByHand) {
  // Supports 5, 1, 3, 3: percentiles (share of items with a smaller support) 3/4, 0, 1/4, 1/4.
  const std::vector<int64_t> supports{5, 1, 3, 3};
  ListMetrics lists({1, 2}, supports);
  EXPECT_EQ(lists.list_length(), 2);
  lists.add(std::vector<int32_t>{0, 2});
  ListMetrics other({1, 2}, supports);
  other.add(std::vector<int32_t>{2, 3});
  other.add(std::vector<int32_t>{1});  // a short list (fewer rankable items)
  lists.merge(other);
  EXPECT_DOUBLE_EQ(lists.coverage(0), 3.0 / 4);  // items 0, 2, 1
  EXPECT_DOUBLE_EQ(lists.coverage(1), 1.0);      // and 3
  EXPECT_DOUBLE_EQ(lists.popularity_bias(0), (0.75 + 0.25 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(lists.popularity_bias(1), (0.75 + 0.25 + 0.25 + 0.25 + 0.0) / 5);
}

TEST(BlockRanker, KeepsTheTopItemsAsTopKOrdersThem) {
  for (Eigen::Index n : {Eigen::Index{7}, Eigen::Index{2500}}) {
    const RankerProblem p = integer_problem(21, n, 5, 2, static_cast<uint64_t>(n) + 1);
    const int length = 10;
    BlockRanker ranker(p.items, p.bias.data(), 32, length);
    std::vector<RankCounts> counts(32);
    std::vector<int32_t> top_items(32 * length);
    ranker.rank(p.states, p.targets, counts, top_items);
    const std::vector<RankCounts> expected = reference_counts(p.states, p.items, p.bias, p.targets);
    for (Eigen::Index r = 0; r < p.states.rows(); ++r) {
      EXPECT_EQ(counts[static_cast<size_t>(r)].greater, expected[static_cast<size_t>(r)].greater);
      RowVector<float> scores = p.states.row(r) * p.items.transpose();
      for (Eigen::Index j = 0; j < n; ++j) scores[j] += p.bias[static_cast<size_t>(j)];
      std::vector<ScoredItem> best(length);
      const size_t listed =
          top_k(std::span<const float>(scores.data(), static_cast<size_t>(n)), length, best);
      for (size_t k = 0; k < static_cast<size_t>(length); ++k) {
        const int32_t want = k < listed ? best[k].item : -1;  // -1 past the catalogue
        EXPECT_EQ(top_items[static_cast<size_t>(r) * length + k], want)
            << n << " " << r << " " << k;
      }
    }
  }
}

}  // namespace
}  // namespace gru4rec
