#include "gru4rec/serve/redis_client.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

constexpr double kFirstBackoff = 0.05, kMaxBackoff = 5.0;

timeval to_timeval(double seconds) {
  timeval t{};
  t.tv_sec = static_cast<time_t>(seconds);
  t.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  return t;
}

bool parse_int(std::string_view text, int& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

RedisReply convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.kind = r.type == REDIS_REPLY_STRING   ? RedisReply::Kind::kString
                 : r.type == REDIS_REPLY_STATUS ? RedisReply::Kind::kStatus
                                                : RedisReply::Kind::kError;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = RedisReply::Kind::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = RedisReply::Kind::kArray;
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default: out.kind = RedisReply::Kind::kNil;
  }
  return out;
}

// hiredis 0.14 allocates an array's element pointers as soon as the array's header arrives: a
// peer that is not Redis (or a hostile one) could make a header of a few bytes cost gigabytes
// ("*499999999", found by fuzz/targets/redis_reply.cpp). No reply of ours has more than a few
// dozen elements: longer arrays are refused, as hiredis refuses what it cannot allocate.
constexpr int kMaxReplyElements = 1 << 16;
redisReplyObjectFunctions* default_functions = nullptr;
void* create_limited_array(const redisReadTask* task, int elements) {
  if (elements > kMaxReplyElements) return nullptr;
  return default_functions->createArray(task, elements);
}
// hiredis's own functions but for the array cap, for a reader that uses `defaults`.
redisReplyObjectFunctions* limited_functions(redisReplyObjectFunctions* defaults) {
  static redisReplyObjectFunctions limited = [defaults] {
    default_functions = defaults;
    redisReplyObjectFunctions f = *defaults;
    f.createArray = create_limited_array;
    return f;
  }();
  return &limited;
}

}  // namespace

std::vector<RedisReply> parse_redis_replies(std::string_view bytes) {
  struct Reader {
    redisReader* reader = redisReaderCreate();
    ~Reader() { redisReaderFree(reader); }
  } r;
  if (r.reader == nullptr) throw Error("out of memory for a Redis reply reader");
  r.reader->fn = limited_functions(r.reader->fn);
  if (redisReaderFeed(r.reader, bytes.data(), bytes.size()) != REDIS_OK)
    throw Error("Redis replies: the reader refused the bytes");
  std::vector<RedisReply> replies;
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(r.reader, &raw) != REDIS_OK)
      throw Error(fmt::format("Redis replies: {}", r.reader->errstr));
    if (raw == nullptr) return replies;  // no complete reply left
    replies.push_back(convert(*static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
}

RedisAddress parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  const auto bad = [&](std::string_view what) {
    return Error(
        fmt::format("session store '{}': {}; expected redis://HOST[:PORT][/DB]", url, what));
  };
  if (url.substr(0, kScheme.size()) != kScheme) throw bad("not a redis:// URL");
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress address;
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    if (!parse_int(rest.substr(slash + 1), address.database) || address.database < 0)
      throw bad("the database is not a number");
    rest = rest.substr(0, slash);
  }
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    if (!parse_int(rest.substr(colon + 1), address.port) || address.port < 1 ||
        address.port > 65535)
      throw bad("the port is not a number from 1 to 65535");
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) throw bad("no host");
  address.host = std::string(rest);
  return address;
}

RedisClient::RedisClient(RedisAddress address, double timeout_seconds)
    : address_(std::move(address)), timeout_seconds_(timeout_seconds) {}

RedisClient::~RedisClient() {
  if (context_ != nullptr) redisFree(context_);
}

void RedisClient::fail() {
  ++failures_;
  unread_ = 0;
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
  backoff_seconds_ = std::clamp(backoff_seconds_ * 2, kFirstBackoff, kMaxBackoff);
  retry_at_ = std::chrono::steady_clock::now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(backoff_seconds_));
}

bool RedisClient::connect() {
  if (context_ != nullptr) return true;
  if (std::chrono::steady_clock::now() < retry_at_) return false;  // backing off
  context_ =
      redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(timeout_seconds_));
  if (context_ == nullptr || context_->err != 0 ||
      redisSetTimeout(context_, to_timeval(timeout_seconds_)) != REDIS_OK) {
    fail();
    return false;
  }
  context_->reader->fn = limited_functions(context_->reader->fn);
  if (address_.database != 0) {
    const std::string db = std::to_string(address_.database);
    auto* reply = static_cast<redisReply*>(redisCommand(context_, "SELECT %s", db.c_str()));
    const bool ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
    if (reply != nullptr) freeReplyObject(reply);
    if (!ok) {
      fail();
      return false;
    }
  }
  return true;
}

std::optional<RedisReply> RedisClient::command(std::initializer_list<std::string_view> args) {
  auto replies = pipeline({args});
  if (!replies) return std::nullopt;
  return std::move(replies->front());
}

bool RedisClient::append(std::span<const std::string_view> args) {
  thread_local std::vector<const char*> argv;
  thread_local std::vector<size_t> lengths;
  argv.clear();
  lengths.clear();
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                             lengths.data()) == REDIS_OK)
    return true;
  fail();
  return false;
}

std::optional<std::vector<RedisReply>> RedisClient::read_replies(size_t count) {
  const size_t skip = unread_;  // send()'s replies come first
  unread_ = 0;
  std::vector<RedisReply> replies;
  for (size_t i = 0; i < skip + count; ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      fail();
      return std::nullopt;
    }
    auto* reply = static_cast<redisReply*>(raw);
    if (i >= skip) replies.push_back(convert(*reply));
    freeReplyObject(reply);
  }
  backoff_seconds_ = 0;
  return replies;
}

bool RedisClient::send(std::initializer_list<std::initializer_list<std::string_view>> commands) {
  if (!connect()) return false;
  for (const auto& args : commands) {
    if (!append(std::span<const std::string_view>(args.begin(), args.size()))) return false;
  }
  // Written out now (a blocking context writes it all), read with the next command's replies.
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      fail();
      return false;
    }
  }
  unread_ += commands.size();
  return true;
}

std::optional<std::vector<RedisReply>> RedisClient::pipeline(
    std::initializer_list<std::initializer_list<std::string_view>> commands) {
  if (!connect()) return std::nullopt;
  for (const auto& args : commands) {
    if (!append(std::span<const std::string_view>(args.begin(), args.size()))) return std::nullopt;
  }
  return read_replies(commands.size());
}

std::optional<std::vector<RedisReply>> RedisClient::pipeline(
    std::span<const std::vector<std::string>> commands) {
  if (!connect()) return std::nullopt;
  std::vector<std::string_view> views;
  for (const auto& args : commands) {
    views.assign(args.begin(), args.end());
    if (!append(views)) return std::nullopt;
  }
  return read_replies(commands.size());
}

}  // namespace gru4rec
