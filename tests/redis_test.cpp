// The shared session store's building blocks: the portable session record (hostile bytes
// decode to nothing) and the Redis client against a redis-server started by the test (skipped
// with a message when redis-server is absent, unless CI is set).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/serve/redis_client.h"
#include "gru4rec/serve/redis_session_store.h"
#include "gru4rec/serve/server.h"
#include "gru4rec/serve/session_record.h"
#include "http_test_client.h"
#include "redis_test_server.h"
#include "test_support.h"

namespace gru4rec {
namespace {

SessionRecord sample_record() {
  SessionRecord r;
  r.model_id = 0x0123456789abcdefULL;
  for (int i = 0; i < 100; ++i) r.state.push_back(std::sin(0.1f * static_cast<float>(i)));
  r.items = {"214829", "item-with-ütf8", "", std::string(1024, 'x')};
  return r;
}

TEST(SessionRecord, RoundTripsExactly) {
  const SessionRecord r = sample_record();
  const auto back = decode_session(encode_session(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->model_id, r.model_id);
  EXPECT_EQ(back->state, r.state);  // bit for bit
  EXPECT_EQ(back->items, r.items);
  const auto empty = decode_session(encode_session(SessionRecord{}));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->state.empty() && empty->items.empty());
}

TEST(SessionRecord, HostileBytesDecodeToNothing) {
  const std::string good = encode_session(sample_record());
  // Every truncation, and every single flipped byte.
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode_session(std::string_view(good).substr(0, n)).has_value()) << n;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_FALSE(decode_session(bad).has_value()) << i;
  }
  EXPECT_FALSE(decode_session(good + "x").has_value());
  EXPECT_FALSE(decode_session("").has_value());
  EXPECT_FALSE(decode_session(std::string(4096, '\0')).has_value());
  // Well-formed checksums around contents that are not ours: another version, a NaN state.
  SessionRecord nan = sample_record();
  nan.state[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(decode_session(encode_session(nan)).has_value());
  // Limits are refused when encoding too.
  SessionRecord huge;
  huge.items.assign(SessionRecord::kMaxItems + 1, "a");
  EXPECT_THROW(encode_session(huge), Error);
  SessionRecord long_id;
  long_id.items = {std::string(SessionRecord::kMaxItemIdBytes + 1, 'a')};
  EXPECT_THROW(encode_session(long_id), Error);
}

TEST(RedisUrl, ParsesAndRefusesWithAReason) {
  const RedisAddress a = parse_redis_url("redis://cache.internal:6380/2");
  EXPECT_EQ(a.host, "cache.internal");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.database, 2);
  const RedisAddress b = parse_redis_url("redis://localhost");
  EXPECT_EQ(b.port, 6379);
  EXPECT_EQ(b.database, 0);
  for (const char* bad : {"http://x:1", "redis://", "redis://:6379", "redis://x:0",
                          "redis://x:70000", "redis://x:port", "redis://x:1/db", "redis://x/-1"}) {
    try {
      parse_redis_url(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("expected redis://HOST[:PORT][/DB]"), std::string::npos)
          << e.what();
    }
  }
}

using testing::RedisServer;
using testing::skip_without_redis;

