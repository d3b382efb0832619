// gru4rec serve: the HTTP recommendation server (a thin layer over gru4rec_serve).
#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/serve/server.h"

namespace gru4rec::cli {
namespace {

struct ServeOptions {
  std::string model_path;
  ServerOptions server;
  std::string item_weights = "float32";
};

void run_serve(const ServeOptions& o) {
  // Signals go to a thread of their own (sigwait), blocked everywhere else: SIGHUP reloads the
  // model, SIGINT and SIGTERM stop the server.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServeApp app(o.server, o.model_path);
  HttpServer server(app);
  const int port = server.bind();
  const auto rec = app.recommender();
  fmt::print(stderr,
             "Serving {} ({} items) on http://{}:{} (max {} sessions, idle timeout {} s{})\n",
             o.model_path, rec->model().num_items(), o.server.host, port, o.server.max_sessions,
             o.server.session_ttl_seconds, o.server.enable_admin ? ", admin enabled" : "");
  std::thread signal_thread([&] {
    for (;;) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      if (signal == SIGHUP) {
        try {
          if (app.reload()) {
            fmt::print(stderr, "Reloaded {} (model version {})\n", o.model_path,
                       app.recommender()->version());
          } else {
            fmt::print(stderr, "Reload: {} holds the model being served; nothing changed\n",
                       o.model_path);
          }
        } catch (const std::exception& e) {  // any failure: the old model keeps serving
          fmt::print(stderr, "Reload failed, still serving the previous model: {}\n", e.what());
        }
        continue;
      }
      fmt::print(stderr, "Stopping\n");
      server.stop();
      return;
    }
  });
  std::atomic<bool> running{true};
  std::thread sweeper([&] {
    // Idle sessions are dropped on access; this also frees those never accessed again.
    for (int tick = 1; running.load(); ++tick) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (tick % 50 == 0) app.sessions().expire();
    }
  });
  server.serve();
  signal_thread.join();
  running.store(false);
  sweeper.join();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "serve recommendations for live sessions over HTTP");
  cmd->add_option("MODEL", o->model_path, "model file written by gru4rec train -s")->required();
  cmd->add_option("--host", o->server.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", o->server.port, "port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--threads", o->server.threads,
                  "connection threads (a kept-alive connection holds one)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--max-sessions", o->server.max_sessions,
                  "live sessions kept; the least recently used are evicted")
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
  cmd->add_option("--timeout", o->server.read_timeout_seconds,
                  "seconds to wait for a request or a slow client")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_option("--item-weights", o->item_weights,
                  "precision of the item weights for scoring: float16 streams half the bytes "
                  "(scores differ by ~1e-3 relative)")
      ->check(CLI::IsMember({"float32", "float16"}))
      ->capture_default_str();
  cmd->add_flag("--enable-admin", o->server.enable_admin,
                "enable POST /admin/reload (SIGHUP always reloads)");
  cmd->callback([o]() {
    o->server.write_timeout_seconds = o->server.read_timeout_seconds;
    o->server.item_weights =
        o->item_weights == "float16" ? WeightPrecision::kFloat16 : WeightPrecision::kFloat32;
    run_serve(*o);
  });
}

}  // namespace gru4rec::cli
