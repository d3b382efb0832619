// The serving layer: session store, request handling (ServeApp) and the HTTP server on an
// ephemeral loopback port.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <thread>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/core/random.h"
#include "gru4rec/core/text.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/serve/server.h"
#include "gru4rec/serve/server_runner.h"
#include "gru4rec/serve/session_store.h"
#include "gru4rec/train/trainer.h"
#include "gru4rec/train/warm_start.h"
#include "http_test_client.h"
#include "test_support.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;

TEST(SessionStore, EvictsTheLeastRecentlyUsedAndExpiresIdleSessions) {
  double now = 0;
  MemorySessionStore store(3, 10.0, 1, [&] { return now; });
  for (const char* id : {"a", "b", "c"})
    store.update(id, [](SessionState&, bool created) { EXPECT_TRUE(created); });
  SessionState out;
  EXPECT_TRUE(store.get("a", out));  // "a" is now the most recent: "b" is the LRU
  store.update("d", [](SessionState& s, bool) { s.seen.push_back(7); });
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.get("b", out));
  EXPECT_TRUE(store.get("d", out));
  EXPECT_EQ(out.seen, std::vector<int32_t>{7});
  EXPECT_EQ(store.evictions(), 1u);
  now = 5;
  EXPECT_TRUE(store.get("a", out));
  now = 12;  // "c" and "d" idle for more than 10 s, "a" for 7
  EXPECT_EQ(store.expire(), 2u);
  EXPECT_TRUE(store.get("a", out));
  EXPECT_TRUE(store.erase("a"));
  EXPECT_FALSE(store.erase("a"));
  EXPECT_EQ(store.size(), 0u);
  // A small bound holds that many sessions (not fewer, because of sharding).
  MemorySessionStore small(10, 100.0);
  for (int i = 0; i < 10; ++i) small.update("s" + std::to_string(i), [](SessionState&, bool) {});
  EXPECT_EQ(small.size(), 10u);
  EXPECT_EQ(small.evictions(), 0u);
}

TEST(SessionStore, AFloodOfOneRequestSessionsLeavesReturningSessionsAlone) {
  MemorySessionStore store(100, 1000.0, 1);
  // 50 real sessions, each with two events.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 50; ++i)
      store.update(fmt::format("real-{}", i), [](SessionState& s, bool) { s.seen.push_back(1); });
  }
  // 10,000 random ids, one request each.
  for (int i = 0; i < 10'000; ++i)
    store.update(fmt::format("random-{}", i), [](SessionState&, bool) {});
  EXPECT_EQ(store.size(), 100u);
  SessionState out;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store.get(fmt::format("real-{}", i), out)) << i;
    EXPECT_EQ(out.seen.size(), 2u);
  }
  EXPECT_FALSE(store.get("random-0", out));
  EXPECT_TRUE(store.get("random-9999", out));
  // The protected segment is bounded (80% of 100): 40 more returning sessions push the 11
  // least recently used back on probation (real-0 to real-10), where the next new sessions
  // evict them after the remaining one-request ones.
  for (int i = 0; i < 40; ++i) {
    for (int event = 0; event < 2; ++event)
      store.update(fmt::format("later-{}", i), [](SessionState&, bool) {});
  }
  EXPECT_EQ(store.size(), 100u);
  for (int i = 0; i < 30; ++i) store.update(fmt::format("new-{}", i), [](SessionState&, bool) {});
  EXPECT_EQ(store.size(), 100u);
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(store.get(fmt::format("later-{}", i), out)) << i;
  for (int i = 0; i <= 10; ++i) EXPECT_FALSE(store.get(fmt::format("real-{}", i), out)) << i;
  for (int i = 11; i < 50; ++i) EXPECT_TRUE(store.get(fmt::format("real-{}", i), out)) << i;
}

TEST(SessionStore, KeepsWithinItsMemoryBoundAndCountsEveryByte) {
  SessionState typical;
  typical.state.assign(100, 0.0f);
  typical.seen.assign(5, 1);
  const size_t each = MemorySessionStore::bytes_of("session-000", typical);
  EXPECT_GT(each, 100 * sizeof(float) + 5 * sizeof(int32_t));
  // Room for 50 such sessions (less the index's table), and a count bound far away: the byte
  // bound decides. (tests/allocation_test.cpp checks the bound against the heap bytes.)
  MemorySessionStore store(1'000'000, 100.0, 1, {}, 50 * each);
  for (int i = 0; i < 200; ++i) {
    store.update(fmt::format("session-{:03}", i), [&](SessionState& s, bool) { s = typical; });
    EXPECT_LE(store.bytes(), 50 * each);
  }
  EXPECT_GE(store.size(), 40u);
  EXPECT_LE(store.size(), 50u);
  EXPECT_EQ(store.evictions(), 200u - store.size());
  EXPECT_EQ(store.created(), 200u);
  SessionState out;
  EXPECT_TRUE(store.get("session-199", out));  // the most recent stay
  EXPECT_FALSE(store.get("session-149", out));
  // A session that grows is accounted for as it grows.
  store.update("session-199", [](SessionState& s, bool) { s.seen.assign(150, 2); });
  EXPECT_LE(store.bytes(), 50 * each);
  EXPECT_LT(store.size(), 50u);
  for (int i = 0; i < 200; ++i) store.erase(fmt::format("session-{:03}", i));
  EXPECT_EQ(store.size(), 0u);
  EXPECT_GT(store.bytes(), 0u);         // the index's table stays (it does not shrink) ...
  EXPECT_LT(store.bytes(), 10 * each);  // ... and nothing else
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_path_ = new std::string((std::filesystem::temp_directory_path() /
                                   ("gru4rec_serve_test_" + std::to_string(::getpid()) + ".g4r"))
                                      .string());
    const Model model = testing::train_small_model(
        "threads=1,n_epochs=2,layers=16,n_sample=16,batch_size=16,loss=cross-entropy", 400);
    save_model(model, *model_path_);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(*model_path_);
    delete model_path_;
  }

  static Json call(ServeApp& app, std::string_view method, std::string_view path,
                   std::string_view body = "", std::string_view query = "", int* status = nullptr,
                   Listener listener = Listener::kPublic) {
    const Response r = app.handle(method, path, query, body, listener);
    if (status != nullptr) *status = r.status;
    const Json json = Json::parse(r.body, nullptr, false);
    EXPECT_FALSE(json.is_discarded()) << r.body;
    return json;
  }

  static std::string* model_path_;
};
std::string* ServeTest::model_path_ = nullptr;