TEST(RedisClient, StoresRecordsWithExpiryAndSurvivesARestart) {
  if (skip_without_redis()) GTEST_SKIP() << "redis-server is not installed";
  RedisServer server;
  RedisClient client({"127.0.0.1", server.port(), 1}, 0.5);
  const std::string record = encode_session(sample_record());
  auto set = client.command({"SET", "s:visitor", record, "PX", "300"});
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->text, "OK");
  auto got = client.command({"GET", "s:visitor"});
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->kind, RedisReply::Kind::kString);
  const auto decoded = decode_session(got->text);  // binary-safe both ways
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->items, sample_record().items);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  got = client.command({"GET", "s:visitor"});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, RedisReply::Kind::kNil);  // expired
  // Redis's own errors are replies, not failures.
  auto error = client.command({"INCR", "s:visitor-text"});
  ASSERT_TRUE(client.command({"SET", "s:visitor-text", "abc"}).has_value());
  error = client.command({"INCR", "s:visitor-text"});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, RedisReply::Kind::kError);
  // Redis gone: every call fails at once, but the backoff spares it a storm of connection
  // attempts (a few, not one per call); then back when it is.
  server.stop();
  int failed = 0;
  for (int i = 0; i < 1000; ++i) failed += client.command({"GET", "s:x"}).has_value() ? 0 : 1;
  EXPECT_EQ(failed, 1000);
  EXPECT_LE(client.failures(), 3u);  // attempts, not one per call
  server.start();
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    back = client.command({"PING"}).has_value();
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(back);
  // The database of the URL is the one used.
  ASSERT_TRUE(client.command({"SET", "s:db", "1"}).has_value());
  RedisClient other({"127.0.0.1", server.port(), 0}, 0.5);
  EXPECT_EQ(other.command({"GET", "s:db"})->kind, RedisReply::Kind::kNil);
}

using Json = nlohmann::json;

// Replicas of the server on one Redis, against one process with sessions in memory.
class SharedSessions : public ::testing::Test {
 protected:
  void SetUp() override {
    if (skip_without_redis()) GTEST_SKIP() << "redis-server is not installed";
    redis_ = std::make_unique<RedisServer>();
    model_path_ = dir_.file("model.g4r");
    save_model(
        testing::train_small_model(
            "threads=1,n_epochs=1,layers=16,n_sample=16,batch_size=16,loss=cross-entropy", 300),
        model_path_);
  }
  std::unique_ptr<ServeApp> replica() const {
    ServerOptions o;
    o.session_store = fmt::format("redis://127.0.0.1:{}", redis_->port());
    o.session_store_timeout_seconds = 0.2;
    return std::make_unique<ServeApp>(o, model_path_);
  }
  static Json event(ServeApp& app, const std::string& session, const std::string& item,
                    int* status = nullptr) {
    const Response r = app.handle("POST", "/v1/sessions/" + session + "/events", "",
                                  fmt::format(R"({{"item":"{}","k":10}})", item));
    if (status != nullptr) *status = r.status;
    return Json::parse(r.body);
  }

  testing::TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::string model_path_;
};

TEST_F(SharedSessions, EventsAlternatingBetweenReplicasGiveOneProcesssAnswers) {
  ServeApp alone(ServerOptions{}, model_path_);
  auto first = replica(), second = replica();
  const Recommender& rec = *alone.recommender();
  for (int i = 0; i < 12; ++i) {
    const std::string item = rec.item_id((i * 7) % rec.model().num_items());
    const Json expected = event(alone, "visitor", item);
    const Json got = event(i % 2 ? *second : *first, "visitor", item);
    ASSERT_EQ(got["recommendations"], expected["recommendations"]) << i;
    EXPECT_EQ(got["session_events"], i + 1);
    EXPECT_FALSE(got["degraded"].get<bool>());
    EXPECT_FALSE(got["state_rebuilt"].get<bool>()) << i;  // the same model: state reused
  }
  // A replica that goes away mid-session: another one (new process) continues it.
  first.reset();
  auto third = replica();
  const std::string item = rec.item_id(3);
  EXPECT_EQ(event(*third, "visitor", item)["recommendations"],
            event(alone, "visitor", item)["recommendations"]);
  const Response stored = third->handle("GET", "/v1/sessions/visitor/recommendations", "k=10", "");
  EXPECT_EQ(Json::parse(stored.body)["session_found"], true);
  EXPECT_EQ(third->handle("DELETE", "/v1/sessions/visitor", "", "").status, 200);
  EXPECT_EQ(second->handle("DELETE", "/v1/sessions/visitor", "", "").status, 404);
}

