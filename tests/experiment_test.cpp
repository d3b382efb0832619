// A/B tests of models: variant parsing and assignment, the statistics, and the server's online
// measure of each variant (HitRate and MRR of the next event against the previous answer).
#include "gru4rec/serve/experiment.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/serve/server.h"
#include "test_support.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;

TEST(Variants, ParseNamesSourcesAndWeights) {
  VariantSpec v = parse_variant("control=models/a.g4r");
  EXPECT_EQ(v.name, "control");
  EXPECT_EQ(v.source, "models/a.g4r");
  EXPECT_EQ(v.weight, 1.0);
  v = parse_variant("new=dir:with:colons/b.g4r:0.25");
  EXPECT_EQ(v.source, "dir:with:colons/b.g4r");
  EXPECT_EQ(v.weight, 0.25);
  v = parse_variant("knn=vsknn,k=50,sample_size=500@train.tsv:2");
  EXPECT_EQ(v.source, "vsknn,k=50,sample_size=500@train.tsv");
  EXPECT_EQ(v.weight, 2.0);
  const auto baseline = parse_baseline_source(v.source);
  ASSERT_TRUE(baseline.has_value());
  EXPECT_EQ(baseline->algorithm, "vsknn");
  EXPECT_EQ(baseline->params, "k=50,sample_size=500");
  EXPECT_EQ(baseline->train_path, "train.tsv");
  EXPECT_FALSE(parse_baseline_source("models/model@v2.g4r").has_value());
  EXPECT_THROW(parse_baseline_source("pop@"), Error);
  for (const char* bad : {"no-equals", "=m.g4r", "a b=m.g4r", "a=", "a=m.g4r:0", "a=m.g4r:-1",
                          "a=m.g4r:nan", "a=:2"}) {
    EXPECT_THROW(parse_variant(bad), Error) << bad;
  }
}

TEST(Variants, AssignmentIsStickyAndFollowsTheWeights) {
  const std::vector<double> weights = {1, 2, 7};
  std::vector<int64_t> counts(3, 0);
  int64_t moved = 0;
  constexpr int64_t kIds = 100'000;
  for (int64_t i = 0; i < kIds; ++i) {
    const std::string id = fmt::format("visitor-{}", i);
    const size_t v = assign_variant("exp1", id, weights);
    ASSERT_EQ(assign_variant("exp1", id, weights), v);  // the same on every call
    counts[v]++;
    moved += assign_variant("exp2", id, weights) != v ? 1 : 0;
  }
  // Pearson's chi-square against the weights, 2 degrees of freedom: 13.82 is its 99.9% point.
  double chi2 = 0;
  for (size_t v = 0; v < 3; ++v) {
    const double expected = kIds * weights[v] / 10.0;
    chi2 += (counts[v] - expected) * (counts[v] - expected) / expected;
  }
  EXPECT_LT(chi2, 13.82) << counts[0] << " " << counts[1] << " " << counts[2];
  // Another experiment name reshuffles: independent draws differ with probability
  // 1 - (0.1^2 + 0.2^2 + 0.7^2) = 0.46.
  EXPECT_NEAR(static_cast<double>(moved) / kIds, 0.46, 0.01);
  // Across processes and releases: the assignment is a fixed function (pinned values).
  EXPECT_EQ(assign_variant("default", "a", {1, 1}), assign_variant("default", "a", {5, 5}));
  EXPECT_EQ(assign_variant("x", "only", {3}), 0u);
  std::string pins;
  for (const char* id : {"a", "b", "visitor-1", "visitor-2", "visitor-3", "s", "0", "caf\xC3\xA9"})
    pins += std::to_string(assign_variant("default", id, {1, 1, 1}));
  for (const char* id : {"a", "b", "visitor-1", "visitor-2"})
    pins += std::to_string(assign_variant("spring-test", id, {0.2, 0.8}));
  EXPECT_EQ(pins, "212102121111");
}

VariantCounts counts_with(uint64_t measured, std::map<size_t, uint64_t> hits_at_rank) {
  VariantCounts c;
  c[VariantCounts::kMeasured] = measured;
  for (const auto& [rank, n] : hits_at_rank) c[VariantCounts::kHit1 + rank - 1] = n;
  return c;
}

