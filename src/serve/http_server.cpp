// The HTTP/1.1 front end of gru4rec serve on Boost.Asio, with requests read by
// HttpRequestReader (its header lists the limits and rules of a request).
//
// Why this shape: a connection costs no thread. A few event loops (one io_context per thread)
// read and write every socket; a request's model work (GRU steps, scoring) goes to a pool of
// threads, where requests that wait together are scored in one product (see Recommender).
// Cheap endpoints (/health, /ready, /metrics, /openapi.json) are answered on the event loop,
// so that they stay fast while the model threads are busy. Each connection runs one request
// at a time (pipelined requests wait in its buffer), so answers keep the order of requests.
//
// Time limits: the whole head within head_timeout (from its first byte) and the whole body
// within body_timeout -> 408; a request waiting for a model thread beyond request_deadline ->
// 503 when the deadline passes (not when a thread is free at last). Connection limits: public
// connections beyond max_connections, admin ones beyond max_admin_connections (their own
// budget: idle public sockets cannot lock the operator out), and with
// max_connections_per_address those of one address beyond it -> 503 with Retry-After; out of
// file descriptors, a descriptor kept in reserve answers the 503. After an error answer the
// connection is closed with a lingering close (send side shut, what the client still sends read
// and dropped for a short time), so that the client reads the answer instead of a reset.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/serve/http_request_reader.h"
#include "gru4rec/serve/server.h"
#include "login_throttle.h"

namespace gru4rec {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Stopping: how long a connection accepted just before the listener closed has to send its
// first request, and how many such connections the stop accepts from the kernel's backlog.
constexpr double kFirstRequestGrace = 1.0;
constexpr size_t kMaxBacklogAccepts = 4096;

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Time-constant comparison, so that the admin token cannot be guessed byte by byte from timing.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// A queued request's state: taken by a model thread, or answered 503 at its deadline before
// one was free (whichever comes first; the other then does nothing).
enum JobState : int { kQueued, kTaken, kExpired };
using JobTicket = std::shared_ptr<std::atomic<int>>;

// `text` for a log line: visible ASCII kept, anything else (controls, line separators, bytes
// of other scripts) as \xNN, at most 120 characters.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 120)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\')
      out += c;
    else
      out += fmt::format("\\x{:02X}", byte);
  }
  if (text.size() > 120) out += "...";
  return out;
}

// The pool of model threads and its bounded queue.
class WorkPool {
 public:
  WorkPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkPool() { stop(); }
  // False when the queue is full (or the pool stopped): the caller answers 503. Jobs whose
  // ticket is no longer kQueued (answered at their deadline) do not count as waiting.
  bool submit(std::function<void()> job, JobTicket ticket) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      if (jobs_.size() >= max_queued_) {
        const size_t before = jobs_.size();
        std::erase_if(jobs_, [](const Job& j) { return j.ticket->load() != kQueued; });
        pending_ -= before - jobs_.size();
        if (jobs_.size() >= max_queued_) return false;
      }
      jobs_.push_back(Job{std::move(job), std::move(ticket)});
      ++pending_;
    }
    wake_.notify_one();
    return true;
  }
  // Jobs queued or running.
  size_t pending() const {
    std::lock_guard lock(mutex_);
    return pending_;
  }
  // Runs the queued jobs, then joins the threads.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  struct Job {
    std::function<void()> run;
    JobTicket ticket;
  };

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job.run();
      job = Job{};
      lock.lock();
      --pending_;
    }
  }

  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  size_t pending_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class Connection;

// One event loop: its io_context and the connections it serves (for the graceful stop).
struct Loop {
  std::mutex mutex;
  std::unordered_set<Connection*> connections;  // guarded by mutex
  // Declared after the set: destroyed first, with the handlers that still hold connections.
  asio::io_context context{1};
};