TEST_F(SharedSessions, ConcurrentEventsOnTwoReplicasAreNeverLost) {
  auto first = replica(), second = replica();
  const std::string item = first->recommender()->item_id(1);
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (ServeApp* app : {first.get(), second.get()}) {
    threads.emplace_back([&, app] {
      for (int i = 0; i < 50; ++i) {
        int status = 0;
        const Json r = event(*app, "busy", item, &status);
        if (status != 200 || r["degraded"].get<bool>()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(event(*first, "busy", item)["session_events"], 101);
}

TEST_F(SharedSessions, RedisDownGivesDegradedAnswersThenNormalOnes) {
  auto app = replica();
  const std::string item = app->recommender()->item_id(2);
  EXPECT_FALSE(event(*app, "s", item)["degraded"].get<bool>());
  redis_->stop();
  for (int i = 0; i < 20; ++i) {
    int status = 0;
    const Json r = event(*app, "s", item, &status);
    EXPECT_EQ(status, 200);
    EXPECT_TRUE(r["degraded"].get<bool>());
    EXPECT_EQ(r["session_events"], 1);  // this request's events only
    EXPECT_EQ(r["recommendations"].size(), 10u);
  }
  const Response get = app->handle("GET", "/v1/sessions/s/recommendations", "", "");
  EXPECT_EQ(get.status, 200);
  EXPECT_TRUE(Json::parse(get.body)["degraded"].get<bool>());
  EXPECT_NE(app->metrics_text().find("gru4rec_degraded_total 21"), std::string::npos);
  redis_->start();
  bool normal = false;
  for (int i = 0; i < 100 && !normal; ++i) {
    normal = !event(*app, "s", item)["degraded"].get<bool>();
    if (!normal) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(normal);
}

TEST_F(SharedSessions, ForeignOrBrokenRecordsAreTreatedAsMissing) {
  auto app = replica();
  RedisClient raw({"127.0.0.1", redis_->port(), 0}, 0.5);
  const std::string good = encode_session(SessionRecord{0, {}, {"x"}});
  // A session is a hash (record in field "r"); a key of another type or a bad field: missing.
  for (const std::string& value :
       {std::string("garbage"), good.substr(0, good.size() - 1), std::string(100000, '\xff')}) {
    for (const bool as_hash : {false, true}) {
      ASSERT_TRUE((as_hash ? raw.command({"HSET", "gru4rec:session:h", "r", value})
                           : raw.command({"SET", "gru4rec:session:h", value}))
                      .has_value());
      const Json r = event(*app, "h", app->recommender()->item_id(4));
      EXPECT_TRUE(r["created"].get<bool>()) << as_hash;
      EXPECT_EQ(r["session_events"], 1);
      // A hostile answer field is ignored: the next event is counted, not measured.
      ASSERT_TRUE(raw.command({"HSET", "gru4rec:session:h", "a", value}).has_value());
      const uint64_t measured = app->experiment().local(0)[VariantCounts::kMeasured];
      const Json next = event(*app, "h", app->recommender()->item_id(5));
      EXPECT_FALSE(next["created"].get<bool>());
      EXPECT_EQ(next["session_events"], 2);
      EXPECT_EQ(app->experiment().local(0)[VariantCounts::kMeasured], measured);
      ASSERT_TRUE(raw.command({"DEL", "gru4rec:session:h"}).has_value());
    }
  }
  // A record of another model (or a state of the wrong size) is rebuilt from its items.
  SessionRecord foreign;
  foreign.model_id = 42;
  foreign.state.assign(3, 1.0f);
  foreign.items = {app->recommender()->item_id(5), "no-such-item"};
  ASSERT_TRUE(raw.command({"HSET", "gru4rec:session:f", "r", encode_session(foreign)}).has_value());
  const Json r = event(*app, "f", app->recommender()->item_id(6));
  EXPECT_FALSE(r["created"].get<bool>());
  EXPECT_TRUE(r["state_rebuilt"].get<bool>());
  EXPECT_EQ(r["session_events"], 2);
}

TEST_F(SharedSessions, ReplicasMeasureOneSessionAndAddToTheSameCounters) {
  // Each replica's experiment counters start from the counts Redis holds (none here).
  auto first = replica(), second = replica();
  // Each event is the first item of the answer to the previous one, which the other replica
  // gave: measured as a hit at rank 1 all the same.
  Json answer = event(*first, "walker", first->recommender()->item_id(2));
  for (int i = 1; i < 9; ++i) {
    ServeApp& app = i % 2 ? *second : *first;
    answer = event(app, "walker", answer["recommendations"][0]["item"]);
    ASSERT_FALSE(answer["degraded"].get<bool>());
  }
  EXPECT_EQ(first->experiment().local(0)[VariantCounts::kEvents], 5u);
  EXPECT_EQ(second->experiment().local(0)[VariantCounts::kMeasured], 4u);
  // Replicas send their counts every second (the serve command's sweeper); here at once.
  EXPECT_TRUE(second->experiment().flush());
  for (ServeApp* app : {first.get(), second.get()}) {
    const Json e = Json::parse(app->handle("GET", "/v1/experiments", "", "").body);
    EXPECT_EQ(e["counted_by"], "every replica");
    const Json& v = e["variants"][0];
    EXPECT_EQ(v["events"], 9);
    EXPECT_EQ(v["sessions"], 1);
    EXPECT_EQ(v["measured"], 8);
    EXPECT_EQ(v["hits"], 8);
    EXPECT_DOUBLE_EQ(v["mrr"]["value"].get<double>(), 1.0);
  }
  // A replica that restarts finds the counts in Redis; Redis gone: 503, never wrong numbers.
  first.reset();
  auto third = replica();
  EXPECT_EQ(
      Json::parse(third->handle("GET", "/v1/experiments", "", "").body)["variants"][0]["events"],
      9);
  redis_->stop();
  EXPECT_EQ(third->handle("GET", "/v1/experiments", "", "").status, 503);
}

// A session id that the app assigns to `variant`.
std::string session_of_variant(const ServeApp& app, size_t variant, const std::string& prefix) {
  for (int i = 0;; ++i) {
    const std::string id = prefix + std::to_string(i);
    if (app.variant_of(id) == variant) return id;
  }
}

TEST_F(SharedSessions, ItemsOfAnotherModelInARecordNeverReachAnIndex) {
  // Two variants with catalogs apart: a GRU4Rec model, and an item-kNN baseline on the same
  // sessions with every item renamed. The process's item registry knows both catalogs; each
  // variant only its own.
  SyntheticOptions synthetic;
  synthetic.num_items = 60;
  synthetic.num_sessions = 300;
  synthetic.num_topics = 5;
  synthetic.seed = 3;
  const std::string original = generate_synthetic_data(synthetic).train_tsv;
  std::string renamed;
  for (std::string_view line : split(original, '\n')) {
    if (line.empty()) continue;
    const std::vector<std::string_view> f = split(line, '\t');
    renamed += fmt::format("{}\t{}{}\t{}\n", f[0], f[0] == "SessionId" ? "" : "k-", f[1], f[2]);
  }
  const std::string baseline_train = dir_.file("renamed.tsv");
  {
    std::ofstream out(baseline_train);
    out << renamed;
  }
  ServerOptions o;
  o.session_store = fmt::format("redis://127.0.0.1:{}", redis_->port());
  o.variants = {VariantSpec{"gru", model_path_, 1},
                VariantSpec{"knn", "itemknn@" + baseline_train, 1}};
  ServeApp app(o, "");
  RedisClient raw({"127.0.0.1", redis_->port(), 0}, 0.5);
  for (size_t v = 0; v < 2; ++v) {
    const auto model = app.model_of(v), other = app.model_of(1 - v);
    const std::string known = model->item_id(3), also_known = model->item_id(4);
    const std::string foreign = other->item_id(5);  // in the registry, unknown to `model`
    ASSERT_LT(model->find_item(foreign), 0);
    // A record as another replica of this model could write it (or anyone with the CRC):
    // the variant's model id, a state of its size, and an item it does not know.
    const std::string session = session_of_variant(app, v, "mixed-");
    SessionRecord record;
    record.model_id = model->content_id();
    record.state.assign(static_cast<size_t>(model->state_size()), 0.0f);
    record.items = {foreign, known, foreign};
    ASSERT_TRUE(raw.command({"HSET", "gru4rec:session:" + session, "r", encode_session(record)})
                    .has_value());
    const Response r =
        app.handle("POST", "/v1/sessions/" + session + "/events", "",
                   fmt::format(R"({{"item":"{}","k":50,"exclude_seen":true}})", also_known));
    ASSERT_EQ(r.status, 200) << v << ": " << r.body;
    const Json json = Json::parse(r.body);
    EXPECT_EQ(json["variant"], v == 0 ? "gru" : "knn");
    EXPECT_EQ(json["session_events"], 2) << "the items this model knows: " << json.dump();
    for (const Json& rec : json["recommendations"]) {
      EXPECT_NE(rec["item"], known);
      EXPECT_NE(rec["item"], also_known);
      EXPECT_TRUE(rec["score"].is_number()) << json.dump();
    }
    const Response get = app.handle("GET", "/v1/sessions/" + session + "/recommendations",
                                    "exclude_seen=true&k=50", "");
    ASSERT_EQ(get.status, 200) << get.body;
    const Json got = Json::parse(get.body);
    for (const Json& rec : got["recommendations"]) EXPECT_NE(rec["item"], known);
  }
}

TEST_F(SharedSessions, AStateNoModelComputesIsRebuiltNotScored) {
  auto app = replica();
  RedisClient raw({"127.0.0.1", redis_->port(), 0}, 0.5);
  const Recommender& rec = *app->recommender();
  // Finite but far outside a GRU state's [-1, 1]: the scores would overflow to infinity.
  for (const float value : {3e38f, -2.0f, 1.5f}) {
    SessionRecord record;
    record.model_id = rec.content_id();
    record.state.assign(static_cast<size_t>(rec.state_size()), value);
    record.items = {rec.item_id(7)};
    ASSERT_TRUE(
        raw.command({"HSET", "gru4rec:session:big", "r", encode_session(record)}).has_value());
    const Json r = event(*app, "big", rec.item_id(8));
    EXPECT_TRUE(r["state_rebuilt"].get<bool>()) << value;
    EXPECT_EQ(r["session_events"], 2);
    for (const Json& item : r["recommendations"])
      ASSERT_TRUE(item["score"].is_number_float()) << value << ": " << r.dump();
    // The same as a session that had these two events from the start.
    ServeApp alone(ServerOptions{}, model_path_);
    event(alone, "twin", rec.item_id(7));
    EXPECT_EQ(r["recommendations"], event(alone, "twin", rec.item_id(8))["recommendations"]);
  }
}

TEST_F(SharedSessions, ConcurrentUpdatesOfOneSessionConflictAndAreRetried) {
  auto first = replica(), second = replica();
  auto& a = dynamic_cast<RedisSessionStore&>(first->sessions());
  auto& b = dynamic_cast<RedisSessionStore&>(second->sessions());
  // Each replica's first attempt waits until the other has read the session too: both then
  // write on the same version, so one transaction must fail and be redone.
  std::atomic<int> arrived{0};
  const auto apply = [&](RedisSessionStore& store) {
    bool waited = false;
    store.update("contended", [&](SessionState& session, bool) {
      if (!waited) {
        waited = true;
        ++arrived;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (arrived.load() < 2 && std::chrono::steady_clock::now() < until)
          std::this_thread::yield();
      }
      session.events++;
    });
  };
  std::thread one([&] { apply(a); }), two([&] { apply(b); });
  one.join();
  two.join();
  EXPECT_GE(a.conflicts() + b.conflicts(), 1u) << "the updates did not overlap";
  SessionState stored;
  ASSERT_TRUE(a.get("contended", stored));
  EXPECT_EQ(stored.events, 2u) << "an update was lost";
}

TEST_F(SharedSessions, ARedisThatHangsGivesDegradedAnswersWithinTheTimeout) {
  auto app = replica();  // 0.2 s per command
  const std::string item = app->recommender()->item_id(2);
  EXPECT_FALSE(event(*app, "h", item)["degraded"].get<bool>());
  redis_->freeze();
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    int status = 0;
    const Json r = event(*app, "h", item, &status);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(status, 200);
    EXPECT_TRUE(r["degraded"].get<bool>()) << i;
    EXPECT_EQ(r["recommendations"].size(), 10u);
    EXPECT_LT(took, 1.0) << i << ": a hung Redis must cost a request its timeout at most";
  }
  redis_->thaw();
  bool normal = false;
  for (int i = 0; i < 200 && !normal; ++i) {
    normal = !event(*app, "h", item)["degraded"].get<bool>();
    if (!normal) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(normal);
}

TEST_F(SharedSessions, SessionsLiveAsLongAsTheyAreUsed) {
  ServerOptions o;
  o.session_store = fmt::format("redis://127.0.0.1:{}", redis_->port());
  o.session_ttl_seconds = 2;
  ServeApp app(o, model_path_);
  RedisClient raw({"127.0.0.1", redis_->port(), 0}, 0.5);
  const auto ttl_ms = [&] { return raw.command({"PTTL", "gru4rec:session:ttl"})->integer; };
  event(app, "ttl", app.recommender()->item_id(1));
  EXPECT_GT(ttl_ms(), 1500);
  EXPECT_LE(ttl_ms(), 2000);
  // Each read and each event starts the time to live again.
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    const Response r = app.handle("GET", "/v1/sessions/ttl/recommendations", "", "");
    EXPECT_TRUE(Json::parse(r.body)["session_found"].get<bool>()) << i;
    EXPECT_GT(ttl_ms(), 1500) << i;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(event(app, "ttl", app.recommender()->item_id(2))["session_events"], 2);
  EXPECT_GT(ttl_ms(), 1500);
  // Left alone for longer than the time to live: gone.
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  const Response gone = app.handle("GET", "/v1/sessions/ttl/recommendations", "", "");
  EXPECT_FALSE(Json::parse(gone.body)["session_found"].get<bool>());
}

TEST_F(SharedSessions, HostileCountersInRedisGiveA503NotNonsense) {
  auto app = replica();
  RedisClient raw({"127.0.0.1", redis_->port(), 0}, 0.5);
  const std::string key = "gru4rec:experiment:default:default";
  const auto experiments = [&] { return app->handle("GET", "/v1/experiments", "", ""); };
  EXPECT_EQ(experiments().status, 200);
  const std::vector<std::vector<std::string>> hostile = {
      {"measured", "1", "hit_1", "5", "events", "10"},  // more hits than measured events
      {"events", "-5"},                                 // not a count
      {"events", "99999999999999999999"},               // beyond 64 bits
      {"events", "9007199254740993"},                   // beyond 2^53
      {"events", "3", "unknown_items", "4"},            // a part above its whole
      {"events", "1", "degraded", "1"},                 // degraded without requests
      {"events", "12abc"}};
  for (const auto& fields : hostile) {
    ASSERT_TRUE(raw.command({"DEL", key}).has_value());
    for (size_t i = 0; i < fields.size(); i += 2)
      ASSERT_TRUE(raw.command({"HSET", key, fields[i], fields[i + 1]}).has_value());
    const Response r = experiments();
    EXPECT_EQ(r.status, 503) << fields[0] << "=" << fields[1] << ": " << r.body;
    EXPECT_NE(r.body.find(key), std::string::npos) << r.body;
  }
  ASSERT_TRUE(raw.command({"DEL", key}).has_value());
  EXPECT_EQ(experiments().status, 200);
  // Counts of ours are consistent at every moment: 20 events, each flushed on its own.
  for (int i = 0; i < 20; ++i) {
    event(*app, "counted", app->recommender()->item_id(i % 10));
    ASSERT_TRUE(app->experiment().flush());
    ASSERT_EQ(experiments().status, 200) << i;
  }
}

// Requests add their counts while the counts are flushed to Redis and read back: every read
// is consistent (a flush takes whole requests, never half of one's fields). The requests' counts
// are added directly, as fast as threads can, so that flushes fall in the middle of additions.
TEST_F(SharedSessions, CountersStayConsistentWhileRequestsAndFlushesInterleave) {
  auto app = replica();
  // One measured event of a session's second request, a hit at rank 2, answered in 1 ms.
  VariantCounts request;
  request[VariantCounts::kEvents] = 1;
  request[VariantCounts::kMeasured] = 1;
  request[VariantCounts::kHit1 + 1] = 1;
  request.add_latency(0.001);
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::string first_problem;  // the reader's; read once it is joined
  std::atomic<bool> found{false};
  std::thread reader([&] {
    while (!done.load() && !found.load()) {
      std::optional<std::vector<VariantCounts>> totals;
      try {
        totals = app->experiment().totals();  // flushes, then reads every replica's counts
      } catch (const Error& e) {
        first_problem = e.what();
        found = true;
      }
      ++reads;
    }
  });
  // Adding until the reader has read 50 times (however slow the machine), 100,000 times at least.
  std::atomic<uint64_t> added{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&] {
      uint64_t mine = 0;
      while (mine < 100'000 || (reads.load() < 50 && !found.load())) {
        app->experiment().add(0, request);
        ++mine;
      }
      added += mine;
    });
  }
  for (auto& sender : senders) sender.join();
  done = true;
  reader.join();
  EXPECT_EQ(first_problem, "");
  EXPECT_GE(reads.load(), 50);
  const auto totals = app->experiment().totals();
  ASSERT_TRUE(totals.has_value());
  EXPECT_EQ((*totals)[0][VariantCounts::kEvents], added.load());
  EXPECT_EQ((*totals)[0].hits(), added.load());
}

TEST(ExperimentCounts, ParsedStrictlyAndCheckedForConsistency) {
  RedisReply hash;
  hash.kind = RedisReply::Kind::kArray;
  const auto field = [&](const std::string& name, const std::string& value) {
    RedisReply n, v;
    n.kind = v.kind = RedisReply::Kind::kString;
    n.text = name;
    v.text = value;
    hash.elements.push_back(n);
    hash.elements.push_back(v);
  };
  field("events", "10");
  field("measured", "4");
  field("hit_1", "2");
  field("latency_bucket_0", "5");
  field("a_field_of_another_version", "whatever");
  const VariantCounts c = counts_from_redis_hash(hash);
  EXPECT_EQ(c[VariantCounts::kEvents], 10u);
  EXPECT_EQ(c.hits(), 2u);
  EXPECT_EQ(c.requests(), 5u);
  EXPECT_EQ(consistency_problem(c), "");
  RedisReply nil;
  EXPECT_EQ(counts_from_redis_hash(nil)[VariantCounts::kEvents], 0u);
  field("hit_2", "3");  // 5 hits > 4 measured
  EXPECT_THROW(counts_from_redis_hash(hash), Error);
  RedisReply odd;
  odd.kind = RedisReply::Kind::kArray;
  odd.elements.resize(1);
  EXPECT_THROW(counts_from_redis_hash(odd), Error);
}

// Over HTTP, with a Redis that hangs: the model threads wait for it, the event loops do not.
class FrozenRedisServer : public SharedSessions {
 protected:
  void serve(ServerOptions o) {
    o.session_store = fmt::format("redis://127.0.0.1:{}", redis_->port());
    o.port = 0;
    o.drain_seconds = 0;
    app_ = std::make_unique<ServeApp>(o, model_path_);
    server_ = std::make_unique<HttpServer>(*app_);
    port_ = server_->bind();
    serving_ = std::thread([this] { server_->serve(); });
  }
  void TearDown() override {
    if (redis_) redis_->thaw();
    if (server_) {
      server_->stop();
      serving_.join();
    }
  }
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::unique_ptr<ServeApp> app_;
  std::unique_ptr<HttpServer> server_;
  std::thread serving_;
  int port_ = 0;
};

TEST_F(FrozenRedisServer, ProbesAndMetricsStayFast) {
  ServerOptions o;
  o.session_store_timeout_seconds = 0.5;
  serve(o);
  testing::HttpClient client(port_);
  const std::string body = fmt::format(R"({{"item":"{}"}})", app_->recommender()->item_id(1));
  ASSERT_EQ(client.post("/v1/sessions/m/events", body).status, 200);
  redis_->freeze();
  double worst = 0;
  for (int i = 0; i < 10; ++i) {
    for (const char* path : {"/metrics", "/health", "/ready"}) {
      const auto start = std::chrono::steady_clock::now();
      EXPECT_EQ(client.get(path).status, 200) << path;
      worst = std::max(worst, seconds_since(start));
    }
  }
  EXPECT_LT(worst, 0.25) << "a probe waited for Redis";
}

TEST_F(FrozenRedisServer, QueuedRequestsAreAnsweredAtTheirDeadlineAndTheQueueIsBounded) {
  ServerOptions o;
  o.threads = 1;
  o.max_queued_requests = 1;
  o.request_deadline_seconds = 1.0;
  o.session_store_timeout_seconds = 4;  // the one model thread waits this long for Redis
  serve(o);
  const std::string body = fmt::format(R"({{"item":"{}"}})", app_->recommender()->item_id(1));
  redis_->freeze();
  // The model thread is busy with this one (waiting for Redis) ...
  std::thread busy([&] {
    testing::HttpClient client(port_, 30);
    client.post("/v1/sessions/busy/events", body);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // ... this one waits in the queue, and gets its 503 at its deadline, not when the thread is
  // free again (after the Redis timeout) ...
  double queued_took = 0;
  testing::HttpReply queued_reply;
  std::thread queued([&] {
    testing::HttpClient client(port_, 30);
    const auto start = std::chrono::steady_clock::now();
    queued_reply = client.post("/v1/sessions/queued/events", body);
    queued_took = seconds_since(start);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // ... and the queue holds one: the next one is refused at once.
  testing::HttpClient refused(port_, 30);
  const auto start = std::chrono::steady_clock::now();
  const testing::HttpReply full = refused.post("/v1/sessions/refused/events", body);
  const double full_took = seconds_since(start);
  queued.join();
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_EQ(full.header("retry-after"), "1");
  EXPECT_LT(full_took, 0.5);
  EXPECT_EQ(queued_reply.status, 503) << queued_reply.body;
  EXPECT_GT(queued_took, 0.7);
  EXPECT_LT(queued_took, 2.5) << "answered when a thread was free, not at the deadline";
  // Once the queued one expired, its place is free again (it no longer counts as waiting).
  testing::HttpClient later(port_, 30);
  const auto later_start = std::chrono::steady_clock::now();
  EXPECT_EQ(later.post("/v1/sessions/later/events", body).status, 503);
  EXPECT_GT(seconds_since(later_start), 0.7) << "queued, then expired at its deadline";
  redis_->thaw();
  busy.join();
  EXPECT_NE(testing::HttpClient(port_).get("/metrics").body.find("gru4rec_shed_requests_total 3\n"),
            std::string::npos);
}

}  // namespace
}  // namespace gru4rec
