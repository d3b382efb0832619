// `gru4rec serve`: an HTTP/JSON server that recommends the next items for live sessions, event
// by event, keeping each session's GRU state (see docs/openapi.json for the API).
//
// Thread safety: handle() may be called from any number of threads at once; reload() may run
// concurrently with them (the new model is loaded and validated next to the old one and then
// swapped in atomically; requests in flight finish on the model they started with).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <stdexcept>
#include <string>

#include "gru4rec/core/parallel.h"
#include "gru4rec/serve/experiment.h"
#include "gru4rec/serve/recommender.h"
#include "gru4rec/serve/redis_session_store.h"
#include "gru4rec/serve/session_store.h"

namespace gru4rec {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  // Event loops (threads that read and write sockets); 0: one per core.
  int io_threads = 0;
  // Threads that run the model work of requests (GRU steps, scoring): requests that wait
  // together for a scoring slot are scored with one product (see Recommender), so there are
  // many (a waiting thread costs no CPU). 0: 32 per core.
  int threads = 0;
  size_t max_connections = 10'000;    // beyond: 503 with Retry-After, connection closed
  size_t max_admin_connections = 16;  // the admin listener's own budget, apart from the above
  // Open connections from one client address; beyond: 503. 0: no such limit (behind a load
  // balancer every client has the balancer's address).
  size_t max_connections_per_address = 0;
  size_t max_queued_requests = 1024;  // waiting for a model thread; beyond: 503
  // Where sessions live: "memory" (this process), or "redis://HOST[:PORT][/DB]" (shared by
  // every replica naming it; the bounds below are then Redis's, only the TTL applies).
  std::string session_store = "memory";
  double session_store_timeout_seconds = 0.1;  // per Redis command; beyond: degraded answers
  size_t max_sessions = 1'000'000;
  // Bytes the session store may take (the heap blocks of states, items, ids, list nodes and
  // index tables, as malloc sizes them); the least recently used sessions are evicted beyond it.
  // 0: no bound but max_sessions.
  size_t max_session_memory = 1024ull << 20;
  double session_ttl_seconds = 1800;
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;  // request line and header fields together
  size_t max_header_count = 64;
  size_t max_session_id_bytes = 256;
  size_t max_k = 1000;
  size_t max_request_items = 1000;    // items, exclude and include lists
  double head_timeout_seconds = 10;   // from a request's first byte to the end of its head
  double body_timeout_seconds = 10;   // for the whole body
  double write_timeout_seconds = 10;  // for a whole answer
  double idle_timeout_seconds = 60;   // a kept-alive connection without a request
  size_t max_requests_per_connection = 100'000;
  double request_deadline_seconds = 2;  // a request waiting longer for a model thread: 503
  // Graceful stop: /ready answers 503 and new connections are still served for drain_seconds
  // (time for a load balancer to notice), then the listeners close; the process stops at most
  // shutdown_timeout_seconds after stop() began, answered or not, unless a reload is running
  // then: it is waited for (a file of at most max_model_bytes, read without blocking).
  double drain_seconds = 1;
  double shutdown_timeout_seconds = 10;
  // Admin endpoints (POST /admin/reload) on their own listener; admin_port < 0: none. Every
  // admin request needs `Authorization: Bearer <admin_token>` (admin_token must not be empty).
  std::string admin_host = "127.0.0.1";
  int admin_port = -1;
  std::string admin_token;
  // The largest model file loaded (at start and on reload); a bigger one is refused, as is
  // anything but a regular file (a FIFO or a device would block the reload, /dev/zero never end).
  uint64_t max_model_bytes = 8ull << 30;
  // A/B test: the variants served, each session assigned to one by a hash of its id (empty: one
  // variant, "default", serving the model ServeApp is given). `experiment` names the test: it
  // seeds the assignment and keys the counters shared through the session store's Redis.
  std::vector<VariantSpec> variants;
  std::string experiment = "default";
  // Storage of the item weights for scoring: float16 halves the bytes streamed per product
  // (scores then differ by about 1e-3 relative from the offline evaluator's).
  WeightPrecision item_weights = WeightPrecision::kFloat32;
  // Exact or approximate top-k (FAISS) for large catalogs; the index is built at every load.
  RetrievalOptions retrieval;
  // Under load, a request that finds the scorer idle waits this long for others to be scored
  // with it in one pass over the item matrix (Recommender); 0: never waits.
  double batch_wait_seconds = 250e-6;
};

// ServeApp::reload() while another reload runs.
struct ReloadInProgress : std::runtime_error {
  ReloadInProgress() : std::runtime_error("another reload is running") {}
};

// A response: HTTP status, content type and body.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Where a request came in: the public listener, or the admin one (loopback, with a token).
enum class Listener { kPublic, kAdmin };

// The JSON error answer of every failed request: {"error": {"status": N, "message": "..."}}.
Response error_response(int status, std::string_view message);

class ServeApp : private SessionCodec {
 public:
  // Loads the model, or the models of options.variants when model_path is empty (throws Error
  // on a bad file, or when both or neither are given).
  ServeApp(const ServerOptions& options, std::string model_path);

  // Routes one request to its handler: method, raw path (not percent-decoded: the session id
  // segment is split off first, then decoded), raw query string and body. Admin endpoints
  // exist only on the admin listener (the HTTP layer checks the token first).
  Response handle(std::string_view method, std::string_view path, std::string_view query,
                  std::string_view body, Listener listener = Listener::kPublic);

  // Loads every variant's model again from its source (the first variant's from `path` when
  // not empty), validates it and swaps it in; returns false when nothing changed (the files
  // hold the models being served: same content id). Throws and keeps the old models serving
  // on any failure (Error for a bad file, ReloadInProgress when another reload is running:
  // reloads never wait for each other).
  bool reload(const std::string& path = "");