TEST_F(ServeTest, RecommendsWhatTheOfflinePredictorScores) {
  ServeApp app(ServerOptions{}, *model_path_);
  const Model& model = app.recommender()->model();
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  for (int32_t item : {3, 10, 3, 25}) {
    const Json out = call(app, "POST", "/v1/sessions/visitor-1/events",
                          fmt::format(R"({{"item": "{}", "k": 5}})", model.items.id(item)));
    predictor.advance(state, item, scratch);
    predictor.score(state, scores);
    std::vector<ScoredItem> expected(5);
    top_k(scores, 5, expected);
    ASSERT_EQ(out["recommendations"].size(), 5u) << out;
    EXPECT_FALSE(out["popular"].get<bool>());
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(out["recommendations"][i]["item"], model.items.id(expected[i].item));
      // The server's kernel sums in another order than the predictor's product.
      EXPECT_NEAR(out["recommendations"][i]["score"].get<float>(), expected[i].score,
                  1e-5f * std::max(1.0f, std::abs(expected[i].score)));
    }
  }
  // The same session replayed statelessly gives the same answer.
  const std::string ids = fmt::format(R"(["{}","{}","{}","{}"])", model.items.id(3),
                                      model.items.id(10), model.items.id(3), model.items.id(25));
  const Json stateless = call(app, "POST", "/v1/recommend", R"({"k": 5, "items": )" + ids + "}");
  const Json stored = call(app, "GET", "/v1/sessions/visitor-1/recommendations", "", "k=5");
  EXPECT_EQ(stateless["recommendations"], stored["recommendations"]);
}

// Under load, a request that finds the scorer idle waits for others and scores them in one pass;
// a lone request is scored at once. The answers are those of requests scored one by one.
TEST_F(ServeTest, UnderLoadRequestsWaitToBeScoredTogether) {
  auto model = std::make_shared<const Model>(load_model(*model_path_));
  ItemIndex registry;
  const auto wait = std::chrono::milliseconds(400);  // room for a slow thread start (ASan)
  const Recommender batched(model, 1, registry, WeightPrecision::kFloat32, {}, wait);
  const Recommender alone(model, 2, registry);
  const Predictor predictor(*model);
  auto scratch = predictor.make_scratch(1);
  std::vector<std::vector<float>> states;
  for (int32_t item : {3, 10, 25}) {
    states.emplace_back(static_cast<size_t>(predictor.state_size()), 0.0f);
    predictor.advance(states.back(), item, scratch);
  }
  RecommendOptions options;
  options.k = 5;
  const auto top = [&](const Recommender& rec, size_t s) {
    std::vector<ScoredItem> out(5);
    out.resize(rec.recommend(states[s], options, out));
    return out;
  };
  // The first request of all: no load, no wait.
  const auto start = std::chrono::steady_clock::now();
  const auto first = top(batched, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, wait);
  EXPECT_EQ(batched.batches_scored(), 1u);
  // Right after it: under load. The second request waits; the third comes meanwhile and joins.
  std::vector<ScoredItem> second, third;
  std::thread waiting([&] { second = top(batched, 1); });
  std::this_thread::sleep_for(wait / 4);
  third = top(batched, 2);
  waiting.join();
  EXPECT_EQ(batched.batches_scored(), 2u);
  EXPECT_EQ(batched.requests_scored(), 3u);
  const auto same = [](const std::vector<ScoredItem>& a, const std::vector<ScoredItem>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].item, b[i].item);
      EXPECT_FLOAT_EQ(a[i].score, b[i].score);
    }
  };
  same(first, top(alone, 0));
  same(second, top(alone, 1));
  same(third, top(alone, 2));
  EXPECT_EQ(alone.batches_scored(), 3u);
}

TEST_F(ServeTest, RepeatHeadAnswersAreTheOfflineScoresWithTheBonuses) {
  // A model with the repeat head: the server's answers are the top of score_session(), the
  // session's recent items raised; also with an exclusion and an inclusion list.
  Model model = testing::train_small_model(
      "threads=1,n_epochs=2,layers=16,n_sample=16,batch_size=16,repeat_window=3", 400);
  ASSERT_EQ(model.weights.Br.size(), kRepeatFeatures);
  // A large bonus, so that the session's items surely move (the fit's is data-dependent).
  model.weights.Wr.setZero();
  model.weights.Br.setConstant(50.0f);
  testing::TempDir dir;
  const std::string path = dir.file("repeat.g4r");
  save_model(model, path);
  ServeApp app(ServerOptions{}, path);
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  std::vector<int32_t> events;
  for (int32_t item : {3, 10, 3, 25, 7}) {
    const Json out = call(app, "POST", "/v1/sessions/visitor-r/events",
                          fmt::format(R"({{"item": "{}", "k": 5, "exclude": ["{}"]}})",
                                      model.items.id(item), model.items.id(10)));
    predictor.advance(state, item, scratch);
    events.push_back(item);
    predictor.score_session(state, events, scores, scratch);
    scores[10] = -std::numeric_limits<float>::infinity();  // excluded
    std::vector<ScoredItem> expected(5);
    top_k(scores, 5, expected);
    ASSERT_EQ(out["recommendations"].size(), 5u) << out;
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(out["recommendations"][i]["item"], model.items.id(expected[i].item)) << i;
      EXPECT_NEAR(out["recommendations"][i]["score"].get<float>(), expected[i].score,
                  1e-5f * std::max(1.0f, std::abs(expected[i].score)));
    }
  }
  // The window's items (7, 25, 3) lead: their bonus of 50 lifts them above all others.
  const Json top = call(app, "GET", "/v1/sessions/visitor-r/recommendations", "", "k=3");
  std::set<std::string> listed;
  for (const auto& r : top["recommendations"]) listed.insert(r["item"].get<std::string>());
  EXPECT_EQ(listed,
            (std::set<std::string>{model.items.id(7), model.items.id(25), model.items.id(3)}));
}

