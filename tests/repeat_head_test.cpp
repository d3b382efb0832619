// The repeat head (model/repeat_head.h, train/repeat_fit.h): its features on hand-made windows,
// the finite-difference check of the fit's gradient, the bonuses in the scores of the
// predictor and in the evaluator's ranks (against a brute-force ranking), and that a fit on data
// full of repeats learns to raise the session's items.
#include "gru4rec/model/repeat_head.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/random.h"
#include "gru4rec/eval/block_ranker.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/eval/metrics.h"
#include "gru4rec/model/batch_top_k.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/train/repeat_fit.h"
#include "gru4rec/train/trainer.h"
#include "test_support.h"

namespace gru4rec {
namespace {

ItemIndex dense_items(int n) {
  ItemIndex items;
  for (int i = 0; i < n; ++i) items.insert(std::to_string(i));
  return items;
}

uint32_t bit(int k) {
  return 1u << k;
}

TEST(RepeatHead, CandidatesAreTheWindowsDistinctItemsMostRecentFirst) {
  std::vector<RepeatCandidate> out;
  // Events oldest first: 7 5 7 9 7 3. Distances (events ago): 3 -> 1, 7 -> 2 (three times),
  // 9 -> 3, 5 -> 5.
  const std::vector<int32_t> window = {7, 5, 7, 9, 7, 3};
  repeat_candidates(window, out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].item, 3);
  EXPECT_EQ(out[0].features, bit(0));
  EXPECT_EQ(out[1].item, 7);
  EXPECT_EQ(out[1].features, bit(1) | bit(6) | bit(7));  // count 3: >= 2 and >= 3
  EXPECT_EQ(out[2].item, 9);
  EXPECT_EQ(out[2].features, bit(2));
  EXPECT_EQ(out[3].item, 5);
  EXPECT_EQ(out[3].features, bit(3));  // 5 events ago: the 4-5 bucket
  // Distances 6-9 and 10 or more; a repeat twice only.
  std::vector<int32_t> long_window = {4, 4};
  for (int32_t i = 10; i < 18; ++i) long_window.push_back(i);  // 8 more events
  long_window.push_back(2);
  repeat_candidates(long_window, out);
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(out.back().item, 4);
  EXPECT_EQ(out.back().features, bit(5) | bit(6));  // last seen 10 events ago, twice
  EXPECT_EQ(out[5].item, 13);
  EXPECT_EQ(out[5].features, bit(4));  // 6 events ago
  // Counts 4, 6 and 10 (of 12 events).
  const std::vector<int32_t> counted = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 8, 9};
  repeat_candidates(counted, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].features, bit(2) | bit(6) | bit(7) | bit(8) | bit(9) | bit(10));
  const std::vector<int32_t> four = {5, 5, 5, 5, 9};
  repeat_candidates(four, out);
  EXPECT_EQ(out[1].features, bit(1) | bit(6) | bit(7) | bit(8));
  repeat_candidates({}, out);
  EXPECT_TRUE(out.empty());
}

TEST(RepeatHead, WindowKeepsTheLastEvents) {
  RepeatWindow window(3);
  for (int32_t item : {1, 2, 3, 4}) window.add(item);
  EXPECT_EQ(std::vector<int32_t>(window.items().begin(), window.items().end()),
            (std::vector<int32_t>{2, 3, 4}));
  const std::vector<int32_t> events = {9, 8, 7, 6, 5};
  window.assign(events);
  EXPECT_EQ(std::vector<int32_t>(window.items().begin(), window.items().end()),
            (std::vector<int32_t>{7, 6, 5}));
  RepeatWindow none(0);
  none.add(1);
  EXPECT_TRUE(none.items().empty());
}

