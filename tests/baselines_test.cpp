#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"
#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/data/synthetic.h"
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

// A log with repeats and whole days between sessions (all events of a session at one time):
//   N1 (day 3) a b c d;  N2 (day 2) c a e;  N3 (day 1) b e b;  N4 (day 4) d e.
// Items in order of first appearance: a=0, b=1, c=2, d=3, e=4. Supports a 2, b 3, c 2, d 2, e 3,
// so the fallback of an unscored item is support / 8. Sessions holding: a 2, b 2, c 2, d 2, e 3
// of 4. Recency (first event): N4 > N1 > N2 > N3. Distinct items: |N1| 4, |N2| 3, |N3| 2, |N4| 2.
constexpr const char* kDays =
    "SessionId\tItemId\tTime\n"
    "1\ta\t259200\n1\tb\t259200\n1\tc\t259200\n1\td\t259200\n"
    "2\tc\t172800\n2\ta\t172800\n2\te\t172800\n"
    "3\tb\t86400\n3\te\t86400\n3\tb\t86400\n"
    "4\td\t345600\n4\te\t345600\n";
constexpr int32_t kA = 0, kB = 1, kC = 2, kD = 3, kE = 4;

struct Log {
  explicit Log(std::string_view text) {
    train = parse_training_log(text, "train.tsv", ReadOptions{}, items);
  }
  std::unique_ptr<Baseline> fit(std::string_view algorithm, std::string_view params) const {
    return fit_baseline(algorithm, params, train, items.size());
  }
  ItemIndex items;
  SessionLog train;
};

std::vector<float> scores_of(const Baseline& baseline, const std::vector<int32_t>& session,
                             size_t num_items) {
  auto scorer = baseline.make_scorer();
  scorer->start_session();
  for (int32_t item : session) scorer->add_event(item);
  std::vector<float> scores(num_items);
  scorer->score(scores);
  return scores;
}

// stan and vstan give a scored item 1 + ln(score / the smallest score of the prediction);
// `raw` holds the hand-computed scores (0: unscored, then support / 8). Outputs are at most
// about 5, so a float holds them within 2.4e-7; 1e-6 leaves room for the sums' rounding.
void expect_stan_scores(const std::vector<float>& got, const std::vector<double>& raw,
                        const std::vector<int64_t>& supports, double tolerance = 1e-6) {
  double smallest = 1e300;
  for (double r : raw)
    if (r > 0) smallest = std::min(smallest, r);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] > 0) {
      EXPECT_NEAR(got[i], 1 + std::log(raw[i] / smallest), tolerance) << "item " << i;
    } else {
      EXPECT_FLOAT_EQ(got[i], static_cast<float>(supports[i]) / 8) << "item " << i;
    }
  }
}

const std::vector<int64_t> kDaysSupports{2, 3, 2, 2, 3};
double ex(double x) {
  return std::exp(x);
}

TEST(BaselinesStanTest, ThreeFactorsByHand) {
  // Session a b, lambda_spw=1: w1(a) = e^-1 (position 1 of 2), w1(b) = 1; |s| = 2.
  //   sim(N1) = (1 + e^-1) / sqrt(2 * 4) = 0.48362, sim(N2) = e^-1 / sqrt(2 * 3) = 0.15019,
  //   sim(N3) = 1 / sqrt(2 * 2) = 0.5 (N4 shares nothing).
  // lambda_snh=1 day, t(s) = day 4: w2 = e^-1 (N1), e^-2 (N2), e^-3 (N3); with k=3 all three
  // vote with W1 = 0.48362 e^-1 = 0.17791, W2 = 0.15019 e^-2 = 0.02033, W3 = 0.5 e^-3 = 0.02489.
  // lambda_inh=1, w3 = e^-distance to the match r:
  //   N1 a b c d, r = b (the more recent of a, b): a e^-1, b 1, c e^-1, d e^-2;
  //   N2 c a e, r = a: c e^-1, a 1, e e^-1;
  //   N3 b e b (repeats), r = b at 1 and 3: e is 1 from both, b 1.
  // a = W1 e^-1 + W2 = 0.08578, b = W1 + W3 = 0.20281, c = W1 e^-1 + W2 e^-1 = 0.07293,
  // d = W1 e^-2 = 0.02408, e = W2 e^-1 + W3 e^-1 = 0.01664 (the smallest: 1).
  const Log log(kDays);
  const auto stan = log.fit("stan", "k=3,lambda_spw=1,lambda_snh=1,lambda_inh=1");
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), e3 = std::exp(-3.0);
  const double w1 = (1 + e1) / std::sqrt(8.0) * e1, w2 = e1 / std::sqrt(6.0) * e2, w3 = 0.5 * e3;
  const std::vector<float> s = scores_of(*stan, {kA, kB}, 5);
  expect_stan_scores(s, {w1 * e1 + w2, w1 + w3, w1 * e1 + w2 * e1, w1 * e2, w2 * e1 + w3 * e1},
                     kDaysSupports);
  EXPECT_FLOAT_EQ(s[kE], 1.0f);
  // lambda_snh=0.01 days: the neighbours' weights span e^-200 (N1 e^-100, N2 e^-200, N3 e^-300),
  // far below a float's 2^-24 next to 1 (as 1 + score all five would round to 1 and tie); the
  // log-ratio outputs keep them apart. They reach about 100, where a float is within 3.9e-6.
  const auto steep = log.fit("stan", "k=3,lambda_spw=1,lambda_snh=0.01,lambda_inh=1");
  const double v1 = (1 + e1) / std::sqrt(8.0) * std::exp(-100.0),
               v2 = e1 / std::sqrt(6.0) * std::exp(-200.0), v3 = 0.5 * std::exp(-300.0);
  expect_stan_scores(scores_of(*steep, {kA, kB}, 5),
                     {v1 * e1 + v2, v1 + v3, v1 * e1 + v2 * e1, v1 * e2, v2 * e1 + v3 * e1},
                     kDaysSupports, 1e-5);
  // The defaults are echoed.
  EXPECT_EQ(log.fit("stan", "")->description(),
            "stan k=100,lambda_inh=2.05,lambda_snh=5,lambda_spw=1.02,sample_size=1000");
}