TEST_F(ServeTest, PopularItemsHonourIncludeAndExcludeInPopularityOrder) {
  ServeApp app(ServerOptions{}, *model_path_);
  const Model& model = app.recommender()->model();
  // Candidates in an arbitrary order, one of them twice, one excluded.
  const std::vector<int32_t> include = {7, 3, 20, 3, 11, 2};
  const Json out =
      call(app, "POST", "/v1/recommend",
           fmt::format(R"({{"items": ["no-such-item"], "k": 10,
                                        "include": ["{}","{}","{}","{}","{}","{}"],
                                        "exclude": ["{}"]}})",
                       model.items.id(7), model.items.id(3), model.items.id(20), model.items.id(3),
                       model.items.id(11), model.items.id(2), model.items.id(20)));
  ASSERT_TRUE(out["popular"].get<bool>()) << out;
  // By support, ties by item index (the order of the full popularity list).
  std::vector<int32_t> expected = {2, 3, 7, 11};
  std::stable_sort(expected.begin(), expected.end(), [&](int32_t a, int32_t b) {
    return model.supports[static_cast<size_t>(a)] > model.supports[static_cast<size_t>(b)];
  });
  ASSERT_EQ(out["recommendations"].size(), expected.size()) << out;
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(out["recommendations"][i]["item"], model.items.id(expected[i])) << out;
}

// Serves `model_path` with float16 (or int8) item weights and checks the top-k scores of a few
// sessions against the offline predictor's float32 ones: each within the bound of rounding every
// weight to 11 significant bits (int8: to half a step of its item's scale, largest |weight| /
// 127). Returns the worst error relative to max(1, |score|).
double check_half_precision_scores(const std::string& model_path, std::span<const int32_t> events,
                                   size_t k,
                                   WeightPrecision precision = WeightPrecision::kFloat16) {
  ServerOptions options;
  options.item_weights = precision;
  ServeApp app(options, model_path);
  const Response summary = app.handle("GET", "/v1/model", "", "");
  EXPECT_EQ(Json::parse(summary.body)["item_weights"], weight_precision_name(precision));
  const Model& model = app.recommender()->model();
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  double worst_relative = 0;
  for (int32_t item : events) {
    const Response r =
        app.handle("POST", "/v1/sessions/half/events", "",
                   fmt::format(R"({{"item": "{}", "k": {}}})", model.items.id(item), k));
    const Json out = Json::parse(r.body);
    predictor.advance(state, item, scratch);
    predictor.score(state, scores);
    // The top layer's output: the scores' input.
    const auto units = static_cast<size_t>(model.weights.Wy.cols());
    const std::span<const float> top(state.data() + state.size() - units, units);
    EXPECT_EQ(out["recommendations"].size(), k) << out;
    for (const Json& rec : out["recommendations"]) {
      const int32_t index = model.items.find(rec["item"].get<std::string>());
      EXPECT_GE(index, 0);
      if (index < 0) continue;
      const float exact = scores[static_cast<size_t>(index)];
      // Each weight rounded to 11 significant bits moves its term by at most 2^-11 of it (the
      // bias stays float32), plus float32 rounding of the sums.
      double magnitude = 0, state_sum = 0;
      for (Eigen::Index u = 0; u < model.weights.Wy.cols(); ++u) {
        magnitude +=
            std::abs(static_cast<double>(top[static_cast<size_t>(u)]) * model.weights.Wy(index, u));
        state_sum += std::abs(top[static_cast<size_t>(u)]);
      }
      const double rounding =
          precision == WeightPrecision::kInt8
              ? model.weights.Wy.row(index).cwiseAbs().maxCoeff() / 254.0 * state_sum
              : std::ldexp(magnitude, -11);
      const double error = std::abs(static_cast<double>(rec["score"].get<float>()) - exact);
      EXPECT_LE(error, rounding + 1e-5 * std::max(1.0f, std::abs(exact)))
          << "item " << index << " score " << exact;
      worst_relative = std::max(worst_relative, error / std::max(1.0f, std::abs(exact)));
    }
  }
  return worst_relative;
}

TEST_F(ServeTest, HalfPrecisionItemWeightsScoreCloseToTheOfflinePredictor) {
  const std::vector<int32_t> events = {7, 2, 40};
  // What docs/serving.md says: within about 1e-3 relative.
  EXPECT_LT(check_half_precision_scores(*model_path_, events, 10), 1e-3);
  // int8: within half a step of each item's scale; about 1e-2 relative, as docs/serving.md says.
  EXPECT_LT(check_half_precision_scores(*model_path_, events, 10, WeightPrecision::kInt8), 1e-2);
}

TEST_F(ServeTest, HalfPrecisionBoundHoldsOnAModelOfRealisticSize) {
  // 100 units and 3000 items (the small model has 16 and 60): longer sums, more items near the
  // top whose order float16 may swap, and the worst case over 100 of them.
  SyntheticOptions synthetic;
  synthetic.num_items = 3000;
  synthetic.num_sessions = 4000;
  synthetic.seed = 11;
  const std::string text = generate_synthetic_data(synthetic).train_tsv;
  ItemIndex items;
  const SessionLog log = parse_training_log(text, "t", ReadOptions{}, items);
  Params params;
  apply_param_string(params,
                     "threads=1,n_epochs=2,layers=100,n_sample=256,batch_size=64,"
                     "loss=cross-entropy,seed=3");
  Model model = Model::initialize(params, std::move(items), log, "t");
  train_model(model, log);
  testing::TempDir dir;
  const std::string path = dir.file("large.g4r");
  save_model(model, path);
  std::vector<int32_t> events;
  for (int32_t i = 0; i < 8; ++i) events.push_back((i * 379) % model.num_items());
  EXPECT_LT(check_half_precision_scores(path, events, 100), 1e-3);
  EXPECT_LT(check_half_precision_scores(path, events, 100, WeightPrecision::kInt8), 1e-2);
}