// Random fit data: predictions with 0-4 candidates, the target in the window or not.
RepeatFitData random_fit_data(int64_t predictions, int H, uint64_t seed) {
  Rng rng(seed);
  RepeatFitData data;
  data.states.resize(predictions, H);
  for (int64_t p = 0; p < predictions; ++p) {
    for (int j = 0; j < H; ++j) data.states(p, j) = static_cast<float>(2 * rng.uniform() - 1);
    data.log_z_rest.push_back(3 * rng.uniform());
    const uint32_t n = rng.below(5);
    for (uint32_t c = 0; c < n; ++c) {
      data.items.push_back(static_cast<int32_t>(c));
      data.features.push_back(rng.below(1u << kRepeatFeatures) | 1u);
      data.base.push_back(static_cast<float>(2 * rng.uniform() - 1));
    }
    data.starts.push_back(static_cast<int64_t>(data.items.size()));
    data.target.push_back(n > 0 && rng.uniform() < 0.6 ? static_cast<int32_t>(rng.below(n)) : -1);
    data.target_base.push_back(static_cast<float>(rng.uniform()));
  }
  return data;
}

TEST(RepeatHead, FitGradientMatchesFiniteDifferences) {
  constexpr int H = 5;
  RepeatFitData data = random_fit_data(40, H, 7);
  Rng rng(11);
  MatrixR<double> Wr(kRepeatFeatures, H);
  RowVector<double> Br(kRepeatFeatures);
  for (Eigen::Index i = 0; i < Wr.size(); ++i) Wr.data()[i] = rng.uniform() - 0.5;
  for (Eigen::Index i = 0; i < Br.size(); ++i) Br[i] = 2 * rng.uniform() - 1;
  MatrixR<double> dWr;
  RowVector<double> dBr;
  // With a scale of the scores b = 0.5 (the loss's own log Z_rest for it: the second value).
  data.scales = {1.0, 0.5};
  std::vector<double> two_scales;
  for (const double v : data.log_z_rest) two_scales.insert(two_scales.end(), {v, v - 0.4});
  data.log_z_rest = two_scales;
  repeat_fit_loss<double>(data, 1, 3, 37, Wr, Br, &dWr, &dBr);
  constexpr double kStep = 1e-6;
  const auto loss = [&] {
    return repeat_fit_loss<double>(data, 1, 3, 37, Wr, Br, nullptr, nullptr);
  };
  for (Eigen::Index i = 0; i < Wr.size(); ++i) {
    const double saved = Wr.data()[i];
    Wr.data()[i] = saved + kStep;
    const double up = loss();
    Wr.data()[i] = saved - kStep;
    const double down = loss();
    Wr.data()[i] = saved;
    EXPECT_NEAR(dWr.data()[i], (up - down) / (2 * kStep), 1e-7) << "Wr " << i;
  }
  for (Eigen::Index k = 0; k < Br.size(); ++k) {
    const double saved = Br[k];
    Br[k] = saved + kStep;
    const double up = loss();
    Br[k] = saved - kStep;
    const double down = loss();
    Br[k] = saved;
    EXPECT_NEAR(dBr[k], (up - down) / (2 * kStep), 1e-7) << "Br " << k;
  }
}

TEST(RepeatHead, FitLossIsTheFullSoftmaxCrossEntropy) {
  // One prediction, hand-computed: Z_rest = e^1, candidates with base 0.5 (bit 0) and -1
  // (bits 1 and 6), Br = (2, 1, 0, ..., 0.5 at 6), Wr = 0: scores 2.5 and 0.5; target the second.
  RepeatFitData data;
  data.states = MatrixR<float>::Zero(1, 2);
  data.log_z_rest = {1.0};
  data.items = {4, 6};
  data.features = {bit(0), bit(1) | bit(6)};
  data.base = {0.5f, -1.0f};
  data.starts = {0, 2};
  data.target = {1};
  data.target_base = {-1.0f};
  MatrixR<double> Wr = MatrixR<double>::Zero(kRepeatFeatures, 2);
  RowVector<double> Br = RowVector<double>::Zero(kRepeatFeatures);
  Br[0] = 2;
  Br[1] = 1;
  Br[6] = 0.5;
  const double expected = std::log(std::exp(1.0) + std::exp(2.5) + std::exp(0.5)) - 0.5;
  EXPECT_NEAR(repeat_fit_loss<double>(data, 0, 0, 1, Wr, Br, nullptr, nullptr), expected, 1e-12);
  // A target outside the window: its own score.
  data.target = {-1};
  data.target_base = {0.25f};
  EXPECT_NEAR(repeat_fit_loss<double>(data, 0, 0, 1, Wr, Br, nullptr, nullptr),
              std::log(std::exp(1.0) + std::exp(2.5) + std::exp(0.5)) - 0.25, 1e-12);
  // Scale b = 0.5 of the scores, with its own log Z_rest (0.7): scores 0.25 + 2 and -0.5 + 1.5.
  data.scales = {1.0, 0.5};
  data.log_z_rest = {1.0, 0.7};
  EXPECT_NEAR(repeat_fit_loss<double>(data, 1, 0, 1, Wr, Br, nullptr, nullptr),
              std::log(std::exp(0.7) + std::exp(2.25) + std::exp(1.0)) - 0.125, 1e-12);
}

