// gru4rec replay: a test log through a running server as live traffic, event by event, then
// what the server measured of it (GET /v1/experiments before and after: the difference).
// With one variant serving model M, the online HitRate@m and MRR@m equal `gru4rec eval M TEST
// -m m` Recall@m and MRR@m: offline and online agree when the world behaves like the log.
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/serve/experiment.h"

namespace gru4rec::cli {
namespace {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct ReplayOptions {
  std::string test_path;
  std::string server = "http://127.0.0.1:8080";
  int cutoff = 20;
  int64_t sessions = 0;  // 0: all
  int concurrency = 8;
  std::string session_prefix;  // "": replay-<random>-
  bool json = false;
  DataOptions data;
};

struct Target {
  std::string host, port;
};

Target parse_server(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest(url);
  if (rest.substr(0, kScheme.size()) != kScheme)
    throw Error(fmt::format("--server '{}': expected http://HOST:PORT", url));
  rest.remove_prefix(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || rest.find('/') != std::string_view::npos)
    throw Error(fmt::format("--server '{}': expected http://HOST:PORT", url));
  return Target{std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
}

// Percent-encodes all but the unreserved characters (RFC 3986) for a path segment.
std::string path_segment(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~';
    if (plain)
      out += c;
    else
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

// One kept-alive connection (reconnects when the server closes it).
class Connection {
 public:
  explicit Connection(Target target) : target_(std::move(target)) {}

  http::response<http::string_body> request(http::verb method, const std::string& path,
                                            std::string body = "") {
    for (int attempt = 0;; ++attempt) {
      try {
        if (!stream_.socket().is_open()) {
          tcp::resolver resolver(io_);
          stream_.connect(resolver.resolve(target_.host, target_.port));
        }
        http::request<http::string_body> req{method, path, 11};
        req.set(http::field::host, target_.host);
        if (!body.empty()) {
          req.set(http::field::content_type, "application/json");
          req.body() = body;
        }
        req.prepare_payload();
        http::write(stream_, req);
        http::response<http::string_body> res;
        http::read(stream_, buffer_, res);
        if (!res.keep_alive()) close();
        return res;
      } catch (const boost::system::system_error& e) {
        close();
        // A kept-alive connection the server closed meanwhile: once more on a new one.
        if (attempt > 0)
          throw Error(fmt::format("http://{}:{}: {}", target_.host, target_.port, e.what()));
      }
    }
  }

 private:
  void close() {
    boost::system::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
  }

  Target target_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_{io_};
  boost::beast::flat_buffer buffer_;
};

Json get_experiments(Connection& connection) {
  const auto res = connection.request(http::verb::get, "/v1/experiments");
  if (res.result_int() != 200) {
    throw Error(fmt::format("GET /v1/experiments answered {}: {}", res.result_int(),
                            res.body().substr(0, 300)));
  }
  return Json::parse(res.body());
}

VariantCounts counts_of(const Json& variant) {
  VariantCounts c;
  c[VariantCounts::kEvents] = variant["events"];
  c[VariantCounts::kUnknownItems] = variant["unknown_items"];
  c[VariantCounts::kMeasured] = variant["measured"];
  c[VariantCounts::kSessions] = variant["sessions"];
  c[VariantCounts::kDegraded] = variant["degraded"];
  for (size_t r = 0; r < VariantCounts::kMaxRank; ++r)
    c[VariantCounts::kHit1 + r] = variant["hits_by_rank"][r];
  return c;
}

void run_replay(const ReplayOptions& o) {
  const Output out{.json = o.json};
  const Target target = parse_server(o.server);
  // Every event is sent, known to the model or not: the server counts unknown items apart.
  ItemIndex items;
  const SessionLog log = read_training_log(o.test_path, o.data.read_options(), items);
  const int64_t sessions =
      o.sessions > 0 ? std::min(o.sessions, log.num_sessions()) : log.num_sessions();
  std::string prefix = o.session_prefix;
  if (prefix.empty()) prefix = fmt::format("replay-{:08x}-", std::random_device{}());

  Connection control(target);
  const Json before = get_experiments(control);
  fmt::print(out.log(), "Replaying {} sessions ({} events) of {} to {} on {} connections\n",
             with_thousands(sessions), with_thousands(log.offsets[static_cast<size_t>(sessions)]),
             o.test_path, o.server, o.concurrency);
  std::atomic<int64_t> next_session{0}, events_sent{0}, failed{0};
  std::mutex error_mutex;
  std::string first_error;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w) {
    workers.emplace_back([&] {
      Connection connection(target);
      try {
        for (int64_t s = next_session++; s < sessions; s = next_session++) {
          const std::string path = "/v1/sessions/" +
                                   path_segment(prefix + log.session_ids[static_cast<size_t>(s)]) +
                                   "/events";
          // Events of a session in order, each after the previous answer.
          for (const int32_t item : log.session_items(s)) {
            const auto res = connection.request(
                http::verb::post, path, Json{{"item", items.id(item)}, {"k", o.cutoff}}.dump());
            events_sent++;
            if (res.result_int() != 200) {
              failed++;
              std::lock_guard lock(error_mutex);
              if (first_error.empty())
                first_error = fmt::format("{}: {}", res.result_int(), res.body().substr(0, 200));
            }
          }
        }
      } catch (const std::exception& e) {
        failed++;
        std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = e.what();
        next_session = sessions;  // the others stop too
      }
    });
  }
  for (std::thread& t : workers) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Replicas on Redis send their counts every second: wait for them.
  if (before["counted_by"] == "every replica")
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const Json after = get_experiments(control);

  Json variants = Json::array();
  std::vector<VariantCounts> deltas;
  for (size_t v = 0; v < after["variants"].size(); ++v) {
    VariantCounts delta = counts_of(after["variants"][v]);
    if (v < before["variants"].size()) {
      const VariantCounts old = counts_of(before["variants"][v]);
      for (size_t f = 0; f < VariantCounts::kFieldCount; ++f) delta[f] -= old[f];
    }
    deltas.push_back(delta);
    const Estimate hr = hit_rate(delta), mrr = mean_reciprocal_rank(delta);
    variants.push_back(Json{{"name", after["variants"][v]["name"]},
                            {"events", delta[VariantCounts::kEvents]},
                            {"unknown_items", delta[VariantCounts::kUnknownItems]},
                            {"measured", delta[VariantCounts::kMeasured]},
                            {"hits", delta.hits()},
                            {"sessions", delta[VariantCounts::kSessions]},
                            {"degraded", delta[VariantCounts::kDegraded]},
                            {fmt::format("hit_rate@{}", o.cutoff), hr.value},
                            {fmt::format("mrr@{}", o.cutoff), mrr.value},
                            {"hit_rate_ci95", {hr.low, hr.high}},
                            {"mrr_ci95", {mrr.low, mrr.high}}});
  }
  const Json replayed{{"sessions", sessions},
                      {"events", events_sent.load()},
                      {"failed_requests", failed.load()},
                      {"seconds", seconds},
                      {"events_per_second", static_cast<double>(events_sent.load()) / seconds}};
  if (o.json) {
    fmt::print("{}\n", json_text(Json{{"test", o.test_path},
                                      {"server", o.server},
                                      {"cutoff", o.cutoff},
                                      {"replayed", replayed},
                                      {"variants", variants},
                                      {"server_experiments", after}}));
  } else {
    fmt::print("Replayed {} events in {:.1f} s ({:.0f} events/s), {} failed requests\n",
               with_thousands(events_sent.load()), seconds,
               static_cast<double>(events_sent.load()) / seconds, failed.load());
    fmt::print("  {:<16} {:>9} {:>9} {:>9}  {:>24}  {:>24}\n", "variant", "events", "unknown",
               "measured", fmt::format("HitRate@{} (95% CI)", o.cutoff),
               fmt::format("MRR@{} (95% CI)", o.cutoff));
    for (const Json& v : variants) {
      fmt::print("  {:<16} {:>9} {:>9} {:>9}  {:.4f} ({:.4f}-{:.4f})  {:.4f} ({:.4f}-{:.4f})\n",
                 v["name"].get<std::string>(), v["events"].get<uint64_t>(),
                 v["unknown_items"].get<uint64_t>(), v["measured"].get<uint64_t>(),
                 v[fmt::format("hit_rate@{}", o.cutoff)].get<double>(),
                 v["hit_rate_ci95"][0].get<double>(), v["hit_rate_ci95"][1].get<double>(),
                 v[fmt::format("mrr@{}", o.cutoff)].get<double>(), v["mrr_ci95"][0].get<double>(),
                 v["mrr_ci95"][1].get<double>());
    }
    for (size_t v = 1; v < deltas.size(); ++v) {
      const Difference d = hit_rate_difference(deltas[0], deltas[v]);
      const Difference m = mrr_difference(deltas[0], deltas[v]);
      fmt::print(
          "  {} - {}: HitRate {:+.4f} ({:+.4f} to {:+.4f}, p = {:.3g}); MRR {:+.4f} "
          "({:+.4f} to {:+.4f}, p = {:.3g})\n",
          variants[v]["name"].get<std::string>(), variants[0]["name"].get<std::string>(), d.value,
          d.low, d.high, d.p_value, m.value, m.low, m.high, m.p_value);
    }
  }
  if (failed.load() > 0) {
    throw Error(fmt::format("{} requests failed; the first: {}", failed.load(), first_error));
  }
}

}  // namespace

void add_replay_command(CLI::App& app) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "replay a test log through a running server, event by event, and print what "
      "the server measured (online HitRate and MRR per variant)");
  cmd->add_option("TEST", o->test_path, "test data (SessionId, ItemId, Time)")->required();
  cmd->add_option("--server", o->server, "the server, http://HOST:PORT")->capture_default_str();
  cmd->add_option("-m,--cutoff", o->cutoff, "k asked for with every event (measured up to 20)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--sessions", o->sessions, "replay the first N sessions (0: all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--concurrency", o->concurrency, "sessions replayed at once (connections)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--session-prefix", o->session_prefix,
                  "prefix of the replayed session ids (default: replay-<random>-, new sessions)");
  cmd->add_flag("--json", o->json, "print the results as JSON");
  o->data.add_to(*cmd);
  cmd->callback([o]() { run_replay(*o); });
}

}  // namespace gru4rec::cli
