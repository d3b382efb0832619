// Our headers (Eigen) first: httplib pulls in <resolv.h>, whose `_res` macro breaks Eigen's
// headers when they come after it.
#include "gru4rec/core/error.h"
#include "gru4rec/serve/server.h"

#include <httplib.h>

#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <limits>

namespace gru4rec {

namespace {

const char* reason(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 413: return "request body too large";
    case 414: return "request line too long";
    case 431: return "request headers too large";
    default: return status >= 500 ? "server error" : "client error";
  }
}

}  // namespace

struct HttpServer::Impl {
  ServeApp& app;
  httplib::Server server;
  int listen_socket = -1;
  explicit Impl(ServeApp& a) : app(a) {}
};

HttpServer::HttpServer(ServeApp& app) : impl_(std::make_unique<Impl>(app)) {
  const ServerOptions& o = app.options();
  httplib::Server& server = impl_->server;
  server.set_payload_max_length(o.max_body_bytes);
  // A response goes out as two writes (headers, body): without TCP_NODELAY, Nagle's algorithm
  // and the client's delayed ACK add 40 ms to every request on a kept-alive connection.
  server.set_tcp_nodelay(true);
  // Remember the listening socket, to lengthen its backlog after bind (see bind()).
  server.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    impl_->listen_socket = sock;
  });
  const auto seconds = [](double s) {
    return std::pair<time_t, time_t>{static_cast<time_t>(s),
                                     static_cast<time_t>((s - std::floor(s)) * 1e6)};
  };
  server.set_read_timeout(seconds(o.read_timeout_seconds).first, seconds(o.read_timeout_seconds).second);
  server.set_write_timeout(seconds(o.write_timeout_seconds).first, seconds(o.write_timeout_seconds).second);
  server.set_keep_alive_timeout(static_cast<time_t>(std::max(1.0, o.read_timeout_seconds)));
  // Clients keep their connections: a reconnect costs a handshake, and with httplib's short
  // listen backlog a burst of reconnects can lose SYNs (a 1 s retransmission).
  server.set_keep_alive_max_count(std::numeric_limits<size_t>::max());
  // httplib serves a connection on one pool thread for as long as it is kept alive: the pool
  // needs a thread per concurrent connection; the model work itself is short.
  const size_t pool = static_cast<size_t>(std::max(o.threads, 1));
  server.new_task_queue = [pool] { return new httplib::ThreadPool(pool); };
  auto handler = [this](const httplib::Request& request, httplib::Response& response) {
    const auto start = std::chrono::steady_clock::now();
    const size_t question = request.target.find('?');
    const std::string_view query =
        question == std::string::npos ? std::string_view() : std::string_view(request.target).substr(question + 1);
    const Response r = impl_->app.handle(request.method, request.path, query, request.body);
    response.status = r.status;
    response.set_content(r.body, r.content_type.c_str());
    impl_->app.record(r.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Delete(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Options(".*", handler);
  // Errors found by httplib itself (body too large, bad request line, ...) get a JSON body.
  server.set_error_handler([this](const httplib::Request&, httplib::Response& response) {
    if (!response.body.empty()) return;
    response.set_content(fmt::format(R"({{"error":{{"status":{},"message":"{}"}}}})",
                                     response.status, reason(response.status)),
                         "application/json");
    impl_->app.record(response.status, 0);
  });
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
  const ServerOptions& o = impl_->app.options();
  int port = o.port;
  if (port == 0) {
    port = impl_->server.bind_to_any_port(o.host.c_str());
  } else if (!impl_->server.bind_to_port(o.host.c_str(), port)) {
    port = -1;
  }
  if (port < 0) throw Error(fmt::format("cannot listen on {}:{} (in use, or not allowed)", o.host, o.port));
  // httplib listens with a backlog of 5: a burst of new connections while the cores are busy
  // overflows it, and each dropped SYN costs the client a 1 s retransmission. Listening again
  // on the bound socket sets a longer backlog.
  if (impl_->listen_socket >= 0) ::listen(impl_->listen_socket, SOMAXCONN);
  return port;
}

void HttpServer::serve() { impl_->server.listen_after_bind(); }

void HttpServer::stop() {
  if (impl_) impl_->server.stop();
}

}  // namespace gru4rec
