// gru4rec serve against hostile and broken clients, over real sockets on loopback: every limit
// answers with its status and a JSON error, slow clients hold no thread, and the server keeps
// answering everyone else.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "gru4rec/model/model_file.h"
#include "gru4rec/serve/http_request_reader.h"
#include "gru4rec/serve/server.h"
#include "http_test_client.h"
#include "serve/login_throttle.h"
#include "test_support.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::connect_local;
using testing::HttpClient;
using testing::HttpReply;
using testing::read_reply;
using testing::send_all;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr const char* kToken = "a-test-token-of-32-characters-00";

// A server on ephemeral ports (public and admin) with small limits, serving on its own thread.
class Hostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_path_ = new std::string((std::filesystem::temp_directory_path() /
                                   ("gru4rec_hostile_" + std::to_string(::getpid()) + ".g4r"))
                                      .string());
    save_model(
        testing::train_small_model(
            "threads=1,n_epochs=1,layers=16,n_sample=16,batch_size=16,loss=cross-entropy", 300),
        *model_path_);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(*model_path_);
    delete model_path_;
  }

  static ServerOptions small_limits() {
    ServerOptions o;
    o.port = 0;
    o.io_threads = 2;
    o.threads = 4;
    o.max_body_bytes = 4096;
    o.max_header_bytes = 4096;
    o.max_header_count = 32;
    o.head_timeout_seconds = 1;
    o.body_timeout_seconds = 1;
    o.idle_timeout_seconds = 3;
    o.drain_seconds = 0.3;
    o.shutdown_timeout_seconds = 5;
    o.admin_port = 0;
    o.admin_token = kToken;
    return o;
  }

  void start(const ServerOptions& options) {
    app_ = std::make_unique<ServeApp>(options, *model_path_);
    server_ = std::make_unique<HttpServer>(*app_);
    port_ = server_->bind();
    serving_ = std::thread([this] { server_->serve(); });
  }
  void SetUp() override { start(small_limits()); }
  void TearDown() override {
    server_->stop();
    serving_.join();
  }

  // One raw exchange on a new connection: sends `text`, reads one answer.
  HttpReply raw(const std::string& text, double timeout = 5) {
    const int fd = connect_local(port_, timeout);
    EXPECT_GE(fd, 0);
    send_all(fd, text);
    std::string buffer;
    HttpReply reply = read_reply(fd, buffer);
    ::close(fd);
    return reply;
  }

  std::string item(int32_t i) const { return app_->recommender()->item_id(i); }
  std::string event(int32_t i) const { return fmt::format(R"({{"item":"{}"}})", item(i)); }

  static std::string* model_path_;
  std::unique_ptr<ServeApp> app_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::thread serving_;
};
std::string* Hostile::model_path_ = nullptr;

