// A small synchronous Redis client (hiredis) for the shared session store: one connection,
// commands with a timeout, and a backoff after failures so that a Redis that is down or slow
// costs each caller one quick "unavailable" instead of a wait per request.
//
// Not thread-safe: one client per thread (the server keeps one per model thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace gru4rec {

struct RedisAddress {
  std::string host;
  int port = 6379;
  int database = 0;
};

// "redis://HOST[:PORT][/DB]"; throws Error with what is wrong and what is expected.
RedisAddress parse_redis_url(std::string_view url);

struct RedisReply {
  enum class Kind { kNil, kString, kInteger, kStatus, kArray, kError };
  Kind kind = Kind::kNil;
  std::string text;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisReply> elements;  // kArray
};

// The replies in `bytes`, a stream of the Redis protocol (RESP) as a server sends it, parsed by
// hiredis's reader as the client parses them; an incomplete last reply is left out. Throws Error
// on bytes that are not the protocol. (The client's own parsing, apart for tests and fuzzing.)
std::vector<RedisReply> parse_redis_replies(std::string_view bytes);

class RedisClient {
 public:
  RedisClient(RedisAddress address, double timeout_seconds);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // The reply, or nullopt when Redis cannot be reached now (refused, timed out, connection
  // broken, or still within the backoff after such a failure). A reply of kind kError is
  // Redis's own error for the command (the connection is fine).
  std::optional<RedisReply> command(std::initializer_list<std::string_view> args);
  // Several commands in one round trip (sent together, replies read in order): all the
  // replies, or nullopt as for command().
  std::optional<std::vector<RedisReply>> pipeline(
      std::initializer_list<std::initializer_list<std::string_view>> commands);
  std::optional<std::vector<RedisReply>> pipeline(
      std::span<const std::vector<std::string>> commands);
  // Sends commands without waiting for their replies (read and dropped before the next
  // command's); false when Redis cannot be reached now. For writes whose outcome no caller
  // waits for: the request that made them is answered one round trip sooner.
  bool send(std::initializer_list<std::initializer_list<std::string_view>> commands);
  // Failures since construction (for metrics).
  uint64_t failures() const { return failures_; }

 private:
  bool connect();
  void fail();
  // Queues one command; false (after fail()) when it cannot be written.
  bool append(std::span<const std::string_view> args);
  // The replies of the `count` commands queued; nullopt (after fail()) on a broken connection.
  std::optional<std::vector<RedisReply>> read_replies(size_t count);

  RedisAddress address_;
  double timeout_seconds_;
  redisContext* context_ = nullptr;
  std::chrono::steady_clock::time_point retry_at_{};
  double backoff_seconds_ = 0;
  uint64_t failures_ = 0;
  size_t unread_ = 0;  // replies of send()'s commands not read yet
};

}  // namespace gru4rec