TEST(RepeatHead, FitMrrRanksTheTargetAmongTheWindowAndTheBestOtherItems) {
  // One prediction: candidates with base 0.5 (bit 0) and -1 (bits 1 and 6), the target the
  // second; the best items outside the window score 3, 1, 0, then nothing.
  RepeatFitData data;
  data.scales = {1.0, 0.5};
  data.states = MatrixR<float>::Zero(1, 2);
  data.log_z_rest = {1.0, 0.5};
  data.items = {4, 6};
  data.features = {bit(0), bit(1) | bit(6)};
  data.base = {0.5f, -1.0f};
  data.starts = {0, 2};
  data.target = {1};
  data.target_base = {-1.0f};
  data.target_items = {6};
  data.rest_top.assign(RepeatFitData::kRankDepth, -std::numeric_limits<float>::infinity());
  data.rest_top[0] = 3;
  data.rest_top[1] = 1;
  data.rest_top[2] = 0;
  MatrixR<double> Wr = MatrixR<double>::Zero(kRepeatFeatures, 2);
  RowVector<double> Br = RowVector<double>::Zero(kRepeatFeatures);
  Br[0] = 2;
  Br[1] = 1;
  Br[6] = 0.5;
  // Scale 1: scores 2.5 and 0.5 (the target); above it 2.5, 3 and 1: rank 4.
  EXPECT_DOUBLE_EQ(repeat_fit_mrr(data, 0, 0, 1, Wr, Br), 0.25);
  // Scale 0.5: 0.25 + 2 = 2.25 and -0.5 + 1.5 = 1 (the target); above it 2.25 and 1.5: rank 3.
  EXPECT_DOUBLE_EQ(repeat_fit_mrr(data, 1, 0, 1, Wr, Br), 1.0 / 3);
  // A target outside the window scored 2.75: above it 3 only (standard ties).
  data.target = {-1};
  data.target_base = {2.75f};
  EXPECT_DOUBLE_EQ(repeat_fit_mrr(data, 0, 0, 1, Wr, Br), 0.5);
  // Beyond the depth: no reciprocal rank.
  data.target_base = {-5.0f};
  std::fill(data.rest_top.begin(), data.rest_top.end(), 0.0f);
  EXPECT_DOUBLE_EQ(repeat_fit_mrr(data, 0, 0, 1, Wr, Br), 0.0);
}

// A small trained model with the head, on a log where sessions return to their items.
struct RepeatModel {
  SessionLog train, test;
  Model model;
  TrainSummary summary;
};

SessionLog repeating_log(int sessions, int items, uint64_t seed) {
  Rng rng(seed);
  SessionLog log;
  double time = 0;
  for (int s = 0; s < sessions; ++s) {
    const int length = 3 + static_cast<int>(rng.below(8));
    std::vector<int32_t> seen;
    for (int e = 0; e < length; ++e) {
      int32_t item;
      if (!seen.empty() && rng.uniform() < 0.5) {
        item = seen[seen.size() - 1 -
                    rng.below(static_cast<uint32_t>(std::min<size_t>(seen.size(), 2)))];
      } else {
        item = static_cast<int32_t>(rng.below(static_cast<uint32_t>(items)));
      }
      seen.push_back(item);
      log.items.push_back(item);
      log.times.push_back(time += 1);
    }
    log.offsets.push_back(static_cast<int64_t>(log.items.size()));
  }
  return log;
}

