// gru4rec serve: the HTTP recommendation server (a thin layer over gru4rec_serve).
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/serve/server.h"
#include "gru4rec/serve/server_runner.h"

namespace gru4rec::cli {
namespace {

struct ServeOptions {
  std::string model_path;
  ServerOptions server;
  std::string item_weights = "float32";
  size_t max_session_memory_mib = 1024;
  std::string admin_token_file;
  std::vector<std::string> variants;
  std::string retrieval = "auto", ann_index = "ivf";
};

void run_serve(const ServeOptions& o) {
  // Before any thread starts: only the server's signal thread takes SIGHUP, SIGINT, SIGTERM.
  block_server_signals();
  ServerOptions options = o.server;
  for (const std::string& text : o.variants) options.variants.push_back(parse_variant(text));
  options.max_session_memory = o.max_session_memory_mib << 20;
  if (options.admin_port >= 0) options.admin_token = read_admin_token(o.admin_token_file);
  ServeApp app(options, o.model_path);
  const auto log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  app.set_log(log);
  HttpServer server(app);
  const int port = server.bind();
  for (size_t v = 0; v < app.variant_count(); ++v) {
    const auto model = app.model_of(v);
    fmt::print(stderr, "Variant {} (weight {}): {} ({}, {} items)\n", app.variant(v).name,
               app.variant(v).weight, app.variant(v).source, model->description(),
               model->num_items());
    if (const auto rec = std::dynamic_pointer_cast<const Recommender>(model))
      fmt::print(stderr, "Retrieval: {}\n", rec->retrieval_summary());
  }
  fmt::print(stderr,
             "Serving {} on http://{}:{} (sessions: {}, max {} sessions, {} MiB; session idle "
             "timeout {} s; max {} connections; experiment {})\n",
             app.variant_count() == 1 ? std::string("1 model")
                                      : fmt::format("{} variants", app.variant_count()),
             options.host, port, options.session_store, options.max_sessions,
             o.max_session_memory_mib, options.session_ttl_seconds, options.max_connections,
             options.experiment);
  if (server.admin_port() >= 0) {
    fmt::print(stderr, "Admin (POST /admin/reload, with the token) on http://{}:{}\n",
               options.admin_host, server.admin_port());
  }
  run_server(app, server, log);
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "serve recommendations for live sessions over HTTP");
  cmd->add_option("MODEL", o->model_path,
                  "model file written by gru4rec train -s (or give --variant)");
  cmd->add_option("--variant", o->variants,
                  "A/B test: NAME=MODEL[:WEIGHT] or NAME=ALGO[,key=value...]@TRAIN[:WEIGHT] "
                  "(ALGO: pop, spop, itemknn, vsknn, sr, stan, vstan, hybrid,model=M.g4r), "
                  "repeatable; sessions are "
                  "assigned by a hash of their id; results at GET /v1/experiments");
  cmd->add_option("--experiment", o->server.experiment,
                  "name of the A/B test: seeds the assignment and keys the counters shared in "
                  "Redis")
      ->capture_default_str();
  cmd->add_option("--host", o->server.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o->server.port, "port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--io-threads", o->server.io_threads,
                  "event loops that read and write the connections (0: one per core)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  cmd->add_option("--threads", o->server.threads,
                  "threads for the model work of requests (0: 32 per core; waiting ones are scored "
                  "together)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  cmd->add_option("--max-connections", o->server.max_connections,
                  "open connections; beyond, 503 with Retry-After")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--max-admin-connections", o->server.max_admin_connections,
                  "open connections to the admin listener (a budget of its own); beyond, 503")
      ->check(CLI::Range(1.0, 1e5))
      ->capture_default_str();
  cmd->add_option("--max-connections-per-address", o->server.max_connections_per_address,
                  "open connections from one client address; beyond, 503 (0: no limit; behind a "
                  "load balancer every client has its address)")
      ->check(CLI::Range(0.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--max-queue", o->server.max_queued_requests,
                  "requests waiting for a model thread; beyond, 503")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--session-store", o->server.session_store,
                  "where sessions live: memory, or redis://HOST[:PORT][/DB] (shared by replicas)")
      ->capture_default_str();
  cmd->add_option("--session-store-timeout", o->server.session_store_timeout_seconds,
                  "seconds per Redis command; beyond, answers come from the request alone "
                  "(\"degraded\": true)")
      ->check(CLI::Range(0.001, 60.0))
      ->capture_default_str();
  cmd->add_option(
         "--max-sessions", o->server.max_sessions,
         "live sessions kept; beyond, sessions used once are evicted first, then the least "
         "recently used")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--session-ttl", o->server.session_ttl_seconds,
                  "seconds after which an idle session is forgotten")
      ->check(CLI::Range(1.0, 1e8))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", o->server.max_body_bytes, "largest request body accepted")
      ->check(CLI::Range(16.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--max-k", o->server.max_k, "largest k accepted")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--max-session-memory", o->max_session_memory_mib,
                  "MiB the live sessions may take; evicted beyond as for --max-sessions")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--max-header-bytes", o->server.max_header_bytes,
                  "largest request head (request line and header fields)")
      ->check(CLI::Range(256.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--max-header-count", o->server.max_header_count, "most header fields")
      ->check(CLI::Range(1.0, 1e5))
      ->capture_default_str();
  cmd->add_option("--head-timeout", o->server.head_timeout_seconds,
                  "seconds from a request's first byte to the end of its head")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_option("--body-timeout", o->server.body_timeout_seconds,
                  "seconds for a whole request body")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_option("--idle-timeout", o->server.idle_timeout_seconds,
                  "seconds a kept-alive connection may wait for its next request")
      ->check(CLI::Range(0.01, 86400.0))
      ->capture_default_str();
  cmd->add_option("--max-requests-per-connection", o->server.max_requests_per_connection,
                  "requests on one kept-alive connection before it is closed")
      ->check(CLI::Range(1.0, 1e12))
      ->capture_default_str();
  cmd->add_option("--request-deadline", o->server.request_deadline_seconds,
                  "seconds a request may wait for a model thread; later, 503")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  cmd->add_option("--drain", o->server.drain_seconds,
                  "on SIGTERM: seconds /ready answers 503 while new connections are still served")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", o->server.shutdown_timeout_seconds,
                  "on SIGTERM: seconds after which the process stops, answered or not")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--item-weights", o->item_weights,
                  "precision of the item weights for scoring: float16 streams half the bytes "
                  "(scores differ by ~1e-3 relative), int8 a quarter (a scale per item; scores "
                  "differ by ~1e-2 relative)")
      ->check(CLI::IsMember({"float32", "float16", "int8"}))
      ->capture_default_str();
  cmd->add_option("--batch-wait", o->server.batch_wait_seconds,
                  "seconds a request that finds the scorer idle under load waits for others, to "
                  "score them in one pass over the item matrix (0: never waits)")
      ->check(CLI::Range(0.0, 0.1))
      ->capture_default_str();
  cmd->add_option("--admin-port", o->server.admin_port,
                  "port of the admin listener (POST /admin/reload; -1: none, 0: any free port)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  cmd->add_option("--admin-host", o->server.admin_host, "address of the admin listener")
      ->capture_default_str();
  cmd->add_option("--max-model-bytes", o->server.max_model_bytes,
                  "largest model file loaded (at start and on reload); only regular files are "
                  "loaded")
      ->check(CLI::Range(1.0, 1e15))
      ->capture_default_str();
  cmd->add_option("--admin-token-file", o->admin_token_file,
                  "file holding the admin token (else GRU4REC_ADMIN_TOKEN); admin requests "
                  "send it as Authorization: Bearer TOKEN");
  RetrievalOptions& r = o->server.retrieval;
  cmd->add_option("--retrieval", o->retrieval,
                  "top-k over every item (exact) or from a FAISS index (ann: approximate, for "
                  "large catalogs); auto: ann from --ann-min-items items")
      ->check(CLI::IsMember({"exact", "ann", "auto"}))
      ->capture_default_str();
  cmd->add_option("--ann-min-items", r.auto_min_items, "--retrieval auto: ann from this many items")
      ->check(CLI::Range(1.0, 1e12))
      ->capture_default_str();
  cmd->add_option("--ann-index", o->ann_index,
                  "approximate index: ivf (inverted lists, inner product) or hnsw (graph)")
      ->check(CLI::IsMember({"ivf", "hnsw"}))
      ->capture_default_str();
  cmd->add_option("--ann-nlist", r.nlist, "ivf: lists (0: 4 sqrt(items))")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--ann-nprobe", r.nprobe,
                  "ivf: lists scanned per request (0: nlist / 128, at least 8); more: closer to "
                  "exact, slower")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--ann-hnsw-m", r.hnsw_m, "hnsw: links per node")
      ->check(CLI::Range(4, 256))
      ->capture_default_str();
  cmd->add_option("--ann-ef-construction", r.ef_construction, "hnsw: candidates while building")
      ->check(CLI::Range(8, 4096))
      ->capture_default_str();
  cmd->add_option("--ann-ef-search", r.ef_search,
                  "hnsw: candidates per request; more: closer to exact, slower")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->callback([o]() {
    o->server.retrieval.mode = parse_retrieval_mode(o->retrieval);
    o->server.retrieval.index = parse_ann_index_type(o->ann_index);
    validate(o->server.retrieval);
    o->server.item_weights = parse_weight_precision(o->item_weights);
    run_serve(*o);
  });
}

}  // namespace gru4rec::cli