TEST_F(ServeTest, UnknownItemsPopularityExclusionsAndSessionsApart) {
  ServeApp app(ServerOptions{}, *model_path_);
  const Model& model = app.recommender()->model();
  Json out = call(app, "POST", "/v1/sessions/s/events", R"({"items": ["no-such-item"], "k": 3})");
  EXPECT_EQ(out["unknown_items"], Json::array({"no-such-item"}));
  EXPECT_TRUE(out["popular"].get<bool>());
  EXPECT_EQ(out["session_events"], 0);
  // The most popular item comes first for an empty session.
  int32_t most = 0;
  for (int32_t i = 0; i < model.num_items(); ++i)
    if (model.supports[static_cast<size_t>(i)] > model.supports[static_cast<size_t>(most)])
      most = i;
  EXPECT_EQ(out["recommendations"][0]["item"], model.items.id(most));
  // exclude_seen removes the session's items; include restricts the candidates.
  const std::string a = model.items.id(1), b = model.items.id(2), c = model.items.id(4);
  out = call(app, "POST", "/v1/sessions/s/events",
             fmt::format(R"({{"items": ["{}", "{}"], "k": 50, "exclude_seen": true}})", a, b));
  for (const Json& r : out["recommendations"]) {
    EXPECT_NE(r["item"], a);
    EXPECT_NE(r["item"], b);
  }
  out = call(app, "GET", "/v1/sessions/s/recommendations", "", "k=10");
  out = call(
      app, "POST", "/v1/sessions/s/events",
      fmt::format(R"({{"item": "{}", "include": ["{}", "{}"], "exclude": ["{}"]}})", a, b, c, c));
  ASSERT_EQ(out["recommendations"].size(), 1u);
  EXPECT_EQ(out["recommendations"][0]["item"], b);
  // Another session is not affected by this one.
  const Json other =
      call(app, "POST", "/v1/sessions/t/events", fmt::format(R"({{"item": "{}", "k": 5}})", a));
  const Json fresh =
      call(app, "POST", "/v1/recommend", fmt::format(R"({{"items": ["{}"], "k": 5}})", a));
  EXPECT_EQ(other["recommendations"], fresh["recommendations"]);
  int status = 0;
  call(app, "DELETE", "/v1/sessions/s", "", "", &status);
  EXPECT_EQ(status, 200);
  call(app, "DELETE", "/v1/sessions/s", "", "", &status);
  EXPECT_EQ(status, 404);
}