TEST(BaselinesStanTest, RepeatsInTheSessionTheCutsAndRecency) {
  const Log log(kDays);
  // Session a b a: a weighs as its last position (w1 1), b e^-1. sim(N1) = (1 + e^-1) / sqrt(8)
  // = 0.48, sim(N2) = 1 / sqrt(6) = 0.41, sim(N3) = e^-1 / 2 = 0.18; k=1 keeps N1, whose match
  // is now a (position 1 of a b c d): w3 = e^-0, e^-1, e^-2, e^-3, so the outputs
  // 1 + ln(w3 / e^-3) are 4, 3, 2, 1; e is not in N1.
  const auto one = log.fit("stan", "k=1,lambda_spw=1,lambda_snh=0,lambda_inh=1");
  expect_stan_scores(scores_of(*one, {kA, kB, kA}, 5), {1, ex(-1), ex(-2), ex(-3), 0},
                     kDaysSupports);
  // Session a b without recency: N3 (0.5) beats N1 (0.48); r = b, e is 1 away:
  // b 1 + ln(1 / e^-1) = 2, e 1, the others unscored.
  expect_stan_scores(scores_of(*one, {kA, kB}, 5), {0, 1, 0, 0, ex(-1)}, kDaysSupports);
  // lambda_snh=1 day favours the more recent N1 (day 3): 0.48 e^-1 = 0.18 against N3's
  // (day 1) 0.5 e^-3 = 0.025. N1's match is b: a e^-1, b 1, c e^-1, d e^-2.
  const std::vector<double> n1{ex(-1), 1, ex(-1), ex(-2), 0};
  const auto recent = log.fit("stan", "k=1,lambda_spw=1,lambda_snh=1,lambda_inh=1");
  expect_stan_scores(scores_of(*recent, {kA, kB}, 5), n1, kDaysSupports);
  // sample_size=2 keeps the two most recent candidates, N1 (day 3) and N2 (day 2): N1 again.
  const auto sampled = log.fit("stan", "k=1,sample_size=2,lambda_spw=1,lambda_snh=0,lambda_inh=1");
  expect_stan_scores(scores_of(*sampled, {kA, kB}, 5), n1, kDaysSupports);
  // k=2 without recency: N3 (0.5) and N1 (0.48362) vote: b = 0.5 + 0.48362, e = 0.5 e^-1,
  // a = c = 0.48362 e^-1, d = 0.48362 e^-2.
  const auto two = log.fit("stan", "k=2,lambda_spw=1,lambda_snh=0,lambda_inh=1");
  const double s1 = (1 + ex(-1)) / std::sqrt(8.0);
  expect_stan_scores(scores_of(*two, {kA, kB}, 5),
                     {s1 * ex(-1), 0.5 + s1, s1 * ex(-1), s1 * ex(-2), 0.5 * ex(-1)},
                     kDaysSupports);
}

