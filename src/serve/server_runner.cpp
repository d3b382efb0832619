#include "gru4rec/serve/server_runner.h"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

sigset_t server_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

// Threads started before the signals were blocked (OpenBLAS starts its pool when the library
// is loaded: FAISS's k-means links it) may receive them: a handler forwards them to the signal
// thread, whose sigwait() takes them.
std::atomic<pthread_t> signal_thread_id{};
extern "C" void forward_signal(int signal) {
  pthread_kill(signal_thread_id.load(), signal);
}

// What a reload did, for the log; nullopt when another one (through the admin listener) runs.
std::optional<std::string> reload_message(ServeApp& app) {
  try {
    if (!app.reload()) return "Reload: the files hold the models being served; nothing changed";
    std::string message = fmt::format("Reloaded (model version {})", app.model_of(0)->version());
    if (const auto rec = app.recommender())
      message += fmt::format("\nRetrieval: {}", rec->retrieval_summary());
    return message;
  } catch (const ReloadInProgress&) {
    return std::nullopt;
  } catch (const std::exception& e) {  // any failure: the old model keeps serving
    return fmt::format("Reload failed, still serving the previous model: {}", e.what());
  }
}

// Reloads asked for by SIGHUP, run on a thread of their own: the signal thread stays free for
// SIGTERM whatever a reload does. SIGHUPs that come during a reload make one more after it; one
// that comes during a reload through the admin listener waits for it, then reloads.
class Reloader {
 public:
  Reloader(ServeApp& app, const std::function<void(const std::string&)>& log)
      : thread_([this, &app, &log] {
          std::unique_lock lock(mutex_);
          for (;;) {
            wake_.wait(lock, [&] { return stopping_ || pending_; });
            if (stopping_) return;
            pending_ = false;
            lock.unlock();
            std::optional<std::string> message;
            while (!(message = reload_message(app))) {
              lock.lock();
              if (wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; }))
                return;
              lock.unlock();
            }
            log(*message);
            lock.lock();
          }
        }) {}
  ~Reloader() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void request() {
    {
      std::lock_guard lock(mutex_);
      pending_ = true;
    }
    wake_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false, stopping_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace

void block_server_signals() {
  const sigset_t signals = server_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void run_server(ServeApp& app, HttpServer& server,
                const std::function<void(const std::string&)>& log) {
  block_server_signals();
  app.set_log(log);
  Reloader reloader(app, log);
  std::atomic<bool> served{false};  // serve() returned: the signal thread just ends
  std::thread signal_thread([&] {
    const sigset_t signals = server_signals();
    for (;;) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      if (served.load()) return;
      if (signal == SIGHUP) {
        reloader.request();
        continue;
      }
      log("Stopping: /ready answers 503, finishing the requests in flight");
      server.stop();
      return;
    }
  });
  signal_thread_id.store(signal_thread.native_handle());
  struct sigaction forward = {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  for (int signal : {SIGHUP, SIGINT, SIGTERM}) sigaction(signal, &forward, nullptr);
  std::atomic<bool> running{true};
  std::thread sweeper([&] {
    // Idle sessions are dropped on access; this also frees those never accessed again.
    // expire() also counts a shared store's sessions for /metrics, off the event loops.
    app.sessions().expire();
    for (int tick = 1; running.load(); ++tick) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (tick % 50 == 0) app.sessions().expire();
      if (tick % 10 == 0) app.experiment().flush();  // to Redis, when shared
    }
  });
  server.serve();
  // Stopped by server.stop() from elsewhere, the signal thread still waits: wake it.
  served.store(true);
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  running.store(false);
  sweeper.join();
  app.experiment().flush();  // the last counts, for the replicas still serving
}

std::string read_admin_token(const std::string& file) {
  std::string token;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw Error(fmt::format("{}: cannot read the admin token file", file));
    std::getline(in, token);
  } else if (const char* env = std::getenv("GRU4REC_ADMIN_TOKEN")) {
    token = env;
  }
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!token.empty() && blank(token.back())) token.pop_back();
  while (!token.empty() && blank(token.front())) token.erase(token.begin());
  const std::string source = file.empty() ? std::string("GRU4REC_ADMIN_TOKEN") : file;
  if (token.size() < 16) {
    throw Error(fmt::format(
        "{}: the admin token must have at least 16 characters (--admin-token-file FILE or "
        "GRU4REC_ADMIN_TOKEN; e.g. openssl rand -hex 32)",
        source));
  }
  // What goes into an Authorization field as it is: visible ASCII, no blanks.
  for (const char c : token) {
    if (c <= ' ' || c >= 0x7F)
      throw Error(
          fmt::format("{}: the admin token must be visible ASCII characters without blanks "
                      "(e.g. openssl rand -hex 32)",
                      source));
  }
  // A token of one repeated character (or a few) is a placeholder, not a secret.
  std::string distinct = token;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() < 8) {
    throw Error(fmt::format(
        "{}: the admin token has only {} distinct characters; a secret needs at least 8 (e.g. "
        "openssl rand -hex 32)",
        source, distinct.size()));
  }
  return token;
}

}  // namespace gru4rec