TEST_F(ServeTest, EveryBadInputGetsAJsonClientError) {
  ServerOptions options;
  options.max_k = 100;
  ServeApp app(options, *model_path_);
  const std::string long_id(100'000, 'x');
  const std::pair<std::string, std::string> bad[] = {
      {"/v1/sessions/a/events", ""},
      {"/v1/sessions/a/events", "{"},
      {"/v1/sessions/a/events", "[1, 2]"},
      {"/v1/sessions/a/events", R"({"item": 1.5})"},
      {"/v1/sessions/a/events", R"({"item": "1", "items": ["2"]})"},
      {"/v1/sessions/a/events", R"({"items": []})"},
      {"/v1/sessions/a/events", R"({"items": "1"})"},
      {"/v1/sessions/a/events", R"({"item": "1", "k": 0})"},
      {"/v1/sessions/a/events", R"({"item": "1", "k": -3})"},
      {"/v1/sessions/a/events", R"({"item": "1", "k": 1000000000})"},
      {"/v1/sessions/a/events", R"({"item": "1", "k": "5"})"},
      {"/v1/sessions/a/events", R"({"item": "1", "exclude_seen": "yes"})"},
      {"/v1/sessions/a/events", R"({"item": "1", "include": ["unknown"]})"},
      {"/v1/sessions/a/events", "{\"item\": \"\xff\xfe\"}"},
      {"/v1/sessions/" + long_id + "/events", R"({"item": "1"})"},
      {"/v1/sessions/\xff/events", R"({"item": "1"})"},
      {"/v1/sessions//events", R"({"item": "1"})"},
      {"/v1/recommend", R"({"k": 5})"},
  };
  for (const auto& [path, body] : bad) {
    int status = 0;
    const Json out = call(app, "POST", path, body, "", &status);
    EXPECT_EQ(status, 400) << path.substr(0, 40) << " " << body;
    EXPECT_TRUE(out.contains("error")) << out;
  }
  int status = 0;
  call(app, "GET", "/v1/sessions/a/recommendations", "", "k=abc", &status);
  EXPECT_EQ(status, 400);
  call(app, "GET", "/v1/sessions/a/recommendations", "", "k=", &status);
  EXPECT_EQ(status, 400);
  call(app, "GET", "/v1/sessions/a/recommendations", "", "track=1&k=3", &status);
  EXPECT_EQ(status, 200);  // other keys ending in "k" are not k
  // Booleans in the query: true or false only, as in bodies.
  for (const char* flag :
       {"exclude_seen=1", "exclude_seen=True", "exclude_seen=", "exclude_seen"}) {
    call(app, "GET", "/v1/sessions/a/recommendations", "", flag, &status);
    EXPECT_EQ(status, 400) << flag;
  }
  call(app, "GET", "/v1/sessions/a/recommendations", "", "exclude_seen=false", &status);
  EXPECT_EQ(status, 200);
  // A k beyond int64 is reported as sent, not wrapped to a negative number.
  const Json huge = call(app, "POST", "/v1/sessions/a/events",
                         R"({"item": "1", "k": 18446744073709551615})", "", &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(huge["error"]["message"].get<std::string>().find("18446744073709551615"),
            std::string::npos)
      << huge;
  call(app, "GET", "/nowhere", "", "", &status);
  EXPECT_EQ(status, 404);
  call(app, "PUT", "/v1/sessions/a/events", R"({"item": "1"})", "", &status);
  EXPECT_EQ(status, 405);
  call(app, "POST", "/admin/reload", "", "", &status);
  EXPECT_EQ(status, 404);  // admin endpoints are off by default
}

TEST_F(ServeTest, RandomRequestsNeverBreakTheServer) {
  ServeApp app(ServerOptions{}, *model_path_);
  Rng rng(11);
  const char* paths[] = {"/v1/sessions/x/events",
                         "/v1/sessions/y/recommendations",
                         "/v1/recommend",
                         "/v1/sessions/x",
                         "/health",
                         "/metrics",
                         "/v1/model",
                         "/x"};
  const char* methods[] = {"GET", "POST", "DELETE", "PUT"};
  const std::string pieces[] = {"{",
                                "}",
                                "[",
                                "]",
                                "\"item\"",
                                "\"items\"",
                                ":",
                                ",",
                                "\"k\"",
                                "5",
                                "-1",
                                "1e9",
                                "null",
                                "true",
                                "\"1\"",
                                "\"\xc3\"",
                                "\"exclude\"",
                                "\"include\"",
                                "\"exclude_seen\"",
                                " "};
  for (int i = 0; i < 3000; ++i) {
    std::string body;
    const uint32_t length = rng.below(12);
    for (uint32_t j = 0; j < length; ++j) body += pieces[rng.below(std::size(pieces))];
    const Response r = app.handle(methods[rng.below(4)], paths[rng.below(std::size(paths))],
                                  rng.below(2) ? "k=3" : "", body);
    ASSERT_LT(r.status, 500) << body;
    if (r.content_type == "application/json") {
      ASSERT_FALSE(Json::parse(r.body, nullptr, false).is_discarded()) << body;
    }
  }
}

TEST_F(ServeTest, ReloadKeepsTheSameModelAndRebuildsSessionsOfAnother) {
  // The app serves a copy, so that the test can put another model in its place.
  const std::string path = *model_path_ + ".reload";
  std::filesystem::copy_file(*model_path_, path, std::filesystem::copy_options::overwrite_existing);
  ServerOptions options;
  ServeApp app(options, path);
  const std::string item = app.recommender()->item_id(5);
  const std::string event = fmt::format(R"({{"item": "{}"}})", item);
  call(app, "POST", "/v1/sessions/r/events", event);
  const Json summary = call(app, "GET", "/v1/model");
  EXPECT_EQ(summary["model_id"].get<std::string>().size(), 16u);
  EXPECT_FALSE(summary.contains("source"));  // no file path in public answers
  EXPECT_EQ(summary.dump().find(path), std::string::npos);
  // POST /admin/reload, checked: whether it swapped a model in, and the version after it.
  const auto reload = [&](bool swapped, int version) {
    int status = 0;
    const Json answer = call(app, "POST", "/admin/reload", "", "", &status, Listener::kAdmin);
    EXPECT_EQ(status, 200);
    EXPECT_EQ(answer["reloaded"].get<bool>(), swapped);
    EXPECT_EQ(answer["model_version"], version);
    return answer;
  };
  // The same file again: nothing changes, the session's state stays valid.
  EXPECT_EQ(reload(false, 1)["model_id"], summary["model_id"]);
  const Json kept = call(app, "POST", "/v1/sessions/r/events", event);
  EXPECT_FALSE(kept["state_rebuilt"].get<bool>());
  // Another model (one output bias changed) in the file: swapped in, the session rebuilt.
  Model other = load_model(path);
  other.weights.By(0) += 0.25f;
  save_model(other, path);
  EXPECT_NE(reload(true, 2)["model_id"], summary["model_id"]);
  const Json after = call(app, "POST", "/v1/sessions/r/events", event);
  EXPECT_TRUE(after["state_rebuilt"].get<bool>());
  EXPECT_EQ(after["session_events"], 3);
  EXPECT_EQ(after["model_version"], 2);
  // A bad file is refused and the old model stays.
  EXPECT_THROW(app.reload("/nonexistent/model.g4r"), Error);
  EXPECT_EQ(app.recommender()->version(), 2u);
  std::filesystem::remove(path);
}

// Runs `fn` on a thread of its own; false when it has not returned within `seconds` (the thread
// is then left behind: a reload that hangs is the failure being tested).
bool returns_within(double seconds, std::function<void()> fn) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread([fn = std::move(fn), done] {
    fn();
    done->set_value();
  }).detach();
  return finished.wait_for(std::chrono::duration<double>(seconds)) == std::future_status::ready;
}

TEST_F(ServeTest, AFailedReloadOfAnyKindKeepsTheModelServingAndNeverBlocks) {
  testing::TempDir dir;
  const std::string path = dir.file("model.g4r");
  std::filesystem::copy_file(*model_path_, path);
  const std::string good = read_file(*model_path_);
  ServerOptions options;
  options.max_model_bytes = good.size() + 100;
  auto app = std::make_shared<ServeApp>(options, path);
  const std::string item = app->recommender()->item_id(5);
  const std::string event = fmt::format(R"({{"item": "{}"}})", item);
  const Json before = call(*app, "POST", "/v1/sessions/kept/events", event);
  // Each way a file can be wrong, put where the model file was.
  const auto replace_with = [&](const std::function<void()>& make) {
    std::filesystem::remove_all(path);
    make();
  };
  const auto write = [&](const std::string& bytes) {
    return [&, bytes] {
      std::ofstream out(path, std::ios::binary);
      out << bytes;
    };
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  struct Case {
    std::string name;
    std::function<void()> make;
    std::string message;  // a part of the Error's message
  };
  const std::vector<Case> cases = {
      {"missing", [] {}, "cannot open"},
      {"empty", write(""), "wrong magic"},
      {"text", write("SessionId\tItemId\tTime\n1\t2\t3\n"), "wrong magic"},
      {"truncated", write(good.substr(0, good.size() / 2)), "truncated"},
      {"one flipped byte", write(flipped), "checksum"},
      {"too large", write(good + std::string(200, '\0')), "limit"},
      {"a directory", [&] { std::filesystem::create_directory(path); }, "a directory"},
      {"a FIFO", [&] { ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0); }, "a FIFO"},
      {"/dev/zero", [&] { std::filesystem::create_symlink("/dev/zero", path); },
       "character device"},
  };
  for (const Case& c : cases) {
    replace_with(c.make);
    std::string message;
    const bool returned = returns_within(10, [app, &message] {
      try {
        app->reload();
      } catch (const Error& e) {
        message = e.what();
      }
    });
    ASSERT_TRUE(returned) << c.name << ": the reload hangs";
    EXPECT_NE(message.find(c.message), std::string::npos) << c.name << ": " << message;
    // Over the admin endpoint: 422, the old model serving. (A failed reload holds the next ones
    // off for a second: the one of the case before is waited out.)
    if (&c != &cases.front()) std::this_thread::sleep_for(std::chrono::milliseconds(1050));
    int status = 0;
    const Json answer = call(*app, "POST", "/admin/reload", "", "", &status, Listener::kAdmin);
    EXPECT_EQ(status, 422) << c.name << ": " << answer.dump();
    EXPECT_EQ(app->recommender()->version(), 1u) << c.name;
    const Json after = call(*app, "POST", "/v1/sessions/kept/events", event);
    EXPECT_EQ(after["model_version"], 1) << c.name;
    EXPECT_FALSE(after["state_rebuilt"].get<bool>()) << c.name;
  }
  // A baseline variant whose training file became a FIFO: refused too, without blocking.
  std::filesystem::remove_all(path);
  std::filesystem::copy_file(*model_path_, path);
  const std::string train = dir.file("train.tsv");
  {
    std::ofstream out(train);
    out << "SessionId\tItemId\tTime\n1\t" << item << "\t1\n1\t" << app->recommender()->item_id(6)
        << "\t2\n";
  }
  ServerOptions ab;
  ab.variants = {VariantSpec{"gru", path, 1}, VariantSpec{"pop", "pop@" + train, 1}};
  auto variants = std::make_shared<ServeApp>(ab, "");
  std::filesystem::remove(train);
  ASSERT_EQ(::mkfifo(train.c_str(), 0600), 0);
  std::string message;
  ASSERT_TRUE(returns_within(10, [variants, &message] {
    try {
      variants->reload();
    } catch (const Error& e) {
      message = e.what();
    }
  })) << "the baseline's reload hangs";
  EXPECT_NE(message.find("a FIFO"), std::string::npos) << message;
}

TEST_F(ServeTest, ReloadOfAContinuedModelWithNewItemsKeepsLiveSessions) {
  const std::string path = *model_path_ + ".continued";
  std::filesystem::copy_file(*model_path_, path, std::filesystem::copy_options::overwrite_existing);
  ServeApp app(ServerOptions{}, path);
  const Model parent = load_model(path);
  const std::string a = parent.items.id(4);
  const std::string event_a = fmt::format(R"({{"item": "{}", "k": 5}})", a);
  call(app, "POST", "/v1/sessions/live/events", event_a);
  const Json unknown = call(app, "POST", "/v1/sessions/live/events", R"({"item": "brand-new"})");
  EXPECT_EQ(unknown["unknown_items"], Json::array({"brand-new"}));
  // The next day: "brand-new" always follows a. Continue the model on it and reload.
  std::string day = "SessionId\tItemId\tTime\n";
  for (int s = 0; s < 80; ++s)
    day += fmt::format("d{}\t{}\t{}\nd{}\tbrand-new\t{}\n", s, a, 2'000'000'000 + 10 * s, s,
                       2'000'000'001 + 10 * s);
  ItemIndex items = parent.items;
  const SessionLog log = parse_training_log(day, "day", ReadOptions{}, items);
  Params params = parent.params;
  params.n_epochs = 5;
  params.threads = 1;
  Model child = warm_start(parent, params, std::move(items), log, "day");
  train_model(child, log);
  save_model(child, path);
  ASSERT_TRUE(app.reload());
  // The live session goes on (its known events replayed on the new model), and the new item
  // is now known and recommended after a.
  const Json next = call(app, "POST", "/v1/sessions/live/events", R"({"item": "brand-new"})");
  EXPECT_EQ(next["unknown_items"], Json::array());
  EXPECT_EQ(next["session_events"], unknown["session_events"].get<int>() + 1);
  EXPECT_TRUE(next["state_rebuilt"].get<bool>());
  EXPECT_EQ(next["model_version"], 2);
  const Json fresh = call(app, "POST", "/v1/sessions/other/events", event_a);
  bool recommended = false;
  for (const Json& r : fresh["recommendations"]) recommended |= r["item"] == "brand-new";
  EXPECT_TRUE(recommended) << fresh.dump();
  std::filesystem::remove(path);
}

// A model of the same items with another dictionary (the items numbered in reverse order of
// their first appearance) and another shape (12 units, bpr-max).
Model model_with_another_dictionary() {
  SyntheticOptions synthetic;  // the data of testing::train_small_model
  synthetic.num_items = 60;
  synthetic.num_sessions = 400;
  synthetic.num_topics = 5;
  synthetic.seed = 3;
  const std::string text = generate_synthetic_data(synthetic).train_tsv;
  std::vector<std::string_view> lines = split(text, '\n');
  while (!lines.empty() && lines.back().empty()) lines.pop_back();  // after the last newline
  std::reverse(lines.begin() + 1, lines.end());                     // the header stays first
  std::string reversed;
  for (std::string_view line : lines) (reversed += line) += '\n';
  ItemIndex items;
  const SessionLog log = parse_training_log(reversed, "reversed", ReadOptions{}, items);
  Params params;
  apply_param_string(params,
                     "threads=1,n_epochs=1,layers=12,n_sample=16,batch_size=16,"
                     "loss=bpr-max,seed=5");
  Model model = Model::initialize(params, std::move(items), log, "reversed");
  train_model(model, log);
  return model;
}

// Reloads under traffic over HTTP: 8 clients send events (each to sessions of its own) while
// the served file alternates between two models with different item dictionaries and shapes.
// Each reload waits until every client has been answered by the current version, so traffic
// overlaps every version. No request may fail; every answer must be what the offline predictor
// of the model version named in it gives for the session's events so far; a session's first
// answer after a version change says its state was rebuilt, and only that one.
TEST_F(ServeTest, OverHttpWithConcurrentSessionsAndReloadsUnderTraffic) {
  ServerOptions options;
  options.port = 0;
  options.admin_port = 0;
  options.admin_token = "0123456789abcdef-test-token";
  options.max_body_bytes = 4096;
  options.threads = 16;
  options.drain_seconds = 0;
  const std::string path = *model_path_ + ".traffic";
  std::filesystem::copy_file(*model_path_, path, std::filesystem::copy_options::overwrite_existing);
  const Model first = load_model(path), second = model_with_another_dictionary();
  bool renumbered = false;
  for (int32_t i = 0; i < first.num_items(); ++i) {
    ASSERT_GE(second.items.find(first.items.id(i)), 0);
    renumbered = renumbered || second.items.find(first.items.id(i)) != i;
  }
  ASSERT_TRUE(renumbered);
  ServeApp app(options, path);
  HttpServer server(app);
  const int port = server.bind();
  std::thread serving([&] { server.serve(); });

  constexpr int kClients = 8, kSessionEvents = 30;
  struct Answer {
    std::string session;
    std::vector<std::string> events;  // the session's events so far
    int version = 0;
    bool rebuilt = false;
    std::vector<std::pair<std::string, float>> recommendations;
  };
  std::vector<std::vector<Answer>> answers(kClients);
  std::vector<std::string> failures(kClients);
  std::atomic<int> latest_version{1}, reloads_done{0};
  std::vector<std::atomic<int>> answered_version(kClients);  // per client: the last version
  std::vector<std::atomic<bool>> stopped(kClients);          // per client: no more requests
  for (auto& v : answered_version) v = 0;
  for (auto& v : stopped) v = false;
  constexpr int kReloads = 4;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      struct Stop {
        std::atomic<bool>& flag;
        ~Stop() { flag = true; }
      } stop{stopped[static_cast<size_t>(c)]};
      testing::HttpClient client(port);
      Rng rng(static_cast<uint64_t>(c) + 1);
      std::vector<std::string> events;
      // Until every reload is done and seen, then one more session's worth.
      int after_reloads = 0;
      for (int i = 0; after_reloads < kSessionEvents && i < 100000; ++i) {
        const std::string session = fmt::format("client-{}-{}", c, i / kSessionEvents);
        if (i % kSessionEvents == 0) events.clear();
        const std::string item = first.items.id(
            static_cast<int32_t>(rng.below(static_cast<uint32_t>(first.num_items()))));
        events.push_back(item);
        const auto r = client.post(fmt::format("/v1/sessions/{}/events", session),
                                   fmt::format(R"({{"item": "{}", "k": 10}})", item));
        if (r.status != 200) {
          failures[static_cast<size_t>(c)] += fmt::format("{} {}\n", r.status, r.body);
          return;
        }
        const Json json = Json::parse(r.body);
        Answer answer{session,
                      events,
                      json["model_version"].get<int>(),
                      json["state_rebuilt"].get<bool>(),
                      {}};
        for (const Json& rec : json["recommendations"])
          answer.recommendations.emplace_back(rec["item"], rec["score"].get<float>());
        if (json["session_events"].get<size_t>() != events.size()) {
          failures[static_cast<size_t>(c)] += "session_events " + json.dump() + "\n";
          return;
        }
        answered_version[static_cast<size_t>(c)] = answer.version;
        answers[static_cast<size_t>(c)].push_back(std::move(answer));
        if (reloads_done.load() == kReloads) ++after_reloads;
      }
    });
  }
  // Reloads while the clients run, alternating the two models; each once every client has
  // been answered by the version before it.
  testing::HttpClient admin(server.admin_port());
  const std::string token = "Authorization: Bearer " + options.admin_token + "\r\n";
  std::vector<std::string> reload_errors;
  std::vector<const Model*> model_of_version{nullptr, &first};  // index: version
  for (int reload = 0; reload < kReloads; ++reload) {
    const int version = latest_version.load();
    for (int c = 0; c < kClients; ++c) {
      while (answered_version[static_cast<size_t>(c)].load() < version &&
             !stopped[static_cast<size_t>(c)].load())
        std::this_thread::yield();
    }
    const Model& next = reload % 2 == 0 ? second : first;
    save_model(next, path);
    const auto r = admin.post("/admin/reload", "", token);
    const Json json = Json::parse(r.body, nullptr, false);
    if (r.status != 200 || json.is_discarded() || !json["reloaded"].get<bool>()) {
      reload_errors.push_back(std::to_string(r.status) + " " + r.body);
      break;
    }
    model_of_version.resize(static_cast<size_t>(json["model_version"].get<int>()) + 1, nullptr);
    model_of_version.back() = &next;
    latest_version = json["model_version"].get<int>();
    reloads_done = reload + 1;
  }
  if (!reload_errors.empty()) reloads_done = kReloads;  // let the clients finish
  for (auto& t : clients) t.join();
  EXPECT_TRUE(reload_errors.empty()) << reload_errors.front();
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(latest_version.load(), 1 + kReloads);

  // Every answer against the offline predictor of its version.
  std::map<int, int> answers_of_version;
  for (int c = 0; c < kClients; ++c) {
    std::map<std::string, int> last_version;  // per session
    for (const Answer& answer : answers[static_cast<size_t>(c)]) {
      ASSERT_GT(answer.version, 0);
      ASSERT_LT(static_cast<size_t>(answer.version), model_of_version.size());
      const Model& model = *model_of_version[static_cast<size_t>(answer.version)];
      ++answers_of_version[answer.version];
      const auto previous = last_version.find(answer.session);
      EXPECT_EQ(answer.rebuilt,
                previous != last_version.end() && previous->second != answer.version)
          << answer.session << " at " << answer.events.size() << " events";
      last_version[answer.session] = answer.version;
      const Predictor predictor(model);
      auto scratch = predictor.make_scratch(1);
      std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
      for (const std::string& id : answer.events)
        predictor.advance(state, model.items.find(id), scratch);
      std::vector<float> scores(static_cast<size_t>(model.num_items()));
      predictor.score(state, scores);
      std::vector<ScoredItem> expected(10);
      top_k(scores, 10, expected);
      ASSERT_EQ(answer.recommendations.size(), 10u);
      for (size_t i = 0; i < 10; ++i) {
        EXPECT_EQ(answer.recommendations[i].first, model.items.id(expected[i].item))
            << answer.session << " version " << answer.version << " rank " << i;
        EXPECT_NEAR(answer.recommendations[i].second, expected[i].score,
                    1e-5f * std::max(1.0f, std::abs(expected[i].score)));
      }
    }
  }
  for (int version = 1; version <= 1 + kReloads; ++version)
    EXPECT_GE(answers_of_version[version], kClients) << "answers by version " << version;

  testing::HttpClient public_client(port);
  // Limits of the HTTP layer.
  EXPECT_EQ(public_client.post("/v1/sessions/z/events", std::string(10000, ' ')).status, 413);
  std::set<std::string> sessions;
  for (const auto& client_answers : answers) {
    for (const Answer& answer : client_answers) sessions.insert(answer.session);
  }
  const auto metrics = public_client.get("/metrics");
  EXPECT_NE(metrics.body.find(fmt::format("gru4rec_live_sessions {}\n", sessions.size())),
            std::string::npos)
      << metrics.body;
  // Passes over the item matrix and the requests they scored, since the last reload.
  const auto counter = [&](const std::string& name) {
    const size_t at = metrics.body.find(name + "{variant=\"default\"} ");
    if (at == std::string::npos) return int64_t{-1};
    return static_cast<int64_t>(std::stoll(metrics.body.substr(metrics.body.find(' ', at) + 1)));
  };
  const int64_t passes = counter("gru4rec_scoring_passes_total");
  EXPECT_GE(passes, 1) << metrics.body;
  EXPECT_GE(counter("gru4rec_scored_requests_total"), passes) << metrics.body;
  EXPECT_EQ(Json::parse(public_client.get("/openapi.json").body)["openapi"], "3.0.3");
  server.stop();
  serving.join();
  std::filesystem::remove(path);
}