TEST(ExperimentStatistics, MatchHandComputedValues) {
  // 4 measured events: hits at ranks 1 and 2, two misses.
  const VariantCounts a = counts_with(4, {{1, 1}, {2, 1}});
  const Estimate hr = hit_rate(a);
  EXPECT_DOUBLE_EQ(hr.value, 0.5);
  // Wilson's interval for 2 of 4 (tabulated: 0.1500 to 0.8500).
  EXPECT_NEAR(hr.low, 0.1500, 1e-4);
  EXPECT_NEAR(hr.high, 0.8500, 1e-4);
  // Reciprocal ranks 1, 0.5, 0, 0: mean 0.375, sample variance 0.6875 / 3.
  const Estimate mrr = mean_reciprocal_rank(a);
  EXPECT_DOUBLE_EQ(mrr.value, 0.375);
  EXPECT_NEAR(mrr.high, 0.375 + 1.959964 * std::sqrt(0.6875 / 3 / 4), 1e-6);
  EXPECT_EQ(mrr.low, 0.0);  // clamped
  // 3 of 4 against 2 of 4: difference 0.25, standard error sqrt(0.25/4 + 0.1875/4).
  const VariantCounts b = counts_with(4, {{1, 3}});
  const Difference d = hit_rate_difference(a, b);
  const double se = std::sqrt(0.25 / 4 + 0.1875 / 4);
  EXPECT_DOUBLE_EQ(d.value, 0.25);
  EXPECT_NEAR(d.low, 0.25 - 1.959964 * se, 1e-6);
  EXPECT_NEAR(d.p_value, 0.4497, 1e-4);  // two-sided normal tail of z = 0.7559
  // MRR: 0.75 - 0.375, variances 0.25 and 0.6875 / 3 (each over its 4 events).
  const Difference dm = mrr_difference(a, b);
  EXPECT_DOUBLE_EQ(dm.value, 0.375);
  const double sem = std::sqrt(0.25 / 4 + 0.6875 / 3 / 4);
  EXPECT_NEAR(dm.p_value, std::erfc(0.375 / sem / std::sqrt(2.0)), 1e-12);
  // Nothing measured: no difference can be stated.
  EXPECT_TRUE(std::isnan(hit_rate_difference(a, VariantCounts{}).p_value));
  // Latency buckets: 99 answers within 1 ms, one of 0.2 s.
  VariantCounts l;
  for (int i = 0; i < 99; ++i) l.add_latency(0.0008);
  l.add_latency(0.2);
  EXPECT_EQ(l.requests(), 100u);
  EXPECT_EQ(l.latency_quantile(0.5), 0.001);
  EXPECT_EQ(l.latency_quantile(0.99), 0.001);
  EXPECT_EQ(l.latency_quantile(1.0), 0.5);
}

class AbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    for (int m = 0; m < 2; ++m) {
      save_model(testing::train_small_model(
                     fmt::format("threads=1,n_epochs=1,layers={},n_sample=16,batch_size=16,"
                                 "loss=cross-entropy,seed={}",
                                 m == 0 ? 16 : 24, m + 1),
                     300),
                 dir_->file(fmt::format("m{}.g4r", m)));
    }
    // The training data of the models (the same generator settings), for baselines.
    SyntheticOptions options;
    options.num_items = 60;
    options.num_sessions = 300;
    options.num_topics = 5;
    options.seed = 3;
    std::ofstream(dir_->file("train.tsv")) << generate_synthetic_data(options).train_tsv;
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string path(const std::string& name) { return dir_->file(name); }
  static Json call(ServeApp& app, std::string_view method, std::string_view target,
                   std::string_view body = "", int* status = nullptr) {
    const Response r = app.handle(method, target, "", body);
    if (status != nullptr) *status = r.status;
    return Json::parse(r.body);
  }
  static Json event(ServeApp& app, const std::string& session, const std::string& item, int k = 5) {
    return call(app, "POST", "/v1/sessions/" + session + "/events",
                fmt::format(R"({{"item":"{}","k":{}}})", item, k));
  }
  static std::vector<std::string> items_of(const Json& answer) {
    std::vector<std::string> ids;
    for (const Json& r : answer["recommendations"]) ids.push_back(r["item"]);
    return ids;
  }

  static testing::TempDir* dir_;
};
testing::TempDir* AbTest::dir_ = nullptr;

