// The HTTP/1.1 front end of gru4rec serve on Boost.Beast and Boost.Asio.
//
// Why this shape: a connection costs no thread. A few event loops (one io_context per thread)
// read and write every socket; a request's model work (GRU steps, scoring) goes to a pool of
// threads, where requests that wait together are scored in one product (see Recommender).
// Cheap endpoints (/health, /ready, /metrics, /openapi.json) are answered on the event loop,
// so that they stay fast while the model threads are busy. Each connection runs one request
// at a time (pipelined requests wait in its buffer), so answers keep the order of requests.
//
// Limits and their answers: head bytes (Beast's header_limit, which counts the request line
// and the fields) and field count -> 431; the whole head within head_timeout (from its first
// byte) and the whole body within body_timeout -> 408; the body limit, which Beast applies to
// the decoded body in every transfer mode (a Content-Length above it is refused before any of
// the body is read) -> 413; a POST without Content-Length or chunked encoding -> 411; a
// Content-Encoding -> 415. After an error answer the connection is closed with a lingering
// close (send side shut, what the client still sends read and dropped for a short time), so
// that the client reads the answer instead of a reset.
#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "gru4rec/core/error.h"
#include "gru4rec/serve/server.h"

namespace gru4rec {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

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

// The pool of model threads and its bounded queue.
class WorkPool {
 public:
  WorkPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkPool() { stop(); }
  // False when the queue is full (or the pool stopped): the caller answers 503.
  bool submit(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || jobs_.size() >= max_queued_) return false;
      jobs_.push_back(std::move(job));
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
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;
      lock.lock();
      --pending_;
    }
  }

  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
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

// What the listeners, the connections and stop() share. Member order matters: destroyed from
// the bottom up, the loops go after the pool and the acceptors, and before the counters that
// their connections update when destroyed.
struct Shared {
  ServeApp& app;
  const ServerOptions& o;
  std::atomic<int64_t> connections{0};
  std::atomic<bool> draining{false}, serving{false}, stopped{false};
  std::mutex stop_mutex;
  size_t next_loop = 0;  // used by loop 0's thread only (the acceptors')
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards;
  std::unique_ptr<tcp::acceptor> public_acceptor, admin_acceptor;
  std::unique_ptr<WorkPool> workers;

