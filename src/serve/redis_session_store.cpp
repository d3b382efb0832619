#include "gru4rec/serve/redis_session_store.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <thread>

#include "gru4rec/core/error.h"

namespace gru4rec {

namespace {
std::atomic<uint64_t> next_instance{1};
// A session is a Redis hash: its record, and the answer to its last event (kept apart so that
// it can be written after the answer is scored, without a transaction).
constexpr std::string_view kRecordField = "r", kAnswerField = "a";
}  // namespace

RedisSessionStore::RedisSessionStore(RedisAddress address, double ttl_seconds,
                                     double timeout_seconds, const SessionCodec& codec,
                                     std::string key_prefix)
    : address_(std::move(address)),
      ttl_milliseconds_(std::to_string(std::max<long long>(1, std::llround(ttl_seconds * 1e3)))),
      timeout_seconds_(timeout_seconds),
      codec_(codec),
      prefix_(std::move(key_prefix)),

      instance_(next_instance++) {}

RedisClient& RedisSessionStore::client() const {
  struct Local {
    uint64_t owner = 0;
    std::unique_ptr<RedisClient> client;
  };
  thread_local Local local;
  if (local.owner != instance_) {
    local.client = std::make_unique<RedisClient>(address_, timeout_seconds_);
    local.owner = instance_;
  }
  return *local.client;
}

RedisReply RedisSessionStore::call(std::initializer_list<std::string_view> args) const {
  return std::move(call_all({args}).front());
}

std::vector<RedisReply> RedisSessionStore::call_all(
    std::initializer_list<std::initializer_list<std::string_view>> commands) const {
  auto replies = client().pipeline(commands);
  if (!replies) throw SessionStoreUnavailable("the session store (Redis) cannot be reached");
  for (const RedisReply& r : *replies) {
    if (r.kind == RedisReply::Kind::kError)
      throw SessionStoreUnavailable(fmt::format("the session store (Redis) failed: {}", r.text));
  }
  return std::move(*replies);
}

std::optional<SessionRecord> session_record_of(const RedisReply& reply, const RedisReply* answer) {
  if (reply.kind != RedisReply::Kind::kString) return std::nullopt;
  auto record = decode_session(reply.text);
  if (!record) return std::nullopt;  // truncated, foreign or corrupt: as if missing
  // An answer that is not one of ours is ignored: the next event is then not measured.
  if (answer != nullptr && answer->kind == RedisReply::Kind::kString)
    decode_answer(answer->text, *record);
  return record;
}

std::optional<SessionState> RedisSessionStore::decode(const RedisReply& reply,
                                                      const RedisReply* answer) const {
  const std::optional<SessionRecord> record = session_record_of(reply, answer);
  if (!record) return std::nullopt;
  return codec_.from_record(*record);
}

void RedisSessionStore::update(std::string_view id,
                               const std::function<void(SessionState&, bool created)>& fn) {
  const std::string key = prefix_ + std::string(id);
  for (int attempt = 0; attempt < kMaxTries; ++attempt) {
    try {
      if (try_update(key, fn)) return;
    } catch (...) {
      // Leave the connection out of any transaction and watch (a broken one is dropped anyway).
      client().command({"DISCARD"});
      client().command({"UNWATCH"});
      throw;
    }
    conflicts_++;
    // A random pause before trying again, growing with the attempts: two replicas that keep
    // colliding on a busy session fall out of step instead of one starving the other.
    thread_local std::minstd_rand random(std::random_device{}());
    const int limit_us = std::min(100 << attempt, 5000);
    std::this_thread::sleep_for(std::chrono::microseconds(random() % (limit_us + 1)));
  }
  throw SessionStoreUnavailable(
      fmt::format("the session changed {} times while this event was applied", kMaxTries));
}

bool RedisSessionStore::try_update(const std::string& key,
                                   const std::function<void(SessionState&, bool created)>& fn) {
  // Two round trips: WATCH and HMGET together, then MULTI, the write and EXEC together.
  auto read = client().pipeline({{"WATCH", key}, {"HMGET", key, kRecordField, kAnswerField}});
  if (!read || (*read)[0].kind == RedisReply::Kind::kError)
    throw SessionStoreUnavailable("the session store (Redis) cannot be reached");
  // An error here is a key of another type: not ours, read as missing and replaced below.
  const RedisReply& fields = (*read)[1];
  std::optional<SessionState> stored;
  if (fields.kind == RedisReply::Kind::kArray && fields.elements.size() == 2)
    stored = decode(fields.elements[0], &fields.elements[1]);
  const bool is_new = !stored.has_value();
  SessionState session = is_new ? SessionState{} : std::move(*stored);
  fn(session, is_new);
  const SessionRecord record = codec_.to_record(session);
  const std::string value = encode_session(record), answer = encode_answer(record);
  const std::vector<RedisReply> write =
      call_all({{"MULTI"},
                {"HSET", key, kRecordField, value, kAnswerField, answer},
                {"PEXPIRE", key, ttl_milliseconds_},
                {"EXEC"}});
  if (write[3].kind != RedisReply::Kind::kArray) return false;  // nil: changed since WATCH
  if (!write[3].elements.empty() && write[3].elements[0].kind == RedisReply::Kind::kError) {
    // The key holds something else than a hash (not ours): replaced, then tried again.
    call({"DEL", key});
    return false;
  }
  if (is_new) created_++;
  return true;
}

bool RedisSessionStore::get(std::string_view id, SessionState& out) {
  const std::string key = prefix_ + std::string(id);
  auto replies =
      client().pipeline({{"HGET", key, kRecordField}, {"PEXPIRE", key, ttl_milliseconds_}});
  if (!replies) throw SessionStoreUnavailable("the session store (Redis) cannot be reached");
  std::optional<SessionState> stored = decode((*replies)[0]);  // an error: not ours, missing
  if (!stored) return false;
  out = std::move(*stored);
  return true;
}

bool RedisSessionStore::erase(std::string_view id) {
  const RedisReply r = call({"DEL", prefix_ + std::string(id)});
  return r.kind == RedisReply::Kind::kInteger && r.integer > 0;
}

void RedisSessionStore::save_answer(std::string_view id, uint64_t events,
                                    std::span<const int32_t> answer) {
  SessionRecord record;
  record.answer_events = events;
  record.answer = codec_.item_ids(answer);
  // Were the session deleted meanwhile, the key holds an answer without a record (read as a
  // missing session) until it expires.
  const std::string key = prefix_ + std::string(id);
  call_all(
      {{"HSET", key, kAnswerField, encode_answer(record)}, {"PEXPIRE", key, ttl_milliseconds_}});
}

size_t RedisSessionStore::expire() {
  try {
    const RedisReply r = call({"DBSIZE"});
    if (r.kind == RedisReply::Kind::kInteger && r.integer >= 0)
      size_.store(static_cast<size_t>(r.integer));
  } catch (const SessionStoreUnavailable&) {
    // Unreachable: the last count stays.
  }
  return 0;
}

}  // namespace gru4rec