RepeatModel train_repeat_model(int window) {
  RepeatModel m;
  m.train = repeating_log(400, 60, 1);
  m.test = repeating_log(100, 60, 2);
  Params params;
  params.layers = {16};
  params.n_epochs = 2;
  params.batch_size = 16;
  params.n_sample = 8;
  params.repeat_window = window;
  params.repeat_holdout = 0.4;  // the head's own sessions (the GRU trains on the first 60%)
  params.threads = 1;
  params.step_shares = 1;
  m.model = Model::initialize(params, dense_items(60), m.train, "test");
  m.summary = train_model(m.model, m.train);
  return m;
}

TEST(RepeatHead, FitRaisesTheSessionsItemsOnRepeatingData) {
  const RepeatModel m = train_repeat_model(10);
  ASSERT_TRUE(m.summary.repeat_head.has_value());
  const RepeatFitReport& r = *m.summary.repeat_head;
  EXPECT_GT(r.predictions, 700);
  EXPECT_GT(r.repeat_targets, r.predictions / 3);
  // (3.35 -> 3.09 when written: the small GRU of 60 items has learned part of the repeats.)
  EXPECT_LT(r.held_out_loss_after, r.held_out_loss_before - 0.1);
  EXPECT_GT(r.held_out_mrr_after, r.held_out_mrr_before);
  // The last item and the one before get a bonus (half the targets are one of them).
  EXPECT_GT(m.model.weights.Br[0], 0.3f);
  EXPECT_GT(m.model.weights.Br[1], 0.3f);
  // And the evaluation gains from it against the same GRU without the head.
  Model plain = m.model;
  plain.weights.Wr.setZero();
  plain.weights.Br.setZero();
  EvalOptions options;
  options.threads = 1;
  const EvalResult with = evaluate(m.model, m.test, options);
  const EvalResult without = evaluate(plain, m.test, options);
  EXPECT_GT(with.mrr[0], without.mrr[0] + 0.05);
}

TEST(RepeatHead, EvaluatorRanksWithTheBonusesLikeBruteForce) {
  const RepeatModel m = train_repeat_model(4);
  const Predictor predictor(m.model);
  Predictor::Scratch scratch = predictor.make_scratch(1);
  // Brute force: one session at a time, every item's score with score_session().
  std::vector<float> scores(static_cast<size_t>(m.model.num_items()));
  const std::vector<float> no_bias(scores.size(), 0.0f);
  RankMetrics metrics({1, 5, 20});
  for (int64_t s = 0; s < m.test.num_sessions(); ++s) {
    const auto items = m.test.session_items(s);
    std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
    for (size_t e = 0; e + 1 < items.size(); ++e) {
      predictor.advance(state, items[e], scratch);
      predictor.score_session(state, items.first(e + 1), scores, scratch);
      const RankCounts c =
          count_rank(scores.data(), no_bias.data(), m.model.num_items(), items[e + 1]);
      metrics.add(rank_from_counts(c.greater, c.equal, TieMode::kStandard));
    }
  }
  EvalOptions options;
  options.cutoffs = {1, 5, 20};
  options.threads = 2;
  options.batch_size = 7;  // rows end and shrink often
  const EvalResult result = evaluate(m.model, m.test, options);
  ASSERT_EQ(result.predictions, metrics.count());
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(result.recall[k], metrics.recall(k), 1e-9);
    EXPECT_NEAR(result.mrr[k], metrics.mrr(k), 1e-6);
  }
}

