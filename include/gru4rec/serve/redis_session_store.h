// Sessions in Redis, shared by every server process that names the same Redis: a session's
// events may reach any replica, and a replica that restarts loses nothing. Each session is one
// key (prefix + id), a hash holding a SessionRecord (item ids, state, model checksum, field
// "r") and the answer to its last event (field "a"), expiring after the time-to-live of
// inactivity (Redis's own expiry, renewed on every use).
//
// Concurrent events of one session on two replicas: update() is optimistic (WATCH the key,
// read, compute, MULTI/SET/EXEC) and retried when another replica wrote in between, up to
// kMaxTries; no update is lost. Redis down or slow: SessionStoreUnavailable, after at most the
// timeout (and at once while the client backs off).
//
// Thread-safe: one Redis connection per thread that uses the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "gru4rec/serve/redis_client.h"
#include "gru4rec/serve/session_record.h"
#include "gru4rec/serve/session_store.h"

namespace gru4rec {

// Between the server's SessionState (process-local item indices, model version) and the
// portable record. Implemented by the server, which knows its items and models.
class SessionCodec {
 public:
  virtual ~SessionCodec() = default;
  virtual SessionRecord to_record(const SessionState& state) const = 0;
  virtual SessionState from_record(const SessionRecord& record) const = 0;
  // The item ids of registry indices (for answers).
  virtual std::vector<std::string> item_ids(std::span<const int32_t> items) const = 0;
};

// The session record in a reply of Redis (HGET's or HMGET's field), with the answer of its
// other field when `answer` is given; nullopt when the reply is not a record of ours (missing,
// another type, or bytes that decode_session refuses). An answer that is not ours is ignored.
std::optional<SessionRecord> session_record_of(const RedisReply& record,
                                               const RedisReply* answer = nullptr);

class RedisSessionStore : public SessionStore {
 public:
  static constexpr int kMaxTries = 16;

  // `codec` must outlive the store.
  RedisSessionStore(RedisAddress address, double ttl_seconds, double timeout_seconds,
                    const SessionCodec& codec, std::string key_prefix = "gru4rec:session:");

  void update(std::string_view id,
              const std::function<void(SessionState&, bool created)>& fn) override;
  bool get(std::string_view id, SessionState& out) override;
  bool erase(std::string_view id) override;
  // The answer is a field of the session's hash, read with the session by update().
  void save_answer(std::string_view id, uint64_t events, std::span<const int32_t> answer) override;
  // Redis expires the keys itself: this counts them (DBSIZE) for size(), and returns 0. Called
  // by the server's sweeper thread, so that /metrics never waits for Redis on an event loop.
  size_t expire() override;
  // The keys in the database at the last expire() (0 before it, or when Redis was unreachable).
  size_t size() const override { return size_.load(); }
  uint64_t created() const override { return created_.load(); }
  // Updates redone because another replica wrote the session in between.
  uint64_t conflicts() const { return conflicts_.load(); }

 private:
  RedisClient& client() const;
  // One optimistic attempt; false when another writer changed the session meanwhile.
  bool try_update(const std::string& key,
                  const std::function<void(SessionState&, bool created)>& fn);
  // The reply, or SessionStoreUnavailable.
  RedisReply call(std::initializer_list<std::string_view> args) const;
  // Several commands in one round trip; SessionStoreUnavailable as for call().
  std::vector<RedisReply> call_all(
      std::initializer_list<std::initializer_list<std::string_view>> commands) const;
  // The session's record in `reply` (a GET's), or nullopt (missing, or not a record of ours).
  // `answer`: the reply of a GET of the answer key, or nullptr.
  std::optional<SessionState> decode(const RedisReply& reply,
                                     const RedisReply* answer = nullptr) const;

  RedisAddress address_;
  std::string ttl_milliseconds_;
  double timeout_seconds_;
  const SessionCodec& codec_;
  std::string prefix_;
  uint64_t instance_;
  mutable std::atomic<uint64_t> created_{0}, conflicts_{0};
  std::atomic<size_t> size_{0};
};

}  // namespace gru4rec