TEST(BaselinesStanTest, VstanAddsIdfAndTheMatchsRecency) {
  const Log log(kDays);
  // Session a e, lambda_spw=1: w1(a) = e^-1, w1(e) = 1. With lambda_idf=1 a shared item adds
  // w1 (1 + ln(4 / N_i)): a e^-1 (1 + ln 2) = 0.62290, e 1 + ln(4/3) = 1.28768.
  //   sim(N2: a, e) = 1.91058 / sqrt(6) = 0.78000, sim(N3) = sim(N4) = 1.28768 / 2 = 0.64384,
  //   sim(N1: a) = 0.62290 / sqrt(8) = 0.22023. k=2: N2 and, of the tied N3 and N4, the more
  //   recent N4. Both match e (lambda_ipw's factor is 1): N2 c a e gives c e^-2, a e^-1, e 1;
  //   N4 d e gives d e^-1, e 1. a = S2 e^-1, c = S2 e^-2, d = S4 e^-1, e = S2 + S4.
  const auto idf = log.fit("vstan", "k=2,lambda_spw=1,lambda_snh=0,lambda_inh=1,lambda_idf=1");
  const double s2 = (ex(-1) * (1 + std::log(2.0)) + 1 + std::log(4.0 / 3)) / std::sqrt(6.0);
  const double s4 = (1 + std::log(4.0 / 3)) / 2;
  expect_stan_scores(scores_of(*idf, {kA, kE}, 5),
                     {s2 * ex(-1), 0, s2 * ex(-2), s4 * ex(-1), s2 + s4}, kDaysSupports);
  // Without IDF: sim(N2) = (e^-1 + 1) / sqrt(6), sim(N4) = 1 / 2; d against c moves from
  // ln(0.64384 e / 0.78000) to ln(0.5 e / 0.55844).
  const auto plain = log.fit("vstan", "k=2,lambda_spw=1,lambda_snh=0,lambda_inh=1,lambda_idf=0");
  const double p2 = (ex(-1) + 1) / std::sqrt(6.0), p4 = 0.5;
  expect_stan_scores(scores_of(*plain, {kA, kE}, 5),
                     {p2 * ex(-1), 0, p2 * ex(-2), p4 * ex(-1), p2 + p4}, kDaysSupports);
  // Session e a, lambda_ipw=1, no IDF: sim(N2) = (1 + e^-1) / sqrt(6) = 0.55844, sim(N1) =
  // 1 / sqrt(8) = 0.35355, sim(N3) = sim(N4) = e^-1 / 2 (N4 the more recent); k=3 takes N2, N1,
  // N4. N2 and N1 match a, the last event (factor 1); N4 matches e, one event back: e^-1.
  //   N2 c a e: c e^-1, a 1, e e^-1; N1 a b c d: a 1, b e^-1, c e^-2, d e^-3;
  //   N4 d e: d e^-1, e 1, all times e^-1 * sim(N4).
  const auto ipw =
      log.fit("vstan", "k=3,lambda_spw=1,lambda_snh=0,lambda_inh=1,lambda_idf=0,lambda_ipw=1");
  const double q2 = (1 + ex(-1)) / std::sqrt(6.0), q1 = 1 / std::sqrt(8.0),
               q4 = ex(-1) / 2 * ex(-1);
  expect_stan_scores(scores_of(*ipw, {kE, kA}, 5),
                     {q2 + q1, q1 * ex(-1), q2 * ex(-1) + q1 * ex(-2), q1 * ex(-3) + q4 * ex(-1),
                      q2 * ex(-1) + q4},
                     kDaysSupports);
  // lambda_ipw=0 and lambda_idf=0: stan exactly.
  const auto off = log.fit("vstan", "lambda_ipw=0,lambda_idf=0,lambda_snh=1");
  const auto stan = log.fit("stan", "lambda_snh=1");
  for (const auto& session : std::vector<std::vector<int32_t>>{{kA}, {kE, kA}, {kB, kE, kB}})
    EXPECT_EQ(scores_of(*off, session, 5), scores_of(*stan, session, 5));
}