TEST(RepeatHead, SessionItemsFirstRanksTheSessionsItemsByCountThenByScore) {
  const RepeatModel m = train_repeat_model(4);
  const Predictor predictor(m.model);
  Predictor::Scratch scratch = predictor.make_scratch(1);
  const auto n = static_cast<size_t>(m.model.num_items());
  std::vector<float> scores(n);
  RankMetrics metrics({1, 3, 20});
  int64_t repeats_first = 0, repeats = 0;
  for (int64_t s = 0; s < m.test.num_sessions(); ++s) {
    const auto items = m.test.session_items(s);
    std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
    std::vector<int> count(n, 0);
    for (size_t e = 0; e + 1 < items.size(); ++e) {
      predictor.advance(state, items[e], scratch);
      ++count[static_cast<size_t>(items[e])];
      predictor.score(state, scores);  // the model alone, without its head
      // The rank by hand: an item is above the target when it has a higher session count, or
      // the same count and a higher score.
      const auto t = static_cast<size_t>(items[e + 1]);
      int64_t greater = 0, equal = 0;
      for (size_t j = 0; j < n; ++j) {
        if (j == t) continue;
        if (count[j] != count[t]) {
          greater += count[j] > count[t] ? 1 : 0;
        } else {
          greater += scores[j] > scores[t] ? 1 : 0;
          equal += scores[j] == scores[t] ? 1 : 0;
        }
      }
      metrics.add(rank_from_counts(greater, equal, TieMode::kStandard));
      if (count[t] > 0) {
        ++repeats;
        repeats_first += greater < 10 ? 1 : 0;
      }
    }
  }
  ASSERT_GT(repeats, 100);
  EvalOptions options;
  options.cutoffs = {1, 3, 20};
  options.threads = 2;
  options.batch_size = 5;
  options.session_items_first = true;
  const EvalResult result = evaluate(m.model, m.test, options);
  ASSERT_EQ(result.predictions, metrics.count());
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(result.recall[k], metrics.recall(k), 1e-9);
    EXPECT_NEAR(result.mrr[k], metrics.mrr(k), 1e-6);
  }
  // Sessions of at most 10 events: every repeated target is among the first 10.
  EXPECT_EQ(repeats_first, repeats);
}

TEST(RepeatHead, HybridBaselineIsTheSessionItemsFirstEvaluation) {
  const RepeatModel m = train_repeat_model(4);
  testing::TempDir dir;
  const std::string path = dir.file("model.g4r");
  save_model(m.model, path);
  // Fitted from the file, with the model's own items: the evaluation of the baseline scorer is
  // the batched evaluator's --session-items-first.
  const auto hybrid = fit_baseline("hybrid", "model=" + path, m.train, m.model.items);
  EXPECT_EQ(hybrid->description(), "hybrid model=" + path);
  EvalOptions options;
  options.cutoffs = {1, 3, 20};
  options.threads = 2;
  const std::vector<int64_t> supports = item_supports(m.train, m.model.num_items());
  const EvalResult got =
      evaluate_scorer([&] { return hybrid->make_scorer(); }, supports, m.test, options);
  options.session_items_first = true;
  const EvalResult expected = evaluate(m.model, m.test, options);
  ASSERT_EQ(got.predictions, expected.predictions);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(got.recall[k], expected.recall[k], 1e-3) << k;
    EXPECT_NEAR(got.mrr[k], expected.mrr[k], 1e-3) << k;
  }
  // An item the model does not know: last among the items it knows, but still among the
  // session's items when the session holds it.
  ItemIndex items = m.model.items;
  const int32_t unknown = items.insert("not-in-the-model");
  const auto extended = make_hybrid_baseline(std::make_shared<const Model>(m.model), items, "h");
  auto scorer = extended->make_scorer();
  std::vector<float> scores(static_cast<size_t>(items.size()));
  scorer->start_session();
  scorer->add_event(2);
  scorer->score(scores);
  for (int32_t i = 0; i < unknown; ++i) {
    EXPECT_GT(scores[static_cast<size_t>(i)], scores[static_cast<size_t>(unknown)]) << i;
  }
  scorer->add_event(unknown);
  scorer->add_event(unknown);
  scorer->score(scores);
  for (int32_t i = 0; i < unknown; ++i) {
    EXPECT_LT(scores[static_cast<size_t>(i)], scores[static_cast<size_t>(unknown)]) << i;
  }
  EXPECT_GT(scores[2], scores[3] + kSessionItemStep / 2);
  // Bad parameters and the overload without item ids are clear errors.
  EXPECT_THROW(fit_baseline("hybrid", "", m.train, m.model.items), Error);
  EXPECT_THROW(fit_baseline("hybrid", "k=3", m.train, m.model.items), Error);
  EXPECT_THROW(fit_baseline("hybrid", "model=" + dir.file("none.g4r"), m.train, m.model.items),
               Error);
  EXPECT_THROW(fit_baseline("hybrid", "model=" + path, m.train, m.model.num_items()), Error);
}

