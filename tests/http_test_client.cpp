#include "http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace gru4rec::testing {

int connect_local(int port, double timeout_seconds) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval limit{};
  limit.tv_sec = static_cast<time_t>(timeout_seconds);
  limit.tv_usec = static_cast<suseconds_t>((timeout_seconds - std::floor(timeout_seconds)) * 1e6);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

// Reads more bytes into `buffer`; false on EOF, error or timeout.
bool read_more(int fd, std::string& buffer) {
  char chunk[16384];
  const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer.append(chunk, static_cast<size_t>(n));
  return true;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

HttpReply read_reply(int fd, std::string& buffer, bool head_only) {
  HttpReply reply;
  size_t end = 0;
  for (;;) {
    // Interim answers (100 Continue) are skipped.
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more(fd, buffer)) return reply;
    }
    if (buffer.rfind("HTTP/1.1 100", 0) == 0) {
      buffer.erase(0, end + 4);
      continue;
    }
    break;
  }
  const std::string head = buffer.substr(0, end);
  buffer.erase(0, end + 4);
  size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return reply;
  const int status = std::atoi(status_line.c_str() + 9);
  while (line_end != std::string::npos) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = colon + 1;
    while (value < line.size() && line[value] == ' ') ++value;
    reply.headers[lower(line.substr(0, colon))] = line.substr(value);
  }
  size_t length = 0;
  if (!head_only && reply.headers.count("content-length"))
    length = std::stoul(reply.headers["content-length"]);
  while (buffer.size() < length) {
    if (!read_more(fd, buffer)) return reply;
  }
  reply.body = buffer.substr(0, length);
  buffer.erase(0, length);
  reply.status = status;
  return reply;
}

std::string read_until_closed(int fd) {
  std::string data;
  while (read_more(fd, data)) {
  }
  return data;
}

bool closed_by_server(int fd) {
  char byte;
  for (;;) {
    const ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

HttpClient::HttpClient(int port, double timeout_seconds) : port_(port), timeout_(timeout_seconds) {}

HttpClient::~HttpClient() {
  if (fd_ >= 0) ::close(fd_);
}

HttpReply HttpClient::get(const std::string& path, const std::string& headers) {
  return request("GET", path, "", headers);
}

HttpReply HttpClient::post(const std::string& path, const std::string& body,
                           const std::string& headers) {
  return request("POST", path, body, headers);
}

HttpReply HttpClient::request(const std::string& method, const std::string& path,
                              const std::string& body, const std::string& headers) {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" + headers;
  if (method == "POST" || !body.empty())
    text +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  text += "\r\n" + body;
  if (fd_ < 0) {
    fd_ = connect_local(port_, timeout_);
    buffer_.clear();
    if (fd_ < 0) {
      HttpReply refused;
      refused.connected = false;
      return refused;
    }
  }
  HttpReply reply;
  if (send_all(fd_, text)) reply = read_reply(fd_, buffer_, method == "HEAD");
  if (reply.status == 0 || lower(reply.header("connection")) == "close") {
    ::close(fd_);
    fd_ = -1;
  }
  return reply;
}

}  // namespace gru4rec::testing