TEST_F(ServeTest, SlowAndHalfClosedClientsTimeOutWhileOthersAreServed) {
  ServerOptions options;
  options.port = 0;
  options.threads = 8;
  options.head_timeout_seconds = 0.5;
  options.body_timeout_seconds = 0.5;
  options.drain_seconds = 0;
  ServeApp app(options, *model_path_);
  HttpServer server(app);
  const int port = server.bind();
  std::thread serving([&] { server.serve(); });
  // A client that sends half a request and then nothing.
  const int slow = testing::connect_local(port, 30);
  const std::string partial =
      "POST /v1/sessions/a/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"item\"";
  ASSERT_GT(::send(slow, partial.data(), partial.size(), 0), 0);
  // A client that sends half a request and closes its side.
  const int half = testing::connect_local(port, 30);
  ASSERT_GT(::send(half, partial.data(), partial.size(), 0), 0);
  ::shutdown(half, SHUT_WR);
  // Everyone else is served meanwhile.
  testing::HttpClient client(port);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.get("/health").status, 200);
  // Both misbehaving connections are closed by the server (after its read timeout), without a
  // successful answer. The clients' own receive timeout (30 s) only keeps a broken server from
  // hanging the test: a connection the server left open ends in that timeout, not in a close.
  const std::string slow_answer = testing::read_until_closed(slow);
  const std::string half_answer = testing::read_until_closed(half);
  EXPECT_TRUE(testing::closed_by_server(slow)) << "the server left the slow client's connection";
  EXPECT_TRUE(testing::closed_by_server(half)) << "the server left the half-closed connection";
  EXPECT_EQ(slow_answer.find("200 OK"), std::string::npos) << slow_answer;
  EXPECT_EQ(half_answer.find("200 OK"), std::string::npos) << half_answer;
  ::close(slow);
  ::close(half);
  EXPECT_EQ(client.get("/health").status, 200);
  server.stop();
  serving.join();
}

