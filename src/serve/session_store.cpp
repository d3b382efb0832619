#include "gru4rec/serve/session_store.h"

#include <algorithm>
#include <chrono>

#include "gru4rec/core/error.h"

namespace gru4rec {

MemorySessionStore::MemorySessionStore(size_t max_sessions, double ttl_seconds, size_t shards,
                                       std::function<double()> now)
    : ttl_(ttl_seconds), now_(std::move(now)) {
  GRU4REC_CHECK(max_sessions > 0 && shards > 0 && ttl_seconds > 0);
  // Small bounds get few shards: the bound is kept per shard, and uneven shards of a few
  // sessions each would hold far fewer than max_sessions.
  shards = std::clamp<size_t>(max_sessions / 1024, 1, shards);
  // The bound is kept per shard: ids spread evenly, so the total stays within max_sessions.
  max_per_shard_ = max_sessions / shards;
  for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
  if (!now_) {
    now_ = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

MemorySessionStore::Shard& MemorySessionStore::shard_of(std::string_view id) {
  // The high bits pick the shard: the shard's hash table indexes its buckets with the low
  // bits, which would all be alike within a shard if they had picked it.
  const uint64_t hash = shard_hash_(id);
  return *shards_[(hash >> 40) % shards_.size()];
}

void MemorySessionStore::expire_locked(Shard& shard, double now) {
  while (!shard.lru.empty() && now - shard.lru.back().last_used > ttl_) {
    shard.index.erase(std::string_view(shard.lru.back().id));
    shard.lru.pop_back();
  }
}

void MemorySessionStore::update(std::string_view id,
                                const std::function<void(SessionState&, bool created)>& fn) {
  Shard& shard = shard_of(id);
  const double now = now_();
  std::lock_guard lock(shard.mutex);
  expire_locked(shard, now);
  auto found = shard.index.find(id);
  bool created = false;
  if (found == shard.index.end()) {
    if (shard.lru.size() >= max_per_shard_) {
      shard.index.erase(std::string_view(shard.lru.back().id));
      shard.lru.pop_back();
      ++shard.evictions;
    }
    shard.lru.push_front(Entry{std::string(id), SessionState{}, now});
    shard.index.emplace(std::string(id), shard.lru.begin());
    created = true;
  } else {
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
    shard.lru.front().last_used = now;
  }
  fn(shard.lru.front().session, created);
}

bool MemorySessionStore::get(std::string_view id, SessionState& out) {
  Shard& shard = shard_of(id);
  const double now = now_();
  std::lock_guard lock(shard.mutex);
  expire_locked(shard, now);
  const auto found = shard.index.find(id);
  if (found == shard.index.end()) return false;
  shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
  shard.lru.front().last_used = now;
  out = shard.lru.front().session;
  return true;
}

bool MemorySessionStore::erase(std::string_view id) {
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(id);
  if (found == shard.index.end()) return false;
  shard.lru.erase(found->second);
  shard.index.erase(found);
  return true;
}

size_t MemorySessionStore::expire() {
  const double now = now_();
  size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    const size_t before = shard->lru.size();
    expire_locked(*shard, now);
    removed += before - shard->lru.size();
  }
  return removed;
}

size_t MemorySessionStore::size() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->lru.size();
  }
  return total;
}

uint64_t MemorySessionStore::evictions() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->evictions;
  }
  return total;
}

}  // namespace gru4rec