TEST(BaselinesSrTest, RuleWeightsStepsAndPruningByHand) {
  // kTrain-like sessions a b c, b c, a c d, b d: rules with weight 1 / distance
  //   a b c: a->b 1, a->c 1/2, b->c 1;  b c: b->c 1;  a c d: a->c 1, a->d 1/2, c->d 1;  b d:
  //   b->d 1.
  // a: b 1, c 3/2, d 1/2.  b: c 2, d 1.  c: d 1.
  const Log log(kTrain);
  const auto sr = log.fit("sr", "pruning=0");
  // Only the last item counts (b a -> a's rules); a has no rule to itself.
  EXPECT_EQ(scores_of(*sr, {kB, kA}, 4), (std::vector<float>{kFallbackA, 2.0f, 2.5f, 1.5f}));
  EXPECT_EQ(scores_of(*sr, {kB}, 4), (std::vector<float>{kFallbackA, kFallbackB, 3.0f, 2.0f}));
  // steps=1: only neighbours: a->b 1, a->c 1 (a c d); a->d is 2 steps.
  const auto near = log.fit("sr", "steps=1");
  EXPECT_EQ(scores_of(*near, {kA}, 4), (std::vector<float>{kFallbackA, 2.0f, 2.0f, kFallbackD}));
  // pruning=2 keeps a's two strongest, c 3/2 and b 1; pruning=1 only c.
  const auto two = log.fit("sr", "pruning=2");
  EXPECT_EQ(scores_of(*two, {kA}, 4), (std::vector<float>{kFallbackA, 2.0f, 2.5f, kFallbackD}));
  const auto one = log.fit("sr", "pruning=1");
  EXPECT_EQ(scores_of(*one, {kA}, 4),
            (std::vector<float>{kFallbackA, kFallbackB, 2.5f, kFallbackD}));
  EXPECT_EQ(log.fit("sr", "")->description(), "sr pruning=20,steps=10");
}

TEST(BaselinesSrTest, RepeatedItemsAreRulesToo) {
  // One session a b a c (a=0, b=1, c=2; supports 2, 1, 1, fallback support / 6):
  //   positions 1-2 a->b 1, 1-3 a->a 1/2, 1-4 a->c 1/3, 2-3 b->a 1, 2-4 b->c 1/2, 3-4 a->c 1.
  // a: b 1, a 1/2, c 4/3; b: a 1, c 1/2. With steps=2 the pair 1-4 is out: a->c 1.
  const Log log("SessionId\tItemId\tTime\n1\ta\t1\n1\tb\t2\n1\ta\t3\n1\tc\t4\n");
  const auto sr = log.fit("sr", "");
  EXPECT_EQ(scores_of(*sr, {0}, 3), (std::vector<float>{1.5f, 2.0f, 1 + 4.0f / 3}));
  EXPECT_EQ(scores_of(*sr, {2, 1}, 3), (std::vector<float>{2.0f, 1.0f / 6, 1.5f}));
  const auto near = log.fit("sr", "steps=2");
  EXPECT_EQ(scores_of(*near, {0}, 3), (std::vector<float>{1.5f, 2.0f, 2.0f}));
}

TEST(BaselinesSynthetic, EveryBaselineFitsScoresAndBeatsPopOnSequentialData) {
  // Synthetic sessions follow item-to-item transitions, so every method that looks at the
  // session ranks the next item better than the most popular items; pop itself is the floor.
  SyntheticOptions options;
  options.num_items = 400;
  options.num_sessions = 3000;
  const SyntheticData data = generate_synthetic_data(options);
  ItemIndex items;
  const SessionLog train = parse_training_log(data.train_tsv, "train.tsv", ReadOptions{}, items);
  ReadReport report;
  const SessionLog test = parse_test_log(data.test_tsv, "test.tsv", ReadOptions{}, items, &report);
  const std::vector<int64_t> supports = item_supports(train, items.size());
  EvalOptions eval;
  eval.cutoffs = {20};
  eval.threads = 1;
  double pop_recall = -1;
  for (const std::string& name : data_only_baseline_names()) {
    const auto baseline = fit_baseline(name, "", train, items.size());
    const EvalResult result =
        evaluate_scorer([&] { return baseline->make_scorer(); }, supports, test, eval);
    EXPECT_EQ(result.predictions, count_transitions(test)) << name;
    if (name == "pop") {
      pop_recall = result.recall[0];
    } else {
      EXPECT_GT(result.recall[0], pop_recall) << name;
    }
  }
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
  EXPECT_NE(message("sr", "step=3").find("no parameter"), std::string::npos);
  EXPECT_NE(message("sr", "steps=0").find("from 1 to"), std::string::npos);
  EXPECT_NE(message("sr", "pruning=-1").find("from 0 to"), std::string::npos);
  EXPECT_NE(message("sr", "pruning=2.5").find("an integer"), std::string::npos);
  EXPECT_NE(message("stan", "lambda_ipw=1").find("no parameter"), std::string::npos);
  EXPECT_NE(message("stan", "k=0").find("from 1 to"), std::string::npos);
  EXPECT_NE(message("stan", "lambda_snh=-1").find("from 0 to"), std::string::npos);
  EXPECT_NE(message("stan", "sample_size=1.5").find("an integer"), std::string::npos);
  EXPECT_NE(message("vstan", "lambda_idf=-0.5").find("from 0 to"), std::string::npos);
  EXPECT_NE(message("vstan", "lambda=1").find("no parameter"), std::string::npos);
}

}  // namespace
}  // namespace gru4rec