double steady_seconds() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// What the listeners, the connections and stop() share. Member order matters: destroyed from
// the bottom up, the loops go after the pool and the acceptors, and before the counters that
// their connections update when destroyed.
struct Shared {
  ServeApp& app;
  const ServerOptions& o;
  std::atomic<int64_t> connections{0}, admin_connections{0};
  std::atomic<bool> draining{false}, serving{false}, stopped{false};
  std::mutex stop_mutex;
  // Open connections per client address, when max_connections_per_address is set.
  std::mutex address_mutex;
  std::unordered_map<std::string, size_t> per_address;  // guarded by address_mutex
  LoginThrottle admin_logins;
  int spare_descriptor = -1;  // kept to answer 503 when the process has no descriptor left
  size_t next_loop = 0;       // used by loop 0's thread only (the acceptors')
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards;
  std::unique_ptr<tcp::acceptor> public_acceptor, admin_acceptor;
  std::unique_ptr<WorkPool> workers;

  explicit Shared(ServeApp& a) : app(a), o(a.options()) {}
  ~Shared() {
    if (spare_descriptor >= 0) ::close(spare_descriptor);
  }
  // Accepts the next connection of `acceptor` (on the next loop, in turn), for ever.
  void accept(tcp::acceptor& acceptor, bool admin);
  void accept_one(tcp::acceptor& acceptor, Loop& loop, bool admin,
                  const std::function<void()>& retry_later);
  // Out of descriptors: the reserve one is let go to accept a pending client, answer it 503
  // and close it, then taken again. False when even that failed (nothing pending, or none free).
  bool shed_one(tcp::acceptor& acceptor);
  // The loop the next accepted connection runs on: each in turn.
  Loop& take_next_loop() {
    Loop& loop = *loops[next_loop];
    next_loop = (next_loop + 1) % loops.size();
    return loop;
  }
  // Serves an accepted socket; its handlers run on `loop`.
  void start_connection(Loop& loop, tcp::socket socket, bool admin);
  // Closes the listeners. Connections the kernel has completed but asio has not accepted yet
  // are accepted and served first: closing the listener would reset them, and their clients
  // may already have sent a request.
  void close_listeners() {
    beast::error_code ignored;
    for (auto [acceptor, admin] :
         {std::pair{public_acceptor.get(), false}, std::pair{admin_acceptor.get(), true}}) {
      if (!acceptor) continue;
      accept_backlog(*acceptor, admin);
      acceptor->close(ignored);
    }
  }
  void accept_backlog(tcp::acceptor& acceptor, bool admin);
  // Counts a connection from `address`; false (not counted) when it has reached the limit.
  bool add_address(const std::string& address) {
    if (o.max_connections_per_address == 0) return true;
    std::lock_guard lock(address_mutex);
    size_t& n = per_address[address];
    if (n >= o.max_connections_per_address) {
      if (n == 0) per_address.erase(address);
      return false;
    }
    ++n;
    return true;
  }
  void remove_address(const std::string& address) {
    if (o.max_connections_per_address == 0) return;
    std::lock_guard lock(address_mutex);
    const auto found = per_address.find(address);
    if (found != per_address.end() && --found->second == 0) per_address.erase(found);
  }
};

