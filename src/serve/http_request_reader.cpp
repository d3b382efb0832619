#include "gru4rec/serve/http_request_reader.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"

namespace gru4rec {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using Request = http::request<http::string_body>;

// Room beyond the head's limit for the bytes of the next read (a pipelined request, the start
// of a body) that arrive with the end of a head.
constexpr size_t kReadSlack = 8 * 1024;

// Calls fn(token) for each comma-separated token of every field named `name`.
template <typename Fn>
void for_each_token(const Request& request, http::field name, Fn fn) {
  const auto [begin, end] = request.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    std::string_view value = it->value();
    for (;;) {
      const size_t comma = value.find(',');
      fn(trim(value.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
}

size_t count_of(const Request& request, http::field name) {
  const auto [begin, end] = request.equal_range(name);
  return static_cast<size_t>(std::distance(begin, end));
}

// A Host value's characters (RFC 3986 authority without userinfo): reg-name or IP literal and
// an optional port.
bool valid_host(std::string_view host) {
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// An authority ("name[:port]", the name possibly a bracketed IPv6 literal) as its name in lower
// case and its port ("" when it names none).
std::pair<std::string, std::string_view> split_authority(std::string_view authority) {
  const size_t bracket = authority.rfind(']'), colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  std::string name(authority.substr(0, has_port ? colon : std::string_view::npos));
  for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return {std::move(name), has_port ? authority.substr(colon + 1) : std::string_view()};
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  while (true) {
    size_t digits = 0;
    int value = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9' && digits < 3)
      value = value * 10 + (s[digits++] - '0');
    if (digits == 0 || value > 255) return false;
    ++parts;
    s.remove_prefix(digits);
    if (s.empty()) return parts == 4;
    if (s.front() != '.' || parts == 4) return false;
    s.remove_prefix(1);
  }
}

bool is_ipv6_literal(std::string_view s) {
  if (s.size() < 4 || s.front() != '[' || s.back() != ']') return false;
  for (const char c : s.substr(1, s.size() - 2)) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Whether an Origin ("scheme://authority", or "null") is the server that `host` (the Host
// field) names: the same name and port, a missing port being the scheme's default.
bool same_origin(std::string_view origin, std::string_view host) {
  const size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;  // "null" and anything else
  const std::string_view scheme = origin.substr(0, scheme_end);
  const std::string_view port = beast::iequals(scheme, "https")  ? "443"
                                : beast::iequals(scheme, "http") ? "80"
                                                                 : "";
  if (port.empty()) return false;
  const auto [origin_name, origin_port] = split_authority(origin.substr(scheme_end + 3));
  const auto [host_name, host_port] = split_authority(host);
  return origin_name == host_name &&
         (origin_port.empty() ? port : origin_port) == (host_port.empty() ? port : host_port);
}

}  // namespace

struct HttpRequestReader::Parser {
  std::optional<http::request_parser<http::string_body>> parser;
  bool continue_sent = false;
};

HttpRequestReader::HttpRequestReader(const HttpLimits& limits)
    : limits_(limits), parser_(std::make_unique<Parser>()) {
  start();
}

HttpRequestReader::~HttpRequestReader() = default;

void HttpRequestReader::start() {
  auto& p = parser_->parser.emplace();
  p.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(limits_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  p.body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
  p.eager(false);  // stop after the head: its checks come before any of the body is read
  parser_->continue_sent = false;
  state_ = State::kReadingHead;
  status_ = 0;
  message_.clear();
  head_bytes_ = body_bytes_ = 0;
  head_fields_ = 0;
}

uint64_t HttpRequestReader::wire_limit() const {
  return limits_.max_body_bytes + limits_.max_header_bytes;
}

size_t HttpRequestReader::buffer_limit() const {
  return limits_.max_header_bytes + kReadSlack;
}

void HttpRequestReader::fail(int status, std::string message) {
  state_ = State::kFailed;
  status_ = status;
  message_ = std::move(message);
}

bool HttpRequestReader::wants_continue() {
  if (state_ != State::kReadingBody || parser_->continue_sent) return false;
  const Request& request = parser_->parser->get();
  // HTTP/1.0 clients do not know the interim answer (RFC 9110 10.1.1: ignore the expectation).
  const bool wants =
      request.version() == 11 && beast::iequals(trim(request[http::field::expect]), "100-continue");
  parser_->continue_sent = true;  // asked once
  return wants;
}

size_t HttpRequestReader::parse(std::string_view bytes) {
  if (state_ == State::kDone || state_ == State::kFailed) return 0;
  auto& p = *parser_->parser;
  size_t used_total = 0;
  while (state_ == State::kReadingHead || state_ == State::kReadingBody) {
    std::string_view rest = bytes.substr(used_total);
    if (rest.empty()) break;
    // The head and the body are each given no more than what is left of their allowance and one
    // byte: a single call cannot overshoot it, and a line that would need more fails here.
    // (Boost 1.81's parser takes a head's complete fields as they come and applies its limit to
    // each call's bytes, not to their sum: fed in pieces, a head would have no bound. Found by
    // fuzz/targets/http_request.cpp.)
    const bool head = state_ == State::kReadingHead;
    const uint64_t done = head ? head_bytes_ : body_bytes_;
    const uint64_t most = head ? limits_.max_header_bytes : wire_limit();
    const uint64_t allowance = most - std::min(done, most);
    bool capped = false;
    if (rest.size() > allowance + 1) {
      rest = rest.substr(0, allowance + 1);
      capped = true;
    }
    // Boost 1.81's parser asserts (in builds with assertions, such as the sanitizers') when a
    // chunked body's last chunk comes first and is followed by a single byte (fixed upstream,
    // Beast pull request 2861); fewer than 5 bytes of a chunked body can complete nothing, so
    // they wait for more. Found by fuzz/targets/http_request.cpp.
    if (state_ == State::kReadingBody && p.chunked() && rest.size() < 5) break;
    beast::error_code ec;
    const size_t used = p.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
    used_total += used;
    if (state_ == State::kReadingHead)
      head_bytes_ += used;
    else
      body_bytes_ += used;
    if (ec == http::error::need_more) {
      if (used > 0) continue;
      // Nothing parsed: the unparsed bytes are one unit (a head, a chunk-size line, a trailer)
      // that does not fit in what a connection may keep, or in the body's allowance.
      if (capped && head) {
        fail(431, "the request head is too large");
      } else if (capped) {
        fail(413,
             fmt::format("the request body takes more than {} bytes on the wire", wire_limit()));
      } else if (rest.size() >= buffer_limit()) {
        if (state_ == State::kReadingHead)
          fail(431, "the request head is too large");
        else
          fail(413, "a chunk-size line, chunk extension or trailer is too long");
      }
      break;
    }
    if (ec == http::error::header_limit) {
      fail(431, "the request head is too large");
      break;
    }
    if (ec == http::error::bad_version) {
      fail(505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
      break;
    }
    if (ec == http::error::body_limit) {
      fail(413, fmt::format("the request body is larger than {} bytes", limits_.max_body_bytes));
      break;
    }
    if (ec) {
      fail(400, state_ == State::kReadingHead ? "malformed HTTP request"
                                              : "malformed HTTP request body");
      break;
    }
    if (state_ == State::kReadingHead && head_bytes_ > limits_.max_header_bytes) {
      fail(431, "the request head is too large");
      break;
    }
    if (state_ == State::kReadingBody && body_bytes_ > wire_limit()) {
      fail(413, fmt::format("the request body takes more than {} bytes on the wire", wire_limit()));
      break;
    }
    if (state_ == State::kReadingHead && p.is_header_done()) {
      check_head();
      if (state_ == State::kFailed) break;
      if (p.is_done()) {
        state_ = State::kDone;
        break;
      }
      state_ = State::kReadingBody;
      p.eager(true);
      continue;
    }
    if (state_ == State::kReadingBody && p.is_done()) {
      size_t fields = 0;
      for (auto it = p.get().begin(); it != p.get().end(); ++it) ++fields;
      if (fields != head_fields_) {
        fail(400, "trailer fields are not accepted after a chunked body");
        break;
      }
      state_ = State::kDone;
    }
  }
  return used_total;
}

void HttpRequestReader::end_of_input() {
  if (state_ == State::kReadingHead || state_ == State::kReadingBody) fail(0, "");
}

void HttpRequestReader::check_head() {
  auto& p = *parser_->parser;
  const Request& request = p.get();
  for (auto it = request.begin(); it != request.end(); ++it) ++head_fields_;
  if (head_fields_ > limits_.max_header_count)
    return fail(431, "the request has too many header fields");
  const unsigned version = request.version();
  if (version != 10 && version != 11)
    return fail(505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
  const size_t hosts = count_of(request, http::field::host);
  if (version == 11 && hosts != 1)
    return fail(400, hosts == 0 ? "an HTTP/1.1 request needs a Host field"
                                : "the request has more than one Host field");
  if (hosts > 1) return fail(400, "the request has more than one Host field");
  const std::string_view host = request[http::field::host];
  if (!valid_host(host)) return fail(400, "the Host field is not a valid host");

  if (count_of(request, http::field::transfer_encoding) > 0) {
    if (version == 10) return fail(400, "HTTP/1.0 requests cannot use Transfer-Encoding");
    size_t codings = 0, chunked = 0;
    for_each_token(request, http::field::transfer_encoding, [&](std::string_view coding) {
      ++codings;
      if (beast::iequals(coding, "chunked")) ++chunked;
    });
    if (chunked > 0 && (codings != 1 || !p.chunked()))
      return fail(400, "Transfer-Encoding: chunked must be the only transfer coding");
    if (chunked == 0) return fail(501, "the only transfer coding accepted is chunked");
  }
  bool compressed = false;
  for_each_token(request, http::field::content_encoding, [&](std::string_view coding) {
    if (!coding.empty() && !beast::iequals(coding, "identity")) compressed = true;
  });
  if (compressed) return fail(415, "compressed request bodies are not accepted");
  if (p.is_done() && request.method() == http::verb::post && !request.has_content_length())
    return fail(411, "a POST needs a body with Content-Length or chunked encoding");

  // Browsers say where a request comes from; the API takes none from another site's pages.
  const std::string_view fetch_site = trim(request["Sec-Fetch-Site"]);
  if (!fetch_site.empty()) {
    if (beast::iequals(fetch_site, "cross-site") || beast::iequals(fetch_site, "same-site"))
      return fail(403, "requests from another site's pages are not accepted");
  } else if (count_of(request, http::field::origin) > 0 &&
             !same_origin(trim(request[http::field::origin]), host)) {
    return fail(403, "requests from another site's pages are not accepted");
  }
  if (limits_.admin_host_check) {
    if (host.empty())
      return fail(421,
                  "the admin listener answers requests whose Host field names it by IP "
                  "address or as localhost; this one has none");
    const std::string name = split_authority(host).first;
    if (name != "localhost" && !is_ipv4(name) && !is_ipv6_literal(name))
      return fail(421,
                  "the admin listener answers requests that name it by IP address or as "
                  "localhost");
  }
}

HttpRequest HttpRequestReader::take() {
  GRU4REC_CHECK(state_ == State::kDone);
  auto& p = *parser_->parser;
  HttpRequest out;
  out.keep_alive = p.keep_alive();
  Request request = p.release();
  out.method = std::string(request.method_string());
  out.target = std::string(request.target());
  out.version = static_cast<int>(request.version());
  out.authorization = std::string(request[http::field::authorization]);
  out.body = std::move(request.body());
  state_ = State::kReadingHead;
  parser_->parser.reset();
  start();
  return out;
}

}  // namespace gru4rec
