// The open-loop replay: one thread, one Asio event loop, one kept-alive connection per session
// slot. A timer releases the events as they fall due; a slot sends its next event when it is
// due and the slot's previous answer has come.
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "gru4rec/core/error.h"
#include "replay_internal.h"

namespace gru4rec::replay_detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr auto kLate = std::chrono::milliseconds(1);

struct DueEvent {
  Clock::time_point due;
  std::string path, body;
};

class OpenLoop {
 public:
  OpenLoop(const SessionLog& log, const ItemIndex& items, const ReplayOptions& options,
           const Target& target, std::string prefix, int64_t sessions, ReplayResult& result)
      : log_(log),
        items_(items),
        options_(options),
        prefix_(std::move(prefix)),
        sessions_(sessions),
        result_(result),
        slots_(static_cast<size_t>(options.concurrency)) {
    tcp::resolver resolver(io_);
    beast::error_code ec;
    endpoints_ = resolver.resolve(target.host, target.port, ec);
    if (ec) throw Error(fmt::format("{}:{}: {}", target.host, target.port, ec.message()));
    for (Slot& slot : slots_) slot.stream = std::make_unique<beast::tcp_stream>(io_);
    interval_ = std::chrono::duration<double>(1.0 / options.rate);
  }

  void run() {
    start_ = Clock::now();
    last_due_ = start_;
    if (options_.duration_seconds > 0)
      stop_sending_ = start_ + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(options_.duration_seconds));
    release_due();
    io_.run();
    const auto end = Clock::now();
    result_.seconds = std::chrono::duration<double>(end - start_).count();
    result_.sending_seconds = std::chrono::duration<double>(last_due_ - start_).count();
    result_.latency = summarize_latencies(latencies_);
  }

 private:
  struct Slot {
    std::unique_ptr<beast::tcp_stream> stream;
    bool connected = false, busy = false, reused = false, exhausted = false;
    std::deque<DueEvent> waiting;
    // The session the slot replays, and its next event.
    int64_t session = -1, lap = 0;
    size_t next_event = 0;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    beast::flat_buffer buffer;
    DueEvent current;
    int attempts = 0;
  };

  // The next event of a slot's session: the slot moves on to the next session of the log when
  // its own is done (a new lap, as new sessions, when the log is done and time is left).
  bool next_event(Slot& slot, DueEvent& event) {
    if (sessions_ == 0) return false;
    while (slot.session < 0 || slot.next_event >= log_.session_items(slot.session).size()) {
      if (next_session_ >= sessions_) {
        if (options_.duration_seconds <= 0) return false;  // one pass
        next_session_ = 0;
        ++lap_;
      }
      slot.session = next_session_++;
      slot.lap = lap_;
      slot.next_event = 0;
    }
    const int32_t item = log_.session_items(slot.session)[slot.next_event++];
    const std::string id = log_.session_ids[static_cast<size_t>(slot.session)];
    event.path = "/v1/sessions/" +
                 path_segment(slot.lap == 0 ? prefix_ + id
                                            : fmt::format("{}lap{}-{}", prefix_, slot.lap, id)) +
                 "/events";
    event.body = event_body(items_.id(item), options_.k);
    return true;
  }

  // Hands every event due by now to its slot, then waits for the next one's time.
  void release_due() {
    const auto now = Clock::now();
    for (;;) {
      const auto due =
          start_ + std::chrono::duration_cast<Clock::duration>(interval_ * double(released_));
      if (stop_sending_ && due >= *stop_sending_) return;  // the time is up
      if (due > now) {
        timer_.expires_at(due);
        timer_.async_wait([this](beast::error_code ec) {
          if (!ec) release_due();
        });
        return;
      }
      // Round the slots; one whose sessions are done (one pass: the log is) is left out.
      DueEvent event;
      Slot* slot = nullptr;
      for (size_t tried = 0; tried < slots_.size() && slot == nullptr; ++tried) {
        Slot& candidate = slots_[next_slot_];
        next_slot_ = (next_slot_ + 1) % slots_.size();
        if (!candidate.exhausted && next_event(candidate, event))
          slot = &candidate;
        else
          candidate.exhausted = true;
      }
      if (slot == nullptr) return;  // every session replayed
      event.due = due;
      last_due_ = due;
      ++released_;
      slot->waiting.push_back(std::move(event));
      if (!slot->busy) send_next(*slot);
    }
  }

  void send_next(Slot& slot) {
    if (slot.waiting.empty()) {
      slot.busy = false;
      return;
    }
    slot.busy = true;
    slot.current = std::move(slot.waiting.front());
    slot.waiting.pop_front();
    slot.attempts = 0;
    if (Clock::now() - slot.current.due > kLate) ++result_.late_sends;
    send(slot);
  }

  void send(Slot& slot) {
    ++slot.attempts;
    slot.request = {http::verb::post, slot.current.path, 11};
    slot.request.set(http::field::host, "replay");
    slot.request.set(http::field::content_type, "application/json");
    slot.request.body() = slot.current.body;
    slot.request.prepare_payload();
    slot.stream->expires_after(kRequestTimeout);
    if (!slot.connected) {
      slot.reused = false;
      slot.stream->async_connect(endpoints_,
                                 [this, &slot](beast::error_code ec, const tcp::endpoint&) {
                                   if (ec) return failed(slot, "connect: " + ec.message(), false);
                                   beast::error_code ignored;
                                   slot.stream->socket().set_option(tcp::no_delay(true), ignored);
                                   slot.connected = true;
                                   write(slot);
                                 });
      return;
    }
    slot.reused = true;
    write(slot);
  }

  void write(Slot& slot) {
    http::async_write(*slot.stream, slot.request, [this, &slot](beast::error_code ec, size_t) {
      if (ec) return failed(slot, "send: " + ec.message(), slot.reused);
      slot.response = {};
      http::async_read(*slot.stream, slot.buffer, slot.response,
                       [this, &slot](beast::error_code read_error, size_t received) {
                         if (read_error) {
                           // Sent: retried only when the server closed the kept-alive
                           // connection without a byte of answer (it never read the request);
                           // after a timeout it may have applied the event.
                           const bool closed = read_error == http::error::end_of_stream ||
                                               read_error == asio::error::connection_reset ||
                                               read_error == asio::error::broken_pipe;
                           return failed(
                               slot, "answer: " + read_error.message(),
                               slot.reused && closed && received == 0 && slot.buffer.size() == 0);
                         }
                         answered(slot);
                       });
    });
  }

  void answered(Slot& slot) {
    ++result_.events_sent;
    if (slot.response.result_int() == 200) {
      ++result_.answered;
      latencies_.push_back(std::chrono::duration<double>(Clock::now() - slot.current.due).count());
    } else {
      record_failure(
          fmt::format("{}: {}", slot.response.result_int(), slot.response.body().substr(0, 200)));
    }
    if (!slot.response.keep_alive()) close(slot);
    send_next(slot);
  }

  // A kept-alive connection the server closed meanwhile (before reading the request): once
  // more on a new one, as clients do (RFC 9112 section 9.3.1). Anything else is a failure.
  void failed(Slot& slot, std::string what, bool may_retry) {
    close(slot);
    if (may_retry && slot.attempts == 1) return send(slot);
    ++result_.events_sent;
    record_failure(std::move(what));
    send_next(slot);
  }

  void record_failure(std::string what) {
    ++result_.failed_requests;
    if (result_.first_error.empty()) result_.first_error = std::move(what);
  }

  void close(Slot& slot) {
    beast::error_code ignored;
    slot.stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    slot.stream->socket().close(ignored);
    slot.connected = false;
    slot.buffer.clear();
  }

  const SessionLog& log_;
  const ItemIndex& items_;
  const ReplayOptions& options_;
  const std::string prefix_;
  const int64_t sessions_;
  ReplayResult& result_;
  asio::io_context io_;
  asio::steady_timer timer_{io_};
  tcp::resolver::results_type endpoints_;
  std::vector<Slot> slots_;
  std::chrono::duration<double> interval_{};
  Clock::time_point start_, last_due_;
  std::optional<Clock::time_point> stop_sending_;
  int64_t released_ = 0, next_session_ = 0, lap_ = 0;
  size_t next_slot_ = 0;
  std::vector<double> latencies_;
};

}  // namespace

void replay_open_loop(const SessionLog& log, const ItemIndex& items, const ReplayOptions& options,
                      const Target& target, const std::string& prefix, int64_t sessions,
                      ReplayResult& result) {
  OpenLoop loop(log, items, options, target, prefix, sessions, result);
  loop.run();
}

}  // namespace gru4rec::replay_detail