bool Shared::shed_one(tcp::acceptor& acceptor) {
  if (spare_descriptor >= 0) {
    ::close(spare_descriptor);
    spare_descriptor = -1;
  }
  const int fd =
      ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    // Best effort, without waiting: the answer fits in an empty socket buffer; what the client
    // sent is read first, so that closing sends a FIN rather than a reset.
    char discard[4096];
    for (int i = 0; i < 16 && ::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0; ++i) {
    }
    static const std::string kAnswer = [] {
      const std::string body = error_response(503, "too many connections; retry later").body;
      return fmt::format(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: "
          "1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
          body.size(), body);
    }();
    [[maybe_unused]] const ssize_t sent =
        ::send(fd, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
    app.record_refused_connection();
  }
  spare_descriptor = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Shared& server, Loop& loop, tcp::socket socket, bool admin, std::string address)
      : server_(server),
        loop_(loop),
        stream_(std::move(socket)),
        reader_(HttpLimits{server.o.max_header_bytes, server.o.max_header_count,
                           server.o.max_body_bytes, admin}),
        address_(std::move(address)),
        admin_(admin) {
    ++(admin_ ? server_.admin_connections : server_.connections);
    server_.app.add_open_connections(1);
    std::lock_guard lock(loop_.mutex);
    loop_.connections.insert(this);
  }
  ~Connection() {
    {
      std::lock_guard lock(loop_.mutex);
      loop_.connections.erase(this);
    }
    if (counted_address_) server_.remove_address(address_);
    --(admin_ ? server_.admin_connections : server_.connections);
    server_.app.add_open_connections(-1);
  }

  // Accepted: served, or refused with a 503 when a limit is reached.
  void start() {
    const auto count = (admin_ ? server_.admin_connections : server_.connections).load();
    const size_t limit = admin_ ? options().max_admin_connections : options().max_connections;
    if (static_cast<size_t>(count) > limit) return refuse("too many connections; retry later");
    // Public connections only: the admin listener has its own budget, and behind a proxy on
    // this host every public client has the operator's address too.
    if (!admin_) {
      counted_address_ = server_.add_address(address_);
      if (!counted_address_) return refuse("too many connections from your address; retry later");
    }
    wait_for_request();
  }

  // On the loop's thread, when the server stops. A connection in the middle of a request
  // finishes it (and then closes). One accepted that has not sent its first request yet gets
  // kFirstRequestGrace for it: its client has just connected and its request is on the way.
  // One kept alive since before the drain (every answer of the drain closes its connection)
  // is closed; a request its client sends at that very moment is lost, the race every HTTP
  // server has with kept-alive connections (RFC 9112 section 9.6: clients retry those).
  void close_if_idle() {
    if (!idle_) return;
    if (requests_ == 0) return arm_timer(kFirstRequestGrace);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  const ServerOptions& options() const { return server_.o; }

  void refuse(std::string_view message) {
    server_.app.record_refused_connection();
    answer_error(503, message);
  }

  // Keep-alive: waits for the first byte of the next request without holding a buffer.
  void wait_for_request() {
    if (buffer_.size() > 0) return read_request();  // a pipelined request is already here
    // Draining: the last answer promised to keep the connection (else it would be closed by
    // now), so its client may be sending the next request already: that one is answered, with
    // Connection: close. The stop may have passed this connection by: it closes on its own.
    buffer_.shrink_to_fit();
    idle_ = true;
    arm_timer(server_.draining.load() ? std::min(kFirstRequestGrace, options().idle_timeout_seconds)
                                      : options().idle_timeout_seconds);
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](beast::error_code ec) {
                                  self->idle_ = false;
                                  self->disarm_timer();
                                  if (ec) return self->close();  // idle timeout, stop, reset
                                  self->read_request();
                                });
  }

  // The time limit of the reads that follow: when it passes, they end with operation_aborted
  // and timed_out_ set (the socket stays open, for the 408). tcp_stream's own timeout closes
  // the socket, so it serves the writes only.
  // A timer that expired just as its reads finished may still run its handler: the generation
  // tells it that it no longer applies.
  void arm_timer(double limit) {
    timed_out_ = false;
    const uint64_t generation = ++timer_generation_;
    timer_.expires_after(seconds(limit));
    timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      if (ec || generation != self->timer_generation_) return;  // disarmed in time
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }
  void disarm_timer() {
    ++timer_generation_;
    timer_.cancel();
  }

  void read_request() {
    stream_.expires_never();  // the last answer's write timeout does not apply to reads
    reading_body_ = false;
    arm_timer(options().head_timeout_seconds);
    parse_buffered();
  }

  // Parses what the buffer holds, then reads more, answers an error or dispatches.
  void parse_buffered() {
    const auto data = buffer_.data();
    const size_t used =
        reader_.parse(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buffer_.consume(used);
    switch (reader_.state()) {
      case HttpRequestReader::State::kFailed:
        disarm_timer();
        if (reader_.status() == 0) return close();
        return answer_error(reader_.status(), reader_.message());
      case HttpRequestReader::State::kDone: disarm_timer(); return dispatch();
      case HttpRequestReader::State::kReadingBody:
        if (!reading_body_) {  // the head is complete: the body has a time limit of its own
          reading_body_ = true;
          arm_timer(options().body_timeout_seconds);
          if (reader_.wants_continue()) return send_continue();
        }
        return read_more();
      case HttpRequestReader::State::kReadingHead: return read_more();
    }
  }

  void send_continue() {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_.socket(), asio::buffer(kContinue),
                      [self = shared_from_this()](beast::error_code e, size_t) {
                        if (e) {
                          self->disarm_timer();
                          return self->close();
                        }
                        self->read_more();
                      });
  }

  // Reads what the socket has, never holding more than the reader allows unparsed.
  void read_more() {
    // The time limit may have passed while no read was pending (during the 100 Continue).
    if (timed_out_) return answer_error(408, "the request body came too slowly");
    const size_t limit = reader_.buffer_limit();
    // The reader refuses a full buffer before this; a guard, not an exception in a handler.
    if (buffer_.size() >= limit) return answer_error(413, "the request does not fit the buffer");
    const auto space = buffer_.prepare(std::min<size_t>(limit - buffer_.size(), 16 * 1024));
    stream_.socket().async_read_some(space, [self = shared_from_this()](beast::error_code ec,
                                                                        size_t n) {
      self->buffer_.commit(n);
      if (self->timed_out_) {
        return self->answer_error(408, self->reading_body_ ? "the request body came too slowly"
                                                           : "the request head came too slowly");
      }
      if (ec) {  // the client went away (end of stream, reset) or the server stops
        self->disarm_timer();
        return self->close();
      }
      self->parse_buffered();
    });
  }

  void dispatch() {
    stream_.expires_never();
    started_ = Clock::now();
    ++requests_;
    HttpRequest request = reader_.take();
    keep_alive_ = request.keep_alive;
    head_only_ = request.method == "HEAD";
    std::string method = head_only_ ? std::string("GET") : std::move(request.method);
    const std::string_view target = request.target;
    const size_t question = target.find('?');
    std::string path(target.substr(0, question));
    std::string query(question == std::string_view::npos ? std::string_view()
                                                         : target.substr(question + 1));
    const Listener listener = admin_ ? Listener::kAdmin : Listener::kPublic;
    if (admin_ && !admin_allowed(request.authorization, path)) return;
    // Answered on the event loop: cheap, and they must stay fast when the model threads are not.
    if (path == "/health" || path == "/ready" || path == "/metrics" || path == "/openapi.json")
      return answer(server_.app.handle(method, path, query, {}, listener));
    // The job is answered once: by the model thread that takes it, or by its deadline. It
    // holds the connection weakly: the deadline's handler keeps it alive while it waits, so that
    // a connection is only ever released on its own loop, and one answered at its deadline is
    // gone (and counted out) without waiting for a model thread to drop the job.
    auto ticket = std::make_shared<std::atomic<int>>(kQueued);
    JobTicket pool_ticket = ticket;
    const auto queued = Clock::now();
    const bool accepted = server_.workers->submit(
        [weak = weak_from_this(), method = std::move(method), path = std::move(path),
         query = std::move(query), body = std::move(request.body), listener, queued,
         ticket]() mutable {
          // Alive while its deadline is pending; gone once answered at it.
          auto self = weak.lock();
          if (self == nullptr) return;
          if (ticket->exchange(kTaken) != kQueued) {  // answered 503 at its deadline
            // Released on its own loop, as every connection.
            auto executor = self->stream_.get_executor();
            asio::post(executor, [self = std::move(self)] {});
            return;
          }
          Response response;
          if (Clock::now() - queued > seconds(self->options().request_deadline_seconds)) {
            self->server_.app.record_shed_request();
            response = error_response(503, "the server is overloaded; retry later");
          } else {
            response = self->server_.app.handle(method, path, query, body, listener);
          }
          auto executor = self->stream_.get_executor();
          asio::post(executor, [self = std::move(self), response = std::move(response)]() mutable {
            self->deadline_.cancel();
            self->answer(std::move(response));
          });
        },
        std::move(pool_ticket));
    if (!accepted) {
      server_.app.record_shed_request();
      return answer(error_response(503, "the server is overloaded; retry later"));
    }
    deadline_.expires_after(seconds(options().request_deadline_seconds));
    deadline_.async_wait([self = shared_from_this(), ticket](beast::error_code ec) {
      int expected = kQueued;
      if (ec || !ticket->compare_exchange_strong(expected, kExpired)) return;
      self->server_.app.record_shed_request();
      self->answer(error_response(503, "the server is overloaded; retry later"));
    });
  }

  // The admin token, checked after the failed logins of this address; false when answered.
  bool admin_allowed(std::string_view authorization, std::string_view path) {
    const double now = steady_seconds();
    if (const double wait = server_.admin_logins.blocked_for(address_, now); wait > 0) {
      answer(error_response(429, "too many failed admin logins from this address; retry later"),
             static_cast<int>(std::ceil(wait)));
      return false;
    }
    const std::string expected = "Bearer " + options().admin_token;
    if (!same_secret(authorization, expected)) {
      const std::string line = server_.admin_logins.record_failure(address_, now);
      if (!line.empty()) server_.app.log(fmt::format("{} ({})", line, printable(path)));
      answer(
          error_response(401, "admin requests need the admin token (Authorization: Bearer ...)"));
      return false;
    }
    return true;
  }

  // An error found by the HTTP layer: answered, then the connection is closed (the rest of
  // what the client sends cannot be trusted to start at a request boundary).
  void answer_error(int status, std::string_view message) {
    keep_alive_ = false;
    head_only_ = false;
    started_ = Clock::now();
    answer(error_response(status, message));
  }

  void answer(Response r, int retry_after = 1) {
    server_.app.record(r.status, std::chrono::duration<double>(Clock::now() - started_).count());
    // Overload (503) closes the connection too: fewer clients hold the server's attention.
    keep_alive_ = keep_alive_ && r.status != 503 && r.status != 429 && !server_.draining.load() &&
                  requests_ < options().max_requests_per_connection;
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::content_type, r.content_type);
    if (r.status == 503 || r.status == 429)
      response_.set(http::field::retry_after, std::to_string(retry_after));
    if (r.status == 401) response_.set(http::field::www_authenticate, "Bearer");
    response_.keep_alive(keep_alive_);
    if (head_only_) {
      response_.content_length(r.body.size());
    } else {
      response_.body() = std::move(r.body);
      response_.prepare_payload();
    }
    stream_.expires_after(seconds(options().write_timeout_seconds));
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->response_ = {};
                        if (ec) return self->close();
                        if (!self->keep_alive_) return self->linger_close();
                        self->wait_for_request();
                      });
  }

  // Shuts the send side, then reads and drops what the client still sends (at most 1 s and
  // 1 MB), so that closing does not reset the connection before the client read the answer.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    drain_some();
  }
  void drain_some() {
    thread_local char discard[4096];
    stream_.async_read_some(asio::buffer(discard),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (1u << 20)) return self->close();
                              self->drain_some();
                            });
  }

  void close() {
    idle_ = false;
    disarm_timer();
    deadline_.cancel();
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  Shared& server_;
  Loop& loop_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_{stream_.get_executor()};
  asio::steady_timer deadline_{stream_.get_executor()};
  beast::flat_buffer buffer_;
  HttpRequestReader reader_;
  http::response<http::string_body> response_;
  Clock::time_point started_;
  size_t requests_ = 0, drained_ = 0;
  uint64_t timer_generation_ = 0;
  const std::string address_;
  const bool admin_;
  bool idle_ = false, timed_out_ = false, keep_alive_ = false, head_only_ = false;
  bool reading_body_ = false, counted_address_ = false;
};