TEST(AdminToken, FromTheFileElseTheEnvironmentAndLongEnough) {
  testing::TempDir dir;
  const std::string file = dir.file("token");
  {
    std::ofstream out(file);
    out << "  0123456789abcdef-token \n second line ignored\n";
  }
  EXPECT_EQ(read_admin_token(file), "0123456789abcdef-token");
  {
    std::ofstream out(file);
    out << "short\n";
  }
  EXPECT_THROW(read_admin_token(file), Error);
  // Long enough but no secret: one character repeated, or a few; blanks or controls inside.
  for (const char* weak : {"aaaaaaaaaaaaaaaa", "abababababababababab", "0123456 789abcdefgh",
                           "0123456789abcdef\x01"}) {
    {
      std::ofstream out(file);
      out << weak << "\n";
    }
    EXPECT_THROW(read_admin_token(file), Error) << weak;
  }
  EXPECT_THROW(read_admin_token(dir.file("missing")), Error);
  ::setenv("GRU4REC_ADMIN_TOKEN", "from-the-environment-1234", 1);
  EXPECT_EQ(read_admin_token(""), "from-the-environment-1234");
  ::unsetenv("GRU4REC_ADMIN_TOKEN");
  EXPECT_THROW(read_admin_token(""), Error);
}

}  // namespace
}  // namespace gru4rec
