// A minimal HTTP/1.1 client over raw sockets for the server's tests: well-behaved requests on a
// kept-alive connection, and the building blocks of misbehaving clients (partial writes,
// half-closes, resets). Blocking, with receive timeouts; one thread per client.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace gru4rec::testing {

struct HttpReply {
  int status = 0;                              // 0: no (complete) answer
  bool connected = true;                       // false: the connection could not be opened
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

// A TCP connection to 127.0.0.1:port; -1 when it cannot connect. Receives time out after
// `timeout_seconds`.
int connect_local(int port, double timeout_seconds = 10);
bool send_all(int fd, std::string_view data);
// Reads one answer (head, then a Content-Length body) from `fd`; `buffer` keeps bytes read
// beyond it (pipelined answers). `head_only`: the answer to a HEAD (no body follows).
HttpReply read_reply(int fd, std::string& buffer, bool head_only = false);
// Everything until the server closes the connection (or the receive timeout).
std::string read_until_closed(int fd);
// Whether the server has closed the connection (reads EOF or a reset within the timeout).
bool closed_by_server(int fd);

// Requests on one kept-alive connection. A new connection is opened for the first request and
// after an answer that closed the connection (Connection: close) or a failure. A request is
// sent once: a failure is the caller's to see (status 0), never retried behind its back.
class HttpClient {
 public:
  explicit HttpClient(int port, double timeout_seconds = 10);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpReply get(const std::string& path, const std::string& headers = "");
  HttpReply post(const std::string& path, const std::string& body, const std::string& headers = "");
  HttpReply request(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& headers = "");

 private:
  int port_;
  double timeout_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace gru4rec::testing