void Shared::accept(tcp::acceptor& acceptor, bool admin) {
  Loop& loop = take_next_loop();
  const auto retry_later = [this, &acceptor, admin] {
    auto timer = std::make_shared<asio::steady_timer>(acceptor.get_executor(),
                                                      std::chrono::milliseconds(50));
    timer->async_wait([this, &acceptor, admin, timer](beast::error_code) {
      if (acceptor.is_open()) accept(acceptor, admin);
    });
  };
  try {
    accept_one(acceptor, loop, admin, retry_later);
  } catch (const std::exception&) {
    // Out of memory or descriptors where asio needs them: never out of the loop's handler.
    retry_later();
  }
}

void Shared::accept_one(tcp::acceptor& acceptor, Loop& loop, bool admin,
                        const std::function<void()>& retry_later) {
  acceptor.async_accept(loop.context, [this, &acceptor, &loop, admin, retry_later](
                                          beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    // Accepted just as the listener closed: served all the same.
    if (!ec) start_connection(loop, std::move(socket), admin);
    if (!acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors: answer one waiting client with the reserve one and go on;
      // out of memory or else: pause instead of spinning on the error.
      if ((ec == asio::error::no_descriptors || ec.value() == ENFILE) && shed_one(acceptor))
        return accept(acceptor, admin);
      return retry_later();
    }
    accept(acceptor, admin);
  });
}