TEST(RepeatHead, BatchRecommendationsAreTheTopOfTheScoresWithTheBonuses) {
  RepeatModel m = train_repeat_model(5);
  m.model.weights.Br.array() += 3.0f;  // bonuses large enough to reorder surely
  const Predictor predictor(m.model);
  Predictor::Scratch scratch = predictor.make_scratch(1);
  std::vector<float> scores(static_cast<size_t>(m.model.num_items()));
  for (const bool exclude_seen : {false, true}) {
    BatchRecommendOptions options;
    options.k = 7;
    options.threads = 2;
    options.exclude_seen = exclude_seen;
    const auto results = recommend_sessions(m.model, m.test, options);
    int64_t raised = 0;
    for (int64_t s = 0; s < m.test.num_sessions(); ++s) {
      const auto items = m.test.session_items(s);
      std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
      for (const int32_t item : items) predictor.advance(state, item, scratch);
      predictor.score_session(state, items, scores, scratch);
      if (exclude_seen) {
        for (const int32_t item : items)
          scores[static_cast<size_t>(item)] = -std::numeric_limits<float>::infinity();
      }
      std::vector<ScoredItem> expected(7);
      expected.resize(top_k(scores, 7, expected));
      const auto& got = results[static_cast<size_t>(s)];
      ASSERT_EQ(got.size(), expected.size());
      for (size_t r = 0; r < got.size(); ++r) {
        EXPECT_EQ(got[r].item, expected[r].item) << s << " " << r;
        EXPECT_NEAR(got[r].score, expected[r].score,
                    1e-4f * std::max(1.0f, std::abs(got[r].score)));
        raised += std::find(items.begin(), items.end(), got[r].item) != items.end() ? 1 : 0;
      }
    }
    // Without the exclusion the session's items fill the lists; with it, none is there.
    if (exclude_seen) {
      EXPECT_EQ(raised, 0);
    } else {
      EXPECT_GT(raised, 2 * m.test.num_sessions());
    }
  }
}

TEST(RepeatHead, IsSavedAndLoadedWithTheModel) {
  const RepeatModel m = train_repeat_model(6);
  testing::TempDir dir;
  const std::string path = dir.file("model.g4r");
  save_model(m.model, path);
  const Model loaded = load_model(path);
  EXPECT_EQ(loaded.params.repeat_window, 6);
  EXPECT_EQ(loaded.weights.Wr, m.model.weights.Wr);
  EXPECT_EQ(loaded.weights.Br, m.model.weights.Br);
}

TEST(RepeatHead, OffLeavesTheModelUnchanged) {
  // The same seed with and without the head: the same GRU weights (the head draws nothing).
  SessionLog train = repeating_log(100, 30, 3);
  Params params;
  params.layers = {8};
  params.n_epochs = 1;
  params.batch_size = 8;
  params.n_sample = 4;
  params.threads = 1;
  const Model a = Model::initialize(params, dense_items(30), train, "test");
  params.repeat_window = 5;
  const Model b = Model::initialize(params, dense_items(30), train, "test");
  EXPECT_EQ(a.weights.Wy, b.weights.Wy);
  EXPECT_EQ(a.weights.layers[0].Wx, b.weights.layers[0].Wx);
  EXPECT_EQ(a.weights.Wr.size(), 0);
  EXPECT_EQ(b.weights.Wr.rows(), kRepeatFeatures);
  EXPECT_EQ(Predictor(a).repeat_window(), 0);
  EXPECT_EQ(Predictor(b).repeat_window(), 5);
}

}  // namespace
}  // namespace gru4rec