TEST_F(AbTest, SessionsGetTheirVariantsModelStickily) {
  ServerOptions options;
  options.variants = {parse_variant("a=" + path("m0.g4r")), parse_variant("b=" + path("m1.g4r"))};
  options.experiment = "sticky";
  ServeApp app(options, "");
  ServeApp only_a(ServerOptions{}, path("m0.g4r")), only_b(ServerOptions{}, path("m1.g4r"));
  const SessionModel& model = *app.model_of(0);
  std::map<std::string, int> seen;
  for (int s = 0; s < 40; ++s) {
    const std::string id = fmt::format("s{}", s);
    const size_t expected = assign_variant("sticky", id, {1, 1});
    for (int e = 0; e < 3; ++e) {
      const std::string item = model.item_id((s * 7 + e * 3) % model.num_items());
      const Json got = event(app, id, item);
      ASSERT_EQ(got["variant"], expected == 0 ? "a" : "b");
      // Exactly what a server of that model alone answers.
      ASSERT_EQ(got["recommendations"],
                event(expected == 0 ? only_a : only_b, id, item)["recommendations"]);
    }
    seen[expected == 0 ? "a" : "b"]++;
  }
  EXPECT_GT(seen["a"], 5);
  EXPECT_GT(seen["b"], 5);
  const Json summary = call(app, "GET", "/v1/model");
  ASSERT_EQ(summary["variants"].size(), 2u);
  EXPECT_EQ(summary["variants"][1]["name"], "b");
  EXPECT_NE(summary["variants"][0]["model_id"], summary["variants"][1]["model_id"]);
  const std::string metrics = app.metrics_text();
  EXPECT_NE(
      metrics.find("gru4rec_variant_events_total{variant=\"b\"} " + std::to_string(seen["b"] * 3)),
      std::string::npos)
      << metrics;
  // Stateless requests name the variant to use.
  EXPECT_EQ(call(app, "POST", "/v1/recommend",
                 fmt::format(R"({{"items":["{}"],"variant":"b"}})", model.item_id(1)))["variant"],
            "b");
  int status = 0;
  call(app, "POST", "/v1/recommend", R"({"items":[],"variant":"zzz"})", &status);
  EXPECT_EQ(status, 404);
}