void Shared::start_connection(Loop& loop, tcp::socket socket, bool admin) {
  beast::error_code ignored, peer_error;
  socket.set_option(tcp::no_delay(true), ignored);
  const auto peer = socket.remote_endpoint(peer_error);
  std::string address = peer_error ? std::string("unknown") : peer.address().to_string();
  // The connection's handlers run on its own loop: start it there.
  asio::post(loop.context, [this, &loop, admin, address = std::move(address),
                            s = std::move(socket)]() mutable {
    std::make_shared<Connection>(*this, loop, std::move(s), admin, std::move(address))->start();
  });
}

void Shared::accept_backlog(tcp::acceptor& acceptor, bool admin) {
  beast::error_code ec;
  acceptor.cancel(ec);  // the pending async_accept ends with operation_aborted
  acceptor.non_blocking(true, ec);
  // Bounded: a flood of connections cannot hold the stop here.
  for (size_t n = 0; !ec && n < kMaxBacklogAccepts; ++n) {
    Loop& loop = take_next_loop();
    tcp::socket socket(loop.context);
    acceptor.accept(socket, ec);                  // would_block once the backlog is empty
    if (ec == asio::error::connection_aborted) {  // a client gone before it was accepted
      ec = {};
      continue;
    }
    if (ec) break;
    start_connection(loop, std::move(socket), admin);
  }
}

}  // namespace