  // Shutting down: /ready answers 503 from now on (requests are still answered).
  void set_draining() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  // The first variant's model when it is a GRU4Rec model (else nullptr).
  std::shared_ptr<const Recommender> recommender() const;
  size_t variant_count() const { return variants_.size(); }
  const VariantSpec& variant(size_t v) const { return variants_[v]->spec; }
  std::shared_ptr<const SessionModel> model_of(size_t variant) const;
  // The variant of a session (see experiment.h).
  size_t variant_of(std::string_view session_id) const;
  ExperimentCounters& experiment() { return *experiment_; }
  SessionStore& sessions() { return *sessions_; }
  const ServerOptions& options() const { return options_; }
  // Prometheus text of the counters.
  std::string metrics_text() const;
  // Where the server's events go (failed admin logins and reloads, warnings): one line each,
  // from any thread (`log` must be thread-safe; calls are not serialized). Default: nowhere.
  void set_log(std::function<void(const std::string&)> log) {
    std::lock_guard lock(log_mutex_);
    log_ = std::make_shared<const std::function<void(const std::string&)>>(std::move(log));
  }
  void log(const std::string& line) const {
    std::shared_ptr<const std::function<void(const std::string&)>> sink;
    {
      std::lock_guard lock(log_mutex_);
      sink = log_;
    }
    if (sink && *sink) (*sink)(line);
  }
  // Records a finished request (for /metrics).
  void record(int status, double seconds);
  // Records a connection refused by the connection limit, a request refused by the queue
  // limit or its deadline, and the open connections (for /metrics; set by the HTTP layer).
  void record_refused_connection() { refused_connections_++; }
  void record_shed_request() { shed_requests_++; }
  void add_open_connections(int64_t delta) { open_connections_ += delta; }

 private:
  Response route(std::string_view method, std::string_view path, std::string_view query,
                 std::string_view body, Listener listener);
  Response session_events(std::string_view id, std::string_view body);
  Response session_recommendations(std::string_view id, std::string_view query);
  Response session_delete(std::string_view id);
  Response stateless(std::string_view body);
  Response model_summary() const;
  Response experiments();
  nlohmann::json variants_json() const;
  Response admin_reload();
  // Recomputes a session that another model computed, from its items (those this model knows).
  void rebuild(SessionState& session, const SessionModel& rec) const;
  // The first variant's model that `match` accepts (nullptr: none).
  std::shared_ptr<const SessionModel> find_model(
      const std::function<bool(const SessionModel&)>& match) const;
  // A new model for a variant from `source`, or nullptr when it holds the variant's current
  // model (same content id); the caller holds reload_mutex_.
  std::shared_ptr<const SessionModel> load_variant(size_t variant, const std::string& source);
  // SessionCodec: between SessionState and the portable record of a shared store.
  SessionRecord to_record(const SessionState& state) const override;
  SessionState from_record(const SessionRecord& record) const override;
  std::vector<std::string> item_ids(std::span<const int32_t> items) const override;

  struct Variant {
    VariantSpec spec;
    std::atomic<std::shared_ptr<const SessionModel>> model;
  };

  ServerOptions options_;
  std::mutex reload_mutex_;
  std::vector<std::unique_ptr<Variant>> variants_;
  std::unique_ptr<VariantAssignment> assignment_;
  std::unique_ptr<ExperimentCounters> experiment_;
  ItemIndex registry_;  // item ids of every model loaded (written under both mutexes)
  mutable std::shared_mutex registry_mutex_;
  std::atomic<uint64_t> next_version_{1};
  std::unique_ptr<SessionStore> sessions_;
  std::atomic<bool> draining_{false};
  mutable std::mutex log_mutex_;
  std::shared_ptr<const std::function<void(const std::string&)>> log_;  // guarded by log_mutex_
  // A reload through the admin listener that failed holds the next ones off until then.
  std::atomic<double> admin_reload_after_{0};

  static constexpr size_t kBuckets = kLatencyBounds.size();
  std::atomic<uint64_t> requests_{0}, client_errors_{0}, server_errors_{0};
  std::atomic<uint64_t> latency_buckets_[kBuckets + 1] = {};
  std::atomic<uint64_t> latency_micros_sum_{0};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> refused_connections_{0}, shed_requests_{0}, degraded_{0};
  std::atomic<int64_t> open_connections_{0};
};

// The OpenAPI 3 description of the API (docs/openapi.json, compiled in).
std::string_view openapi_document();

// Serves `app` over HTTP/1.1 on options.host:options.port (and the admin listener when
// options.admin_port >= 0): a few event loops (Boost.Asio) read and write every connection;
// the model work runs on a pool of options.threads, so a slow or idle client holds no thread.
// Limits (each answered with its status and a JSON error): head bytes and field count (431),
// head and body timeouts (408), body size in every transfer mode (413), a length for bodies
// (411), compressed bodies (415), connections (503 + Retry-After), queue and deadline (503).
// SIGHUP and SIGTERM handling are the caller's (call app.reload() and stop()).
class HttpServer {
 public:
  explicit HttpServer(ServeApp& app);
  ~HttpServer();  // stop()s when still serving
  // Binds the listeners; returns the public port (useful with port 0). Throws Error when it
  // cannot bind, or when an admin port is set without a token.
  int bind();
  // The admin listener's port after bind(); -1 without one.
  int admin_port() const;
  // Runs the event loops on this thread and io_threads - 1 others until stop() has finished.
  void serve();
  // Graceful stop (from any thread but the event loops'): /ready turns 503, listeners close
  // after drain_seconds, requests in flight and queued are answered, idle connections closed;
  // returns when every connection is gone or shutdown_timeout_seconds have passed.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gru4rec