// The JSON error of an answer: its status field agrees with the HTTP status.
void expect_json_error(const HttpReply& r, int status) {
  EXPECT_EQ(r.status, status) << r.body;
  const Json body = Json::parse(r.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r.body;
  EXPECT_EQ(body["error"]["status"], status) << r.body;
}

TEST_F(Hostile, BodyLimitHoldsForEveryTransferMode) {
  const std::string head = "POST /v1/sessions/a/events HTTP/1.1\r\nHost: x\r\n";
  // A declared length above the limit: refused before any of the body is sent.
  expect_json_error(raw(head + "Content-Length: 100000000\r\n\r\n"), 413);
  // Chunked: the decoded size counts, whatever the chunks.
  std::string chunked = head + "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked += "400\r\n" + std::string(1024, ' ') + "\r\n";
  chunked += "0\r\n\r\n";
  expect_json_error(raw(chunked), 413);
  // A chunk header announcing far more than the limit.
  expect_json_error(raw(head + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n"), 413);
  // No length at all: 411 at once (a wait for a body that will not come would end in the body
  // timeout's 408).
  expect_json_error(raw(head + "\r\n"), 411);
  // Compressed bodies are refused, whatever their size.
  expect_json_error(
      raw(head + "Content-Encoding: gzip\r\nContent-Length: 20\r\n\r\n" + std::string(20, '\x1f')),
      415);
  // A form body as `curl -d` sends it, near the limit: accepted (read as JSON).
  const std::string padded = event(1) + std::string(3500, ' ');
  const HttpReply form =
      raw(head + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
          std::to_string(padded.size()) + "\r\n\r\n" + padded);
  EXPECT_EQ(form.status, 200) << form.body;
  // A chunked body within the limit is served.
  const std::string body = event(2);
  const HttpReply ok = raw(head + "Transfer-Encoding: chunked\r\n\r\n" +
                           fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", body.size(), body));
  EXPECT_EQ(ok.status, 200) << ok.body;
  // HTTP/1.0 knows no interim answer: the expectation is ignored (RFC 9110 10.1.1).
  {
    const int fd = connect_local(port_);
    send_all(fd, "POST /v1/sessions/a/events HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
    const std::string answer = testing::read_until_closed(fd);
    ::close(fd);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  }
  // Expect: 100-continue gets its interim answer, then the real one.
  const HttpReply continued =
      raw(head + "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n\r\n" + body);
  EXPECT_EQ(continued.status, 200) << continued.body;
}

TEST_F(Hostile, HeaderFloodsAre431) {
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 100; ++i) many += fmt::format("X-{}: y\r\n", i);
  expect_json_error(raw(many + "\r\n"), 431);
  expect_json_error(
      raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8192, 'a') + "\r\n\r\n"), 431);
  // An endless stream of headers: answered once the limit is passed, and the server's memory
  // does not follow the stream (the connection is closed).
  const int fd = connect_local(port_);
  send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n");
  std::string buffer;
  std::thread flood([fd] {
    const std::string line = "X-Flood: 0123456789\r\n";
    for (int i = 0; i < 100000; ++i) {
      if (!send_all(fd, line)) break;
    }
  });
  const HttpReply r = read_reply(fd, buffer);
  ::shutdown(fd, SHUT_RDWR);
  flood.join();
  ::close(fd);
  expect_json_error(r, 431);
  // A request line longer than the head limit.
  expect_json_error(raw("GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"), 431);
  // Garbage instead of HTTP.
  expect_json_error(raw("\x16\x03\x01 hello\r\n\r\n"), 400);
}

TEST_F(Hostile, SlowHeadsAndBodiesAre408AndOthersAreServedMeanwhile) {
  // A head timeout far above what an answer takes even under sanitizers on a loaded machine: a
  // server that waited for the slow clients would answer after it, one that does not well
  // before half of it.
  TearDown();
  ServerOptions o = small_limits();
  o.head_timeout_seconds = 4;
  start(o);
  // Slowloris: 200 clients that send their head one byte at a time.
  constexpr int kSlow = 200;
  std::vector<int> slow;
  for (int i = 0; i < kSlow; ++i) {
    const int fd = connect_local(port_, 10);
    ASSERT_GE(fd, 0);
    slow.push_back(fd);
  }
  std::atomic<bool> dripping{true};
  std::thread drip([&] {
    const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (size_t byte = 0; dripping.load(); ++byte) {
      for (int fd : slow) {
        const char c = byte < head.size() ? head[byte] : 'a';
        ::send(fd, &c, 1, MSG_NOSIGNAL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  // Meanwhile, /health on a kept-alive connection and on new ones answers fast.
  HttpClient kept(port_);
  double worst = 0;
  for (int i = 0; i < 40; ++i) {
    auto start = Clock::now();
    EXPECT_EQ(kept.get("/health").status, 200);
    worst = std::max(worst, since(start));
    start = Clock::now();
    HttpClient fresh(port_);
    EXPECT_EQ(fresh.post("/v1/sessions/meanwhile/events", event(i % 10)).status, 200);
    worst = std::max(worst, since(start));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Not held up by the slow clients: a server that waited for them would answer only after
  // their head timeout.
  EXPECT_LT(worst, o.head_timeout_seconds / 2)
      << "slowest answer while 200 slow clients were connected";
  // The head timeout (from the first byte) ends every slow client with a 408.
  int timed_out = 0;
  for (int fd : slow) {
    std::string buffer;
    const HttpReply r = read_reply(fd, buffer);
    if (r.status == 408) ++timed_out;
  }
  dripping.store(false);
  drip.join();
  for (int fd : slow) ::close(fd);
  EXPECT_EQ(timed_out, kSlow);
  // A body that stops coming: 408 after the body timeout.
  const auto start = Clock::now();
  const HttpReply r =
      raw("POST /v1/sessions/b/events HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"item\"");
  expect_json_error(r, 408);
  EXPECT_LT(since(start), 2.5);
}

TEST_F(Hostile, PipelinedRequestsAreAnsweredInOrder) {
  const int fd = connect_local(port_);
  std::string text;
  for (int i = 0; i < 3; ++i) {
    const std::string body = event(i);
    text += fmt::format(
        "POST /v1/sessions/pipe/events HTTP/1.1\r\nHost: x\r\nContent-Length: "
        "{}\r\n\r\n{}",
        body.size(), body);
  }
  text += "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(send_all(fd, text));  // all in one write
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    const HttpReply r = read_reply(fd, buffer);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json::parse(r.body)["session_events"], i + 1);
  }
  EXPECT_EQ(Json::parse(read_reply(fd, buffer).body)["status"], "ok");
  ::close(fd);
}

TEST_F(Hostile, HalfClosedAndResetConnectionsLeaveNothingBehind) {
  // A complete request, then the client's side closed: it still gets its answer.
  const int half = connect_local(port_);
  send_all(half, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  ::shutdown(half, SHUT_WR);
  std::string buffer;
  EXPECT_EQ(read_reply(half, buffer).status, 200);
  ::close(half);
  // Resets in the middle of heads and bodies.
  for (int i = 0; i < 50; ++i) {
    const int fd = connect_local(port_);
    send_all(fd, i % 2 ? "GET /hea" : "POST /v1/recommend HTTP/1.1\r\nContent-Length: 90\r\n\r\n{");
    linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd);  // RST
  }
  // The server is well and has let go of those connections.
  HttpClient client(port_);
  EXPECT_EQ(client.get("/health").status, 200);
  std::string metrics;
  for (int attempt = 0; attempt < 100; ++attempt) {
    metrics = client.get("/metrics").body;
    if (metrics.find("gru4rec_open_connections 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(metrics.find("gru4rec_open_connections 1\n"), std::string::npos) << metrics;
}

TEST_F(Hostile, SessionIdsHaveOneSpelling) {
  HttpClient client(port_);
  for (const char* bad : {"a%2Fevents", "a%00b", "%C0%AF", "%u0041", "a%zz", "a%2", "%ED%A0%80",
                          "%F4%90%80%80", "a%0Ab", "%7F",
                          // Valid UTF-8 that would not read as what it is: C1 controls (NEL),
                          // line and paragraph separators, bidirectional overrides and isolates,
                          // marks, zero-width characters, the byte order mark, noncharacters.
                          "a%C2%85b", "a%C2%9Fb", "a%E2%80%A8b", "a%E2%80%A9b", "a%E2%80%AEb",
                          "a%E2%80%AAb", "a%E2%81%A6b", "a%E2%81%A9b", "a%E2%80%8Fb", "a%D8%9Cb",
                          "a%E2%80%8Bb", "%EF%BB%BFa", "a%EF%BF%BF"}) {
    const HttpReply r = client.post(fmt::format("/v1/sessions/{}/events", bad), event(1));
    expect_json_error(r, 400);
  }
  // A valid encoded id is decoded once: stored, echoed and deleted under the same name.
  const HttpReply created = client.post("/v1/sessions/caf%C3%A9%20au%20lait/events", event(1));
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(Json::parse(created.body)["session"], "caf\xC3\xA9 au lait");
  EXPECT_EQ(client.request("DELETE", "/v1/sessions/caf%C3%A9%20au%20lait", "").status, 200);
  expect_json_error(client.request("DELETE", "/v1/sessions/caf%C3%A9%20au%20lait", ""), 404);
  // More path after the id is no route.
  EXPECT_EQ(client.post("/v1/sessions/a/b/events", event(1)).status, 404);
}

TEST_F(Hostile, StrictJsonAndQueryRules) {
  HttpClient client(port_);
  // A NUL byte ends the text for the JSON parser: a body holding one is refused, whatever is
  // before or after it (here a valid object, then a key twice).
  for (const std::string& tail :
       {std::string(""), std::string("garbage"), std::string(R"({"item":1,"item":2})")}) {
    std::string body = event(1);
    body += '\0';
    body += tail;
    expect_json_error(client.post("/v1/sessions/nul/events", body), 400);
  }
  expect_json_error(
      client.post("/v1/recommend", fmt::format(R"({{"items":["{}"],"k":5,"k":6}})", item(1))), 400);
  // Duplicates nested in another object count too; the same key in two objects does not.
  expect_json_error(client.post("/v1/recommend",
                                fmt::format(R"({{"items":["{}"],"x":{{"a":1,"a":2}}}})", item(1))),
                    400);
  EXPECT_EQ(client
                .post("/v1/recommend",
                      fmt::format(R"({{"items":["{}"],"x":{{"k":1}},"y":{{"k":1}}}})", item(1)))
                .status,
            200);
  const HttpReply huge = client.post(
      "/v1/recommend", fmt::format(R"({{"items":["{}"],"k":18446744073709551615}})", item(1)));
  expect_json_error(huge, 400);
  EXPECT_NE(huge.body.find("18446744073709551615"), std::string::npos) << huge.body;
  ASSERT_EQ(client.post("/v1/sessions/q/events", event(1)).status, 200);
  for (const char* flag : {"1", "True", "yes", ""})
    expect_json_error(
        client.get(fmt::format("/v1/sessions/q/recommendations?exclude_seen={}", flag)), 400);
  EXPECT_EQ(client.get("/v1/sessions/q/recommendations?exclude_seen=true").status, 200);
  // A key given twice is refused, as in JSON bodies (not the first or the last taken).
  expect_json_error(client.get("/v1/sessions/q/recommendations?k=5&k=6"), 400);
  expect_json_error(
      client.get("/v1/sessions/q/recommendations?exclude_seen=true&exclude_seen=false"), 400);
  EXPECT_EQ(client.get("/v1/sessions/q/recommendations?k=5&exclude_seen=true").status, 200);
  // HEAD is GET without the body (the connection stays usable).
  const HttpReply head = client.request("HEAD", "/health", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_GT(std::stoul(head.header("content-length")), 0u);
  EXPECT_EQ(client.get("/health").status, 200);
}

TEST_F(Hostile, AdminNeedsItsListenerAndToken) {
  HttpClient outside(port_);
  expect_json_error(
      outside.post("/admin/reload", "", fmt::format("Authorization: Bearer {}\r\n", kToken)), 404);
  HttpClient admin(server_->admin_port());
  expect_json_error(admin.post("/admin/reload", ""), 401);
  expect_json_error(admin.post("/admin/reload", "", "Authorization: Bearer wrong\r\n"), 401);
  const HttpReply r =
      admin.post("/admin/reload", "", fmt::format("Authorization: Bearer {}\r\n", kToken));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(Json::parse(r.body)["reloaded"].get<bool>());  // the same file: nothing changes
  // No file path in public answers.
  EXPECT_EQ(outside.get("/v1/model").body.find(*model_path_), std::string::npos);
}

TEST_F(Hostile, KeepAliveHasAnIdleTimeoutAndARequestLimit) {
  TearDown();
  ServerOptions o = small_limits();
  o.max_requests_per_connection = 3;
  o.idle_timeout_seconds = 0.3;
  start(o);
  const int fd = connect_local(port_);
  std::string buffer;
  for (int i = 1; i <= 3; ++i) {
    send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const HttpReply r = read_reply(fd, buffer);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("connection") == "close", i == 3) << i;
  }
  EXPECT_TRUE(testing::closed_by_server(fd));
  ::close(fd);
  const int idle = connect_local(port_);
  const auto start = Clock::now();
  EXPECT_TRUE(testing::closed_by_server(idle));
  EXPECT_LT(since(start), 2.0);
  ::close(idle);
}

TEST_F(Hostile, ConnectionsBeyondTheLimitAre503WithRetryAfter) {
  TearDown();
  ServerOptions o = small_limits();
  o.max_connections = 20;
  start(o);
  std::vector<int> held;
  for (int i = 0; i < 20; ++i) held.push_back(connect_local(port_));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int extra = connect_local(port_);
  std::string buffer;
  const HttpReply r = read_reply(extra, buffer);
  expect_json_error(r, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  ::close(extra);
  for (int fd : held) ::close(fd);
  // Once they are gone, new connections are served.
  for (int attempt = 0; attempt < 50; ++attempt) {
    HttpClient client(port_);
    if (client.get("/health").status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "no connection served after the held ones closed";
}

TEST_F(Hostile, FormBodiesAreReadUpToTheBodyLimit) {
  // `curl -d` sends form bodies; httplib capped those at 8 KB whatever the limit.
  TearDown();
  ServerOptions o = small_limits();
  o.max_body_bytes = 64 * 1024;
  start(o);
  const std::string body = event(3) + std::string(30000, ' ');
  const HttpReply r =
      raw("POST /v1/sessions/form/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
          "application/x-www-form-urlencoded\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(Hostile, RequestsPastTheirDeadlineAre503) {
  TearDown();
  ServerOptions o = small_limits();
  o.request_deadline_seconds = 1e-9;  // every queued request is late
  start(o);
  HttpClient client(port_);
  const HttpReply r = client.post("/v1/sessions/late/events", event(1));
  expect_json_error(r, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(client.get("/health").status, 200);  // answered on the event loop
  EXPECT_NE(client.get("/metrics").body.find("gru4rec_shed_requests_total 1\n"), std::string::npos);
}

TEST_F(Hostile, StopAnswersReadyWith503AndFinishesWhatIsInFlight) {
  TearDown();
  ServerOptions o = small_limits();
  o.drain_seconds = 0.5;
  o.threads = 1;
  start(o);
  HttpClient probe(port_);
  EXPECT_EQ(probe.get("/ready").status, 200);
  // Requests in flight on several connections when the stop begins.
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      HttpClient client(port_);
      for (int i = 0; i < 20; ++i) {
        const HttpReply r =
            client.post(fmt::format("/v1/sessions/stop-{}/events", c), event(i % 10));
        // Every request sent is answered: 200 until the stop, and after it, on connections the
        // drain closes with its answer, no new connection (the listener is closed).
        if (r.status == 200)
          ++answered;
        else if (r.connected)
          ++failed;  // a request sent and dropped, or refused
        else
          break;  // not sent: the listener is closed
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto start = Clock::now();
  std::thread stopping([&] { server_->stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  HttpClient late(port_);  // still accepted during the drain
  const HttpReply ready = late.get("/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.header("connection"), "close");
  for (auto& t : clients) t.join();
  stopping.join();
  serving_.join();
  EXPECT_LT(since(start), o.shutdown_timeout_seconds + 0.5);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(answered.load(), 0);
  EXPECT_LT(connect_local(port_, 1), 0);  // the listener is closed
  // TearDown stops again: a no-op; serving_ is joined, so restart a thread that returns at once.
  serving_ = std::thread([] {});
}

// Lines a server logged, kept by a sink that may outlive the test's locals.
class Log {
 public:
  void add(const std::string& line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(line);
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// Sends `head`, then `filler` again and again (up to `total` bytes) from a thread while the
// answer is read; returns the answer and how many bytes the server let the client send before
// it closed the connection.
std::pair<HttpReply, size_t> flood(int port, const std::string& head, const std::string& filler,
                                   size_t total) {
  const int fd = connect_local(port, 10);
  EXPECT_GE(fd, 0);
  int small = 64 * 1024;  // a small send buffer: what was sent is close to what was read
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::atomic<size_t> sent{0};
  std::thread sender([&] {
    if (!send_all(fd, head)) return;
    while (sent.load() < total) {
      if (!send_all(fd, filler)) return;
      sent += filler.size();
    }
  });
  std::string buffer;
  HttpReply reply = read_reply(fd, buffer);
  ::shutdown(fd, SHUT_RDWR);
  sender.join();
  ::close(fd);
  return {reply, sent.load()};
}

TEST_F(Hostile, EndlessChunkLinesExtensionsAndTrailersAreCutOff) {
  // Each of these once grew the connection's buffer until the body timeout (2.6 GB from one
  // client). Now the server stops reading within a few times its limits, and answers at once,
  // long before the body timeout.
  TearDown();
  ServerOptions o = small_limits();
  o.body_timeout_seconds = 5;
  start(o);
  const std::string head =
      "POST /v1/sessions/flood/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const size_t total = 256u << 20;
  const std::string filler(64 * 1024, 'a');
  struct Case {
    const char* name;
    std::string start;
  };
  for (const Case& c : {Case{"chunk extension", "1;a="}, Case{"chunk-size line", "1"},
                        Case{"trailer", "0\r\nX-Trailer: "}}) {
    const auto start = Clock::now();
    const auto [reply, sent] = flood(port_, head + c.start, filler, total);
    EXPECT_TRUE(reply.status == 413 || reply.status == 400) << c.name << ": " << reply.status;
    // Socket buffers on both sides hold a few MB at most; the rest was never read.
    EXPECT_LT(sent, 32u << 20) << c.name;
    EXPECT_LT(since(start), 2.5) << c.name << ": answered at the limit, not at the timeout";
  }
  // Many chunks, each line within the limit but the extensions together far beyond the body's
  // allowance on the wire: 413 once it is passed.
  std::string chunks = head;
  for (int i = 0; i < 200; ++i) chunks += "1;ext=" + std::string(3000, 'e') + "\r\n{\r\n";
  chunks += "0\r\n\r\n";
  expect_json_error(raw(chunks), 413);
  // Trailer fields are refused (the head's checks would not apply to them).
  const std::string body = event(1);
  expect_json_error(
      raw(head + fmt::format("{:x}\r\n{}\r\n0\r\nX-Late: 1\r\n\r\n", body.size(), body)), 400);
}

TEST_F(Hostile, TransferCodingsOtherThanChunkedAreRefusedAndNothingIsSmuggled) {
  HttpClient client(port_);
  ASSERT_EQ(client.post("/v1/sessions/victim/events", event(1)).status, 200);
  const std::string hidden = "DELETE /v1/sessions/victim HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const char* coding : {"identity", "gzip", "chunked, identity", "identity, chunked",
                             "gzip, chunked", "chunked, chunked", "xchunked", "chunked;q=1"}) {
    for (const char* method : {"GET /health", "DELETE /v1/sessions/other"}) {
      const int fd = connect_local(port_);
      send_all(fd, fmt::format("{} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {}\r\n\r\n{}", method,
                               coding, hidden));
      const std::string answer = testing::read_until_closed(fd);
      ::close(fd);
      // One answer, an error, and the connection closed: the hidden request never ran.
      EXPECT_TRUE(answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 501"))
          << coding << ": " << answer;
      EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << coding << ": " << answer;
    }
  }
  // Two Transfer-Encoding fields; Transfer-Encoding on HTTP/1.0.
  expect_json_error(raw("GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                    400);
  expect_json_error(raw("GET /health HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                    400);
  // Content-Length and Transfer-Encoding together.
  expect_json_error(raw("POST /v1/recommend HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                    400);
  const HttpReply found = client.get("/v1/sessions/victim/recommendations");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_TRUE(Json::parse(found.body)["session_found"].get<bool>()) << "the hidden DELETE ran";
  // The coding's name is case-insensitive.
  const std::string body = event(2);
  EXPECT_EQ(raw("POST /v1/sessions/victim/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                "Chunked\r\n\r\n" +
                fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", body.size(), body))
                .status,
            200);
}

TEST_F(Hostile, HostAndEncodingFieldsFollowTheRfc) {
  // HTTP/1.1 needs exactly one Host; HTTP/1.0 health checks (HAProxy's) need none.
  expect_json_error(raw("GET /health HTTP/1.1\r\n\r\n"), 400);
  expect_json_error(raw("GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  expect_json_error(raw("GET /health HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
  EXPECT_EQ(raw("GET /health HTTP/1.0\r\n\r\n").status, 200);
  EXPECT_EQ(raw("GET /health HTTP/1.0\r\nHost: x\r\n\r\n").status, 200);
  expect_json_error(raw("GET /health HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  expect_json_error(raw("GET /health HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
  // Every Content-Encoding field counts, not only the first.
  const std::string body = event(1);
  expect_json_error(raw(fmt::format("POST /v1/sessions/ce/events HTTP/1.1\r\nHost: x\r\n"
                                    "Content-Encoding: identity\r\nContent-Encoding: gzip\r\n"
                                    "Content-Length: {}\r\n\r\n{}",
                                    body.size(), body)),
                    415);
  expect_json_error(
      raw(fmt::format("POST /v1/sessions/ce/events HTTP/1.1\r\nHost: x\r\n"
                      "Content-Encoding: identity, gzip\r\nContent-Length: {}\r\n\r\n{}",
                      body.size(), body)),
      415);
  EXPECT_EQ(raw(fmt::format("POST /v1/sessions/ce/events HTTP/1.1\r\nHost: x\r\n"
                            "Content-Encoding: identity\r\nContent-Length: {}\r\n\r\n{}",
                            body.size(), body))
                .status,
            200);
}

TEST_F(Hostile, PagesOfOtherSitesCannotPostIntoSessions) {
  const std::string body = event(1);
  const auto post = [&](const std::string& fields) {
    return raw(
        fmt::format("POST /v1/sessions/csrf/events HTTP/1.1\r\nHost: localhost:{}\r\n{}"
                    "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{}",
                    port_, fields, body.size(), body));
  };
  // What a browser sends for fetch() or a form from another site: refused.
  expect_json_error(post("Origin: https://evil.example\r\n"), 403);
  expect_json_error(post("Origin: null\r\n"), 403);
  expect_json_error(post("Sec-Fetch-Site: cross-site\r\nOrigin: https://evil.example\r\n"), 403);
  expect_json_error(post("Sec-Fetch-Site: same-site\r\n"), 403);
  // The same origin (directly, or through a proxy that rewrites Host), and clients that are not
  // browsers (no Origin): served.
  EXPECT_EQ(post(fmt::format("Origin: http://localhost:{}\r\n", port_)).status, 200);
  EXPECT_EQ(post(fmt::format("Origin: HTTP://LocalHost:{}\r\n", port_)).status, 200);
  expect_json_error(post(fmt::format("Origin: https://localhost:{}.evil.example\r\n", port_)), 403);
  // A default port, named or not, on either side.
  const auto with_host = [&](const std::string& host, const std::string& origin) {
    return raw(
        fmt::format("POST /v1/sessions/csrf/events HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\n"
                    "Content-Length: {}\r\n\r\n{}",
                    host, origin, body.size(), body));
  };
  EXPECT_EQ(with_host("shop.example:443", "https://shop.example").status, 200);
  EXPECT_EQ(with_host("shop.example", "http://shop.example:80").status, 200);
  expect_json_error(with_host("shop.example", "https://shop.example:8443"), 403);
  EXPECT_EQ(post("Sec-Fetch-Site: same-origin\r\nOrigin: https://shop.example\r\n").status, 200);
  EXPECT_EQ(post("").status, 200);
}

TEST_F(Hostile, AdminListenerHasItsOwnBudgetAndNamesItselfByAddress) {
  TearDown();
  ServerOptions o = small_limits();
  o.max_connections = 10;
  start(o);
  // Idle public connections up to the limit, and one more: the public side is full.
  std::vector<int> held;
  for (int i = 0; i < 11; ++i) held.push_back(connect_local(port_));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  HttpClient extra(port_);
  expect_json_error(extra.get("/health"), 503);
  // The operator still gets in.
  const std::string token = fmt::format("Authorization: Bearer {}\r\n", kToken);
  const auto admin = [&](const std::string& host) {
    const int fd = connect_local(server_->admin_port());
    send_all(fd,
             fmt::format("POST /admin/reload HTTP/1.1\r\nHost: {}\r\n{}Content-Length: 0\r\n\r\n",
                         host, token));
    std::string buffer;
    HttpReply r = read_reply(fd, buffer);
    ::close(fd);
    return r;
  };
  EXPECT_EQ(admin("127.0.0.1").status, 200);
  EXPECT_EQ(admin(fmt::format("127.0.0.1:{}", server_->admin_port())).status, 200);
  EXPECT_EQ(admin("localhost").status, 200);
  EXPECT_EQ(admin("[::1]:80").status, 200);
  // A name: what a page of a site whose DNS now points at 127.0.0.1 would send.
  expect_json_error(admin("attacker.example"), 421);
  expect_json_error(admin("attacker.example:8081"), 421);
  for (int fd : held) ::close(fd);
}

TEST_F(Hostile, ConnectionsPerAddressCanBeLimited) {
  TearDown();
  ServerOptions o = small_limits();
  o.max_connections_per_address = 3;
  start(o);
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(connect_local(port_));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  HttpClient fourth(port_);
  const HttpReply r = fourth.get("/health");
  expect_json_error(r, 503);
  EXPECT_NE(r.body.find("your address"), std::string::npos) << r.body;
  // The admin listener is not counted with them (a proxy on this host has the same address).
  HttpClient admin(server_->admin_port());
  EXPECT_EQ(
      admin.post("/admin/reload", "", fmt::format("Authorization: Bearer {}\r\n", kToken)).status,
      200);
  ::close(held.back());
  held.pop_back();
  for (int attempt = 0; attempt < 50; ++attempt) {
    HttpClient again(port_);
    if (again.get("/health").status == 200) {
      for (int fd : held) ::close(fd);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "no connection served after one of the address's closed";
  for (int fd : held) ::close(fd);
}

TEST_F(Hostile, FailedAdminLoginsAreLoggedAndThrottled) {
  const auto log = std::make_shared<Log>();
  app_->set_log([log](const std::string& line) { log->add(line); });
  HttpClient admin(server_->admin_port());
  for (size_t i = 0; i < LoginThrottle::kMaxFailures; ++i)
    expect_json_error(admin.post("/admin/reload", "",
                                 "Authorization: Bearer guess-" + std::to_string(i) + "\r\n"),
                      401);
  // Blocked now, even with the right token, with the time to wait.
  const HttpReply blocked =
      admin.post("/admin/reload", "", fmt::format("Authorization: Bearer {}\r\n", kToken));
  expect_json_error(blocked, 429);
  EXPECT_GE(std::stoi(blocked.header("retry-after")), 50);
  const std::vector<std::string> lines = log->lines();
  ASSERT_EQ(lines.size(), LoginThrottle::kMaxFailures);
  EXPECT_NE(lines.front().find("127.0.0.1"), std::string::npos) << lines.front();
  EXPECT_NE(lines.back().find("refused (429)"), std::string::npos) << lines.back();
}

// The reader alone, fed as a slow client's bytes arrive. Boost 1.81's parser takes a head's
// complete fields as they come and limits each call, not the head: fed a field at a time, a head
// had no bound (found by the fuzzer). The reader keeps the head and the body within their limits
// however the bytes are cut.
TEST(HttpRequestReaderTest, HeadsAndBodiesFedInPiecesKeepTheirBounds) {
  HttpLimits limits;
  limits.max_header_bytes = 256;
  limits.max_body_bytes = 64;
  const auto feed = [](HttpRequestReader& reader, std::string& buffer, std::string_view piece) {
    buffer += piece;
    buffer.erase(0, reader.parse(buffer));
  };
  {
    HttpRequestReader reader(limits);
    std::string buffer;
    feed(reader, buffer, "GET /health HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 1000 && reader.state() == HttpRequestReader::State::kReadingHead; ++i)
      feed(reader, buffer, "X-Field: 0123456789\r\n");
    ASSERT_EQ(reader.state(), HttpRequestReader::State::kFailed);
    EXPECT_EQ(reader.status(), 431);
    EXPECT_LE(reader.bytes_parsed(), limits.max_header_bytes + 1);
  }
  {
    // A head within the limit, byte by byte, is read whole.
    HttpRequestReader reader(limits);
    std::string buffer;
    std::string head = "GET /health HTTP/1.1\r\nHost: x\r\n";
    while (head.size() < 230) head += "X-Pad: 0123456789\r\n";
    head += "\r\n";
    ASSERT_LE(head.size(), limits.max_header_bytes);
    for (const char c : head) feed(reader, buffer, std::string_view(&c, 1));
    EXPECT_EQ(reader.state(), HttpRequestReader::State::kDone);
  }
  {
    // Chunks with extensions, a chunk at a time: cut at the body's allowance on the wire.
    HttpRequestReader reader(limits);
    std::string buffer;
    feed(reader, buffer,
         "POST /v1/recommend HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 1000 && reader.state() == HttpRequestReader::State::kReadingBody; ++i)
      feed(reader, buffer, "1;an-extension=0123456789\r\n{\r\n");
    ASSERT_EQ(reader.state(), HttpRequestReader::State::kFailed);
    EXPECT_EQ(reader.status(), 413);
    EXPECT_LE(reader.bytes_parsed(), limits.max_header_bytes + reader.wire_limit() + 1);
  }
}

TEST(LoginThrottleTest, CountsFailuresPerAddressWithinAWindow) {
  LoginThrottle throttle;
  for (size_t i = 0; i < LoginThrottle::kMaxFailures; ++i) {
    EXPECT_EQ(throttle.blocked_for("a", 100), 0) << i;
    EXPECT_FALSE(throttle.record_failure("a", 100).empty());
  }
  EXPECT_NEAR(throttle.blocked_for("a", 110), LoginThrottle::kWindowSeconds - 10, 1e-9);
  EXPECT_EQ(throttle.blocked_for("b", 110), 0);                                  // another address
  EXPECT_EQ(throttle.blocked_for("a", 100 + LoginThrottle::kWindowSeconds), 0);  // window over
  // A new window starts from zero.
  throttle.record_failure("a", 200);
  EXPECT_EQ(throttle.blocked_for("a", 200), 0);
  // Many addresses: memory stays bounded.
  for (size_t i = 0; i < 3 * LoginThrottle::kMaxAddresses; ++i) {
    throttle.record_failure(std::to_string(i), 300);
    ASSERT_LE(throttle.addresses(), LoginThrottle::kMaxAddresses) << i;
  }
}

TEST_F(Hostile, FailedAdminReloadsAreLoggedAndHeldOffForASecond) {
  const auto log = std::make_shared<Log>();
  app_->set_log([log](const std::string& line) { log->add(line); });
  const std::string saved = *model_path_ + ".saved";
  std::filesystem::copy_file(*model_path_, saved,
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream out(*model_path_, std::ios::trunc);
    out << "not a model";
  }
  HttpClient admin(server_->admin_port());
  const std::string token = fmt::format("Authorization: Bearer {}\r\n", kToken);
  expect_json_error(admin.post("/admin/reload", "", token), 422);
  const HttpReply again = admin.post("/admin/reload", "", token);
  expect_json_error(again, 429);
  EXPECT_EQ(again.header("retry-after"), "1");
  std::filesystem::rename(saved, *model_path_);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(admin.post("/admin/reload", "", token).status, 200);
  const std::vector<std::string> lines = log->lines();
  ASSERT_EQ(lines.size(), 1u);  // the failure (the reload that follows changes nothing)
  EXPECT_NE(lines[0].find("Reload through the admin listener failed"), std::string::npos)
      << lines[0];
}

TEST_F(Hostile, EveryLimitOfARequestHasItsBoundary) {
  HttpClient client(port_);
  // Session ids: 256 bytes, the default limit, are fine; 257 are not.
  ServerOptions defaults;
  const std::string longest(defaults.max_session_id_bytes, 's');
  EXPECT_EQ(client.post("/v1/sessions/" + longest + "/events", event(1)).status, 200);
  expect_json_error(client.post("/v1/sessions/" + longest + "s/events", event(1)), 400);
  // Lists of items: 1000 ids at most (here in a larger body limit).
  TearDown();
  ServerOptions o = small_limits();
  o.max_body_bytes = 64 * 1024;
  start(o);
  HttpClient big(port_);
  const auto list = [&](size_t n) {
    std::string items;
    for (size_t i = 0; i < n; ++i)
      items += (i ? ",\"" : "\"") + item(static_cast<int32_t>(i % 50)) + "\"";
    return "[" + items + "]";
  };
  for (const char* field : {"items", "exclude", "include"}) {
    const std::string base =
        std::string(field) == "items" ? "" : "\"items\":[\"" + item(1) + "\"],";
    EXPECT_EQ(big.post("/v1/recommend",
                       "{" + base + "\"" + field + "\":" + list(o.max_request_items) + "}")
                  .status,
              200)
        << field;
    expect_json_error(big.post("/v1/recommend", "{" + base + "\"" + field +
                                                    "\":" + list(o.max_request_items + 1) + "}"),
                      400);
  }
}

}  // namespace
}  // namespace gru4rec