struct HttpServer::Impl : Shared {
  using Shared::Shared;
};

HttpServer::HttpServer(ServeApp& app) : impl_(std::make_unique<Impl>(app)) {
  const ServerOptions& o = app.options();
  const int cores = available_cores();  // the affinity mask and cgroup quota, not the machine
  const int loops = std::clamp(o.io_threads > 0 ? o.io_threads : cores, 1, 64);
  for (int i = 0; i < loops; ++i) {
    impl_->loops.push_back(std::make_unique<Loop>());
    impl_->guards.emplace_back(impl_->loops.back()->context.get_executor());
    // The loop's reactor (epoll, eventfd and timerfd descriptors) made now, not by its first
    // connection: out of descriptors, that would throw out of an accept handler.
    asio::steady_timer make_reactor(impl_->loops.back()->context);
  }
  // Many: a model thread waiting for a scoring slot is what lets requests be scored together
  // (see Recommender), and waiting threads cost no CPU.
  const int threads = o.threads > 0 ? o.threads : 32 * cores;
  impl_->workers = std::make_unique<WorkPool>(static_cast<size_t>(threads),
                                              std::max<size_t>(o.max_queued_requests, 1));
}

HttpServer::~HttpServer() {
  stop();
  impl_->workers->stop();
}

namespace {

std::unique_ptr<tcp::acceptor> listen_on(asio::io_context& context, const std::string& host,
                                         int port, std::string_view what) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw Error(fmt::format("{}: '{}' is not an IP address", what, host));
  auto acceptor = std::make_unique<tcp::acceptor>(context);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(fmt::format("{}: cannot listen on {}:{} ({})", what, host, port, ec.message()));
  }
  return acceptor;
}

}  // namespace