  explicit Shared(ServeApp& a) : app(a), o(a.options()) {}
  void accept(tcp::acceptor& acceptor, bool admin);
  void close_listeners() {
    beast::error_code ignored;
    if (public_acceptor) public_acceptor->close(ignored);
    if (admin_acceptor) admin_acceptor->close(ignored);
  }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Shared& server, Loop& loop, tcp::socket socket, bool admin)
      : server_(server), loop_(loop), stream_(std::move(socket)), admin_(admin) {
    ++server_.connections;
    server_.app.add_open_connections(1);
    std::lock_guard lock(loop_.mutex);
    loop_.connections.insert(this);
  }
  ~Connection() {
    {
      std::lock_guard lock(loop_.mutex);
      loop_.connections.erase(this);
    }
    --server_.connections;
    server_.app.add_open_connections(-1);
  }

  void start() { wait_for_request(); }

  // Over the connection limit: a 503 and a close, without reading a request.
  void refuse() {
    server_.app.record_refused_connection();
    answer_error(503, "too many connections; retry later");
  }

  // On the loop's thread, when the server stops: closes the connection if it waits for a
  // request; one in the middle of a request finishes it (and then closes).
  void close_if_idle() {
    if (idle_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.socket().close(ignored);
    }
  }

 private:
  const ServerOptions& options() const { return server_.o; }

  // Keep-alive: waits for the first byte of the next request without holding a buffer.
  void wait_for_request() {
    if (buffer_.size() > 0) return read_head();  // a pipelined request is already here
    if (server_.draining.load() && requests_ > 0) return close();
    buffer_.shrink_to_fit();
    idle_ = true;
    arm_timer(options().idle_timeout_seconds);
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](beast::error_code ec) {
                                  self->idle_ = false;
                                  self->disarm_timer();
                                  if (ec) return self->close();  // idle timeout, stop, reset
                                  self->read_head();
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

  void read_head() {
    stream_.expires_never();  // the last answer's write timeout does not apply to reads
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(options().max_body_bytes));
    arm_timer(options().head_timeout_seconds);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->disarm_timer();
                              self->on_head(ec);
                            });
  }

  void on_head(beast::error_code ec) {
    if (ec == http::error::header_limit) return answer_error(431, "the request head is too large");
    if (ec == http::error::body_limit) return answer_error(413, body_limit_message());
    if (timed_out_) return answer_error(408, "the request head came too slowly");
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    if (ec) return answer_error(400, "malformed HTTP request");
    const auto& request = parser_->get();
    size_t fields = 0;
    for (auto it = request.begin(); it != request.end(); ++it) ++fields;
    if (fields > options().max_header_count)
      return answer_error(431, "the request has too many header fields");
    const auto encoding = request[http::field::content_encoding];
    if (!encoding.empty() && !beast::iequals(encoding, "identity"))
      return answer_error(415, "compressed request bodies are not accepted");
    if (parser_->is_done()) {
      if (request.method() == http::verb::post && !request.has_content_length())
        return answer_error(411, "a POST needs a body with Content-Length or chunked encoding");
      return dispatch();
    }
    if (beast::iequals(request[http::field::expect], "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(seconds(options().write_timeout_seconds));
      asio::async_write(stream_, asio::buffer(kContinue),
                        [self = shared_from_this()](beast::error_code e, size_t) {
                          if (e) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_never();
    arm_timer(options().body_timeout_seconds);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->disarm_timer();
                       if (ec == http::error::body_limit)
                         return self->answer_error(413, self->body_limit_message());
                       if (self->timed_out_)
                         return self->answer_error(408, "the request body came too slowly");
                       if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
                           ec == asio::error::eof || ec == asio::error::connection_reset ||
                           ec == asio::error::operation_aborted)
                         return self->close();
                       if (ec) return self->answer_error(400, "malformed HTTP request body");
                       self->dispatch();
                     });
  }

  std::string body_limit_message() const {
    return "the request body is larger than " + std::to_string(options().max_body_bytes) + " bytes";
  }

  void dispatch() {
    stream_.expires_never();
    started_ = Clock::now();
    ++requests_;
    auto request = parser_->release();
    parser_.reset();
    keep_alive_ = request.keep_alive();
    head_only_ = request.method() == http::verb::head;
    std::string method(head_only_ ? std::string_view("GET")
                                  : std::string_view(request.method_string()));
    const std::string_view target = request.target();
    const size_t question = target.find('?');
    std::string path(target.substr(0, question));
    std::string query(question == std::string_view::npos ? std::string_view()
                                                         : target.substr(question + 1));
    const Listener listener = admin_ ? Listener::kAdmin : Listener::kPublic;
    if (admin_) {
      const std::string expected = "Bearer " + options().admin_token;
      if (!same_secret(request[http::field::authorization], expected)) {
        return answer(
            error_response(401, "admin requests need the admin token (Authorization: Bearer ...)"));
      }
    }
    // Answered on the event loop: cheap, and they must stay fast when the model threads are not.
    if (path == "/health" || path == "/ready" || path == "/metrics" || path == "/openapi.json")
      return answer(server_.app.handle(method, path, query, {}, listener));
    const auto queued = Clock::now();
    const bool accepted = server_.workers->submit(
        [self = shared_from_this(), method = std::move(method), path = std::move(path),
         query = std::move(query), body = std::move(request.body()), listener, queued]() mutable {
          Response response;
          if (Clock::now() - queued > seconds(self->options().request_deadline_seconds)) {
            self->server_.app.record_shed_request();
            response = error_response(503, "the server is overloaded; retry later");
          } else {
            response = self->server_.app.handle(method, path, query, body, listener);
          }
          auto executor = self->stream_.get_executor();
          asio::post(executor, [self = std::move(self), response = std::move(response)]() mutable {
            self->answer(std::move(response));
          });
        });
    if (!accepted) {
      server_.app.record_shed_request();
      answer(error_response(503, "the server is overloaded; retry later"));
    }
  }

  // An error found by the HTTP layer: answered, then the connection is closed (the rest of
  // what the client sends cannot be trusted to start at a request boundary).
  void answer_error(int status, std::string_view message) {
    parser_.reset();
    keep_alive_ = false;
    head_only_ = false;
    started_ = Clock::now();
    answer(error_response(status, message));
  }

  void answer(Response r) {
    server_.app.record(r.status, std::chrono::duration<double>(Clock::now() - started_).count());
    // Overload (503) closes the connection too: fewer clients hold the server's attention.
    keep_alive_ = keep_alive_ && r.status != 503 && !server_.draining.load() &&
                  requests_ < options().max_requests_per_connection;
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::content_type, r.content_type);
    if (r.status == 503) response_.set(http::field::retry_after, "1");
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
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  Shared& server_;
  Loop& loop_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_{stream_.get_executor()};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  Clock::time_point started_;
  size_t requests_ = 0, drained_ = 0;
  uint64_t timer_generation_ = 0;
  const bool admin_;
  bool idle_ = false, timed_out_ = false, keep_alive_ = false, head_only_ = false;
};

void Shared::accept(tcp::acceptor& acceptor, bool admin) {
  Loop& loop = *loops[next_loop];
  next_loop = (next_loop + 1) % loops.size();
  acceptor.async_accept(
      loop.context, [this, &acceptor, &loop, admin](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (ec) {
          // Out of file descriptors or memory: pause instead of spinning on the error.
          auto timer = std::make_shared<asio::steady_timer>(acceptor.get_executor(),
                                                            std::chrono::milliseconds(50));
          timer->async_wait([this, &acceptor, admin, timer](beast::error_code) {
            if (acceptor.is_open()) accept(acceptor, admin);
          });
          return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        // The connection's handlers run on its own loop: start it there.
        asio::post(loop.context, [this, &loop, admin, s = std::move(socket)]() mutable {
          auto connection = std::make_shared<Connection>(*this, loop, std::move(s), admin);
          if (static_cast<size_t>(connections.load()) > o.max_connections)
            connection->refuse();
          else
            connection->start();
        });
        accept(acceptor, admin);
      });
}

}  // namespace

struct HttpServer::Impl : Shared {
  using Shared::Shared;
};

HttpServer::HttpServer(ServeApp& app) : impl_(std::make_unique<Impl>(app)) {
  const ServerOptions& o = app.options();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int loops = std::clamp(o.io_threads > 0 ? o.io_threads : cores, 1, 64);
  for (int i = 0; i < loops; ++i) {
    impl_->loops.push_back(std::make_unique<Loop>());
    impl_->guards.emplace_back(impl_->loops.back()->context.get_executor());
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
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
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
