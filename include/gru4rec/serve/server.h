// `gru4rec serve`: an HTTP/JSON server that recommends the next items for live sessions, event
// by event, keeping each session's GRU state (see docs/openapi.json for the API).
//
// Thread safety: handle() may be called from any number of threads at once; reload() may run
// concurrently with them (the new model is loaded and validated next to the old one and then
// swapped in atomically; requests in flight finish on the model they started with).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "gru4rec/core/parallel.h"
#include "gru4rec/serve/recommender.h"
#include "gru4rec/serve/session_store.h"

namespace gru4rec {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  // Connection threads: httplib serves a kept-alive connection on one thread for its whole
  // life, so this bounds the concurrent connections (the model work per request is short).
  int threads = 128;
  size_t max_sessions = 1'000'000;
  double session_ttl_seconds = 1800;
  size_t max_body_bytes = 64 * 1024;
  size_t max_session_id_bytes = 256;
  size_t max_k = 1000;
  size_t max_request_items = 1000;  // items, exclude and include lists
  double read_timeout_seconds = 5;
  double write_timeout_seconds = 5;
  bool enable_admin = false;  // POST /admin/reload
  // Storage of the item weights for scoring: float16 halves the bytes streamed per product
  // (scores then differ by about 1e-3 relative from the offline evaluator's).
  WeightPrecision item_weights = WeightPrecision::kFloat32;
};

// A response: HTTP status, content type and body.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class ServeApp {
 public:
  // Loads the model (throws Error on a bad file).
  ServeApp(const ServerOptions& options, std::string model_path);

  // Routes one request (method, path without query, query string, body) to its handler.
  Response handle(std::string_view method, std::string_view path, std::string_view query,
                  std::string_view body);

  // Loads the model again from its path (or `path` when not empty), validates it and swaps it
  // in; returns false, changing nothing, when the file holds the model being served (same
  // content id). Throws and keeps the old model serving on any failure (Error for a bad file).
  bool reload(const std::string& path = "");

  std::shared_ptr<const Recommender> recommender() const;
  SessionStore& sessions() { return *sessions_; }
  const ServerOptions& options() const { return options_; }
  // Prometheus text of the counters.
  std::string metrics_text() const;
  // Records a finished request (for /metrics).
  void record(int status, double seconds);

 private:
  Response session_events(std::string_view id, std::string_view body);
  Response session_recommendations(std::string_view id, std::string_view query);
  Response session_delete(std::string_view id);
  Response stateless(std::string_view body);
  Response model_summary() const;
  // Recomputes a session that another model computed, from its items (those this model knows).
  void rebuild(SessionState& session, const Recommender& rec) const;

  ServerOptions options_;
  std::string model_path_;
  std::mutex reload_mutex_;
  std::atomic<std::shared_ptr<const Recommender>> recommender_;
  ItemIndex registry_;  // item ids of every model loaded (guarded by reload_mutex_)
  std::atomic<uint64_t> next_version_{1};
  std::unique_ptr<MemorySessionStore> sessions_;

  static constexpr size_t kBuckets = 12;
  std::atomic<uint64_t> requests_{0}, client_errors_{0}, server_errors_{0};
  std::atomic<uint64_t> latency_buckets_[kBuckets + 1] = {};
  std::atomic<uint64_t> latency_micros_sum_{0};
  std::atomic<uint64_t> reloads_{0};
};

// The OpenAPI 3 description of the API (docs/openapi.json, compiled in).
std::string_view openapi_document();

// Serves `app` over HTTP on options.host:options.port until stop() (from another thread or a
// signal handler's thread); SIGHUP handling is the caller's (call app.reload()).
class HttpServer {
 public:
  explicit HttpServer(ServeApp& app);
  ~HttpServer();
  // Binds the socket; returns the port (useful with port 0). Throws Error when it cannot bind.
  int bind();
  // Serves until stop(); returns after the listening socket is closed.
  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gru4rec