int HttpServer::bind() {
  const ServerOptions& o = impl_->o;
  // Every connection is a file descriptor: raise the soft limit to the hard one.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    if (limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &limit);
      ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    const size_t wanted = o.max_connections + o.max_admin_connections + 64;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
      impl_->app.log(fmt::format(
          "Warning: the file descriptor limit ({}) is below --max-connections and the admin "
          "connections ({} with room for the process's own); clients beyond it are answered 503",
          limit.rlim_cur, wanted));
    }
  }
  impl_->spare_descriptor = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  asio::io_context& first = impl_->loops.front()->context;
  impl_->public_acceptor = listen_on(first, o.host, o.port, "serve");
  if (o.admin_port >= 0) {
    if (o.admin_token.empty())
      throw Error("the admin listener needs a token (--admin-token-file or GRU4REC_ADMIN_TOKEN)");
    impl_->admin_acceptor = listen_on(first, o.admin_host, o.admin_port, "admin");
  }
  impl_->accept(*impl_->public_acceptor, false);
  if (impl_->admin_acceptor) impl_->accept(*impl_->admin_acceptor, true);
  return impl_->public_acceptor->local_endpoint().port();
}

int HttpServer::admin_port() const {
  return impl_->admin_acceptor ? impl_->admin_acceptor->local_endpoint().port() : -1;
}

void HttpServer::serve() {
  if (impl_->stopped.load()) return;
  impl_->serving.store(true);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->loops.size(); ++i)
    threads.emplace_back([this, i] { impl_->loops[i]->context.run(); });
  impl_->loops.front()->context.run();
  for (auto& t : threads) t.join();
}

void HttpServer::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped.exchange(true)) return;
  Shared& s = *impl_;
  const auto deadline = Clock::now() + seconds(s.o.shutdown_timeout_seconds);
  s.app.set_draining();
  s.draining.store(true);
  const auto on_loop = [&](Loop& loop, std::function<void()> fn) {
    if (!s.serving.load()) return fn();
    std::promise<void> done;
    asio::post(loop.context, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  };
  if (s.serving.load()) {
    // Still accepting for a while: a load balancer sees /ready turn 503 and moves away.
    std::this_thread::sleep_until(std::min(deadline, Clock::now() + seconds(s.o.drain_seconds)));
  }
  on_loop(*s.loops.front(), [&] { s.close_listeners(); });
  for (auto& loop : s.loops) {
    on_loop(*loop, [&] {
      std::lock_guard guard(loop->mutex);
      for (Connection* c : loop->connections) c->close_if_idle();
    });
  }
  while (Clock::now() < deadline && (s.connections.load() > 0 || s.workers->pending() > 0))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (size_t i = 0; i < s.loops.size(); ++i) {
    s.guards[i].reset();
    s.loops[i]->context.stop();
  }
}

}  // namespace gru4rec
