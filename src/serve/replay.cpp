#include "gru4rec/serve/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "gru4rec/core/error.h"
#include "replay_internal.h"

namespace gru4rec {
namespace replay_detail {

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

std::string event_body(const std::string& item_id, int k) {
  return nlohmann::json{{"item", item_id}, {"k", k}}.dump();
}

}  // namespace replay_detail

namespace {

using Json = nlohmann::json;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using replay_detail::path_segment;
using replay_detail::Target;

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

// As fast as the server answers: `concurrency` sessions at once, each on its own connection.
void replay_closed_loop(const SessionLog& log, const ItemIndex& items, const ReplayOptions& options,
                        const Target& target, const std::string& prefix, ReplayResult& result) {
  std::atomic<int64_t> next_session{0}, events_sent{0}, failed{0}, answered{0};
  std::mutex mutex;  // guards first_error and latencies
  std::vector<double> latencies;
  const auto fail = [&](std::string error) {
    failed++;
    std::lock_guard lock(mutex);
    if (result.first_error.empty()) result.first_error = std::move(error);
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < options.concurrency; ++w) {
    workers.emplace_back([&] {
      Connection connection(target);
      std::vector<double> mine;
      try {
        for (int64_t s = next_session++; s < result.sessions; s = next_session++) {
          const std::string path = "/v1/sessions/" +
                                   path_segment(prefix + log.session_ids[static_cast<size_t>(s)]) +
                                   "/events";
          // Events of a session in order, each after the previous answer.
          for (const int32_t item : log.session_items(s)) {
            const auto sent = std::chrono::steady_clock::now();
            const auto res = connection.request(
                http::verb::post, path, replay_detail::event_body(items.id(item), options.k));
            events_sent++;
            if (res.result_int() == 200) {
              answered++;
              mine.push_back(
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
            } else {
              fail(fmt::format("{}: {}", res.result_int(), res.body().substr(0, 200)));
            }
          }
        }
      } catch (const std::exception& e) {
        fail(e.what());
        next_session = result.sessions;  // the others stop too
      }
      std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : workers) t.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.events_sent = events_sent.load();
  result.failed_requests = failed.load();
  result.answered = answered.load();
  result.latency = summarize_latencies(latencies);
}

}  // namespace

void check_server_url(const std::string& url) {
  replay_detail::parse_server(url);
}

LatencySummary summarize_latencies(std::vector<double>& seconds) {
  LatencySummary s;
  s.count = static_cast<int64_t>(seconds.size());
  if (seconds.empty()) return s;
  std::sort(seconds.begin(), seconds.end());
  const auto at = [&](double q) {  // nearest rank
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(seconds.size())));
    return seconds[std::clamp<size_t>(rank, 1, seconds.size()) - 1];
  };
  s.p50 = at(0.50);
  s.p90 = at(0.90);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  s.max = seconds.back();
  return s;
}

ReplayResult replay_log(const SessionLog& log, const ItemIndex& items,
                        const ReplayOptions& options) {
  const Target target = replay_detail::parse_server(options.server);
  if (options.concurrency < 1) throw Error("replay: concurrency must be at least 1");
  if (!(options.rate >= 0) || !std::isfinite(options.rate) || !(options.duration_seconds >= 0))
    throw Error("replay: the rate and the duration must be finite and not negative");
  ReplayResult result;
  result.sessions =
      options.sessions > 0 ? std::min(options.sessions, log.num_sessions()) : log.num_sessions();
  std::string prefix = options.session_prefix;
  if (prefix.empty()) prefix = fmt::format("replay-{:08x}-", std::random_device{}());

  Connection control(target);
  const Json before = get_experiments(control);
  if (options.rate > 0) {
    result.offered_rate = options.rate;
    replay_detail::replay_open_loop(log, items, options, target, prefix, result.sessions, result);
  } else {
    replay_closed_loop(log, items, options, target, prefix, result);
  }
  // Replicas on Redis send their counts every second: wait for them.
  if (before["counted_by"] == "every replica")
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const Json after = get_experiments(control);
  for (size_t v = 0; v < after["variants"].size(); ++v) {
    VariantCounts delta = counts_of(after["variants"][v]);
    if (v < before["variants"].size()) {
      const VariantCounts old = counts_of(before["variants"][v]);
      for (size_t f = 0; f < VariantCounts::kFieldCount; ++f) delta[f] -= old[f];
    }
    result.variant_names.push_back(after["variants"][v]["name"].get<std::string>());
    result.counts.push_back(delta);
  }
  result.server_experiments = after.dump(-1, ' ', false, Json::error_handler_t::replace);
  return result;
}

}  // namespace gru4rec
