// Reading one HTTP/1.1 request out of the bytes a connection receives, with every limit and
// rule of gru4rec serve applied. Pure: no I/O, no clock (the connection reads the socket, keeps
// the time limits and feeds the bytes here), so that the server and the fuzz target run the
// same code.
//
// What a request may cost: its head at most max_header_bytes (request line and fields) and
// max_header_count fields; its body at most max_body_bytes decoded, and at most
// max_body_bytes + max_header_bytes on the wire (chunk sizes, chunk extensions and the last
// chunk count against the head's allowance). The bytes a connection keeps unparsed never exceed
// buffer_limit(): a chunk-size line, a chunk extension or a trailer that does not fit is refused
// instead of buffered. Together: a connection holds at most about head + body + buffer bytes,
// whatever the client sends.
//
// Rules checked once the head is complete (each answered with its status, then the connection
// is closed, since what follows cannot be trusted to start at a request boundary):
//   505  a version other than HTTP/1.0 or HTTP/1.1
//   400  HTTP/1.1 without exactly one Host field, HTTP/1.0 with several
//   400  Transfer-Encoding on HTTP/1.0, or chunked not the one and only coding (RFC 9112 6.1:
//        "chunked, identity" would leave the body's end to guesswork: request smuggling)
//   501  Transfer-Encoding other than chunked (identity, gzip, ...)
//   415  a Content-Encoding other than identity, in any of its fields
//   411  a POST without Content-Length or chunked
//   403  a request a browser sends from another site (Sec-Fetch-Site: cross-site or same-site,
//        or an Origin whose host is not the Host): a page elsewhere must not post events into
//        visitors' sessions (the API is for the shop's back end or a same-origin proxy)
//   400  any trailer field after a chunked body (the head's checks would not apply to it)
//   with admin_host_check: 421 unless Host names the listener by IP address or "localhost"
//        (DNS rebinding: a name the attacker controls pointed at 127.0.0.1)
// Parse errors are 400; the head limits 431; the body limits 413.
//
// Thread safety: one reader per connection; not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gru4rec {

struct HttpLimits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_header_count = 64;
  size_t max_body_bytes = 64 * 1024;
  bool admin_host_check = false;
};

// A request read whole.
struct HttpRequest {
  std::string method;  // as sent ("GET", "HEAD", "POST", ...)
  std::string target;  // the request target (path and query), raw
  int version = 11;    // 10 or 11
  bool keep_alive = true;
  std::string authorization;  // the Authorization field's value ("" when absent)
  std::string body;
};

class HttpRequestReader {
 public:
  enum class State {
    kReadingHead,  // more bytes needed for the head
    kReadingBody,  // the head is complete and passed its checks; more bytes needed for the body
    kDone,         // the request is complete: take it with take()
    kFailed,       // refused: status() and message() say why
  };

  explicit HttpRequestReader(const HttpLimits& limits);
  ~HttpRequestReader();
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  // Starts the next request (after kDone; a failed reader stays failed until this).
  void start();
  // Parses what it can of `bytes` (the connection's unparsed bytes, oldest first); returns how
  // many it consumed (the caller drops them; the rest are given again with more after them).
  // Fails with the limit's status when `bytes` reaches buffer_limit() and none could be parsed.
  size_t parse(std::string_view bytes);
  // The client closed its side: a request cut short fails (with status 0: nothing to answer).
  void end_of_input();

  State state() const { return state_; }
  // The head is complete and accepted, the body not yet read, and the client asked for
  // "Expect: 100-continue" (the connection sends the interim answer before reading on). True
  // once per request: the answer is taken as sent.
  bool wants_continue();
  // The failure's HTTP status (0: the client went away, answer nothing) and message.
  int status() const { return status_; }
  const std::string& message() const { return message_; }
  // The complete request (state kDone); moves it out.
  HttpRequest take();

  // The most unparsed bytes a connection keeps for this reader.
  size_t buffer_limit() const;
  // The most bytes a body takes on the wire (max_body_bytes + max_header_bytes); a body parses
  // at most one byte more before it fails.
  uint64_t wire_limit() const;
  // Bytes parsed for the current request so far (head and body, on the wire).
  uint64_t bytes_parsed() const { return head_bytes_ + body_bytes_; }

 private:
  void fail(int status, std::string message);
  void check_head();
  struct Parser;

  HttpLimits limits_;
  std::unique_ptr<Parser> parser_;
  State state_ = State::kReadingHead;
  int status_ = 0;
  std::string message_;
  uint64_t head_bytes_ = 0, body_bytes_ = 0;
  size_t head_fields_ = 0;
};

}  // namespace gru4rec