TEST_F(AbTest, MeasuresEachEventAgainstThePreviousAnswer) {
  ServeApp app(ServerOptions{}, path("m0.g4r"));
  const SessionModel& model = *app.model_of(0);
  // e1: no previous answer. e2: the 3rd item of the answer to e1 (a hit at rank 3).
  const Json a1 = event(app, "v", model.item_id(0));
  const Json a2 = event(app, "v", items_of(a1)[2]);
  // e3: an item not in the answer to e2 (a miss).
  std::string outside;
  for (int32_t i = 0; i < model.num_items() && outside.empty(); ++i) {
    const auto listed = items_of(a2);
    if (std::find(listed.begin(), listed.end(), model.item_id(i)) == listed.end())
      outside = model.item_id(i);
  }
  const Json a3 = event(app, "v", outside);
  // e4: an item the model does not know: counted apart, not measured, the state unchanged.
  const Json a4 = event(app, "v", "no-such-item");
  EXPECT_EQ(items_of(a4), items_of(a3));
  // e5: the first item of the last answer (rank 1). e6 with k=50, e7 at its rank 25: beyond
  // the measured cutoff of 20, a miss.
  const Json a5 = event(app, "v", items_of(a4)[0]);
  const Json a6 = event(app, "v", items_of(a5)[1], 50);
  ASSERT_EQ(a6["recommendations"].size(), 50u);
  event(app, "v", items_of(a6)[24]);
  // A second session, one event only: not measured.
  event(app, "w", model.item_id(5));

  const Json e = call(app, "GET", "/v1/experiments");
  ASSERT_EQ(e["variants"].size(), 1u);
  const Json& v = e["variants"][0];
  EXPECT_EQ(v["events"], 8);
  EXPECT_EQ(v["unknown_items"], 1);
  EXPECT_EQ(v["sessions"], 2);
  // Measured: e2 (rank 3), e3 (miss), e5 (rank 1), e6 (rank 2), e7 (miss).
  EXPECT_EQ(v["measured"], 5);
  EXPECT_EQ(v["hits"], 3);
  EXPECT_DOUBLE_EQ(v["hit_rate"]["value"].get<double>(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(v["mrr"]["value"].get<double>(), (1.0 / 3 + 1.0 + 1.0 / 2) / 5);
  EXPECT_EQ(v["latency_seconds"]["requests"], 8);
  EXPECT_EQ(e["counted_by"], "this process");
  EXPECT_TRUE(e["comparisons"].empty());
}

TEST_F(AbTest, BaselinesServeAsVariants) {
  ServerOptions options;
  options.variants = {parse_variant("gru=" + path("m0.g4r")),
                      parse_variant("pop=pop@" + path("train.tsv")),
                      parse_variant("knn=vsknn,k=50@" + path("train.tsv"))};
  ServeApp app(options, "");
  EXPECT_EQ(app.model_of(1)->state_size(), 0);
  // pop: the items by training events (counted here from the file), whatever the session.
  std::map<std::string, int> support;
  std::ifstream in(path("train.tsv"));
  std::string line;
  std::getline(in, line);  // header: SessionId, ItemId, Time
  while (std::getline(in, line)) {
    const size_t a = line.find('\t'), b = line.find('\t', a + 1);
    support[line.substr(a + 1, b - a - 1)]++;
  }
  const Json pop =
      call(app, "POST", "/v1/recommend",
           R"({"items":[")" + app.model_of(1)->item_id(3) + R"("],"variant":"pop","k":5})");
  int previous = 1 << 30;
  for (const std::string& id : items_of(pop)) {
    EXPECT_LE(support[id], previous);
    previous = support[id];
  }
  int top = 0;
  for (const auto& [id, n] : support) top = std::max(top, n);
  EXPECT_EQ(support[items_of(pop)[0]], top);
  // vsknn: what the offline evaluation's scorer ranks first, for the same session.
  ItemIndex items;
  const SessionLog train = read_training_log(path("train.tsv"), ReadOptions{}, items);
  const auto knn = fit_baseline("vsknn", "k=50", train, items.size());
  auto scorer = knn->make_scorer();
  scorer->start_session();
  const std::vector<int32_t> session = {4, 9, 4, 17};
  Json ids = Json::array();
  for (int32_t item : session) {
    scorer->add_event(item);
    ids.push_back(items.id(item));
  }
  std::vector<float> scores(static_cast<size_t>(items.size()));
  scorer->score(scores);
  std::vector<ScoredItem> best(10);
  top_k(scores, 10, best);
  const Json got = call(app, "POST", "/v1/recommend",
                        Json{{"items", ids}, {"variant", "knn"}, {"k", 10}}.dump());
  for (size_t r = 0; r < 10; ++r) EXPECT_EQ(items_of(got)[r], items.id(best[r].item)) << r;
  // hybrid: the session's items first (4 twice, then 9 and 17 by the model), then the model's
  // ranking; the same as the offline scorer.
  {
    ServerOptions hybrid_options;
    hybrid_options.variants = {
        parse_variant("hyb=hybrid,model=" + path("m0.g4r") + "@" + path("train.tsv"))};
    ServeApp hybrid_app(hybrid_options, "");
    const auto hybrid = fit_baseline("hybrid", "model=" + path("m0.g4r"), train, items);
    auto hybrid_scorer = hybrid->make_scorer();
    hybrid_scorer->start_session();
    for (int32_t item : session) hybrid_scorer->add_event(item);
    hybrid_scorer->score(scores);
    top_k(scores, 10, best);
    const Json answer =
        call(hybrid_app, "POST", "/v1/recommend", Json{{"items", ids}, {"k", 10}}.dump());
    ASSERT_EQ(items_of(answer).size(), 10u);
    EXPECT_EQ(items_of(answer)[0], items.id(4));
    for (size_t r = 0; r < 10; ++r) EXPECT_EQ(items_of(answer)[r], items.id(best[r].item)) << r;
  }
  // Live sessions of every variant are measured, and compared with the first variant.
  for (int s = 0; s < 30; ++s) {
    const std::string id = fmt::format("live{}", s);
    Json answer = event(app, id, items.id(s % items.size()));
    for (int e = 0; e < 4; ++e) answer = event(app, id, items_of(answer)[static_cast<size_t>(e)]);
  }
  const Json e = call(app, "GET", "/v1/experiments");
  ASSERT_EQ(e["comparisons"].size(), 2u);
  EXPECT_EQ(e["comparisons"][1]["variant"], "knn");
  EXPECT_EQ(e["comparisons"][1]["control"], "gru");
  uint64_t measured = 0;
  for (const Json& v : e["variants"]) {
    measured += v["measured"].get<uint64_t>();
    // Every event followed the answer's ranks 1..4 in turn: hits at each.
    EXPECT_EQ(v["hits"], v["measured"]);
  }
  EXPECT_EQ(measured, 30u * 4);
}

TEST_F(AbTest, RefusesAmbiguousOrBrokenVariants) {
  ServerOptions options;
  options.variants = {parse_variant("a=" + path("m0.g4r"))};
  EXPECT_THROW(ServeApp(options, path("m0.g4r")), Error);  // MODEL and --variant
  EXPECT_THROW(ServeApp(ServerOptions{}, ""), Error);      // neither
  options.variants.push_back(parse_variant("a=" + path("m1.g4r")));
  EXPECT_THROW(ServeApp(options, ""), Error);  // a name twice
  options.variants = {parse_variant("a=" + path("m0.g4r")),
                      parse_variant("b=vsknn@" + path("missing.tsv"))};
  EXPECT_THROW(ServeApp(options, ""), Error);
  options.variants = {parse_variant("a=" + path("m0.g4r"))};
  options.experiment = "bad name";
  EXPECT_THROW(ServeApp(options, ""), Error);
}

}  // namespace
}  // namespace gru4rec
