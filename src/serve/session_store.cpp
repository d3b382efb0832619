#include "gru4rec/serve/session_store.h"

#include <algorithm>
#include <chrono>

#include "gru4rec/core/error.h"

namespace gru4rec {

MemorySessionStore::MemorySessionStore(size_t max_sessions, double ttl_seconds, size_t shards,
                                       std::function<double()> now, size_t max_bytes)
    : ttl_(ttl_seconds), now_(std::move(now)) {
  GRU4REC_CHECK(max_sessions > 0 && shards > 0 && ttl_seconds > 0);
  // Small bounds get few shards: the bound is kept per shard, and uneven shards of a few
  // sessions each would hold far fewer than max_sessions.
  shards = std::clamp<size_t>(max_sessions / 1024, 1, shards);
  // The bound is kept per shard: ids spread evenly, so the total stays within max_sessions.
  max_per_shard_ = max_sessions / shards;
  max_protected_per_shard_ = std::max<size_t>(max_per_shard_ * 4 / 5, 1);
  max_bytes_per_shard_ = max_bytes == 0 ? SIZE_MAX : std::max<size_t>(max_bytes / shards, 1);
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

namespace {

// What glibc's malloc takes for a block of n bytes: an 8-byte header, rounded up to 16, at
// least 32 (nothing for n = 0: an empty vector holds no block).
size_t heap_block(size_t n) {
  return n == 0 ? 0 : std::max<size_t>(32, (n + 8 + 15) / 16 * 16);
}

}  // namespace

size_t MemorySessionStore::bytes_of(std::string_view id, const SessionState& session) {
  // The heap blocks of a list node (Entry and two links), of the id when it does not fit in the
  // string itself, and of the vectors. The index's table is counted by the shard, as it is.
  static const size_t kInline = std::string().capacity();  // short ids live in the string
  return heap_block(sizeof(Entry) + 2 * sizeof(void*)) +
         heap_block(id.size() > kInline ? id.size() + 1 : 0) +
         heap_block(session.state.capacity() * sizeof(float)) +
         heap_block(session.seen.capacity() * sizeof(int32_t)) +
         heap_block(session.answer.capacity() * sizeof(int32_t));
}

void MemorySessionStore::account_index(Shard& shard) {
  // A bucket: the key and iterator, and the table's distance and flag (aligned).
  constexpr size_t kBucket = sizeof(std::string_view) + sizeof(void*) + sizeof(uint64_t);
  const size_t now = heap_block(shard.index.bucket_count() * kBucket);
  shard.bytes = shard.bytes - shard.index_bytes + now;
  shard.index_bytes = now;
}

void MemorySessionStore::remove(Shard& shard, std::list<Entry>::iterator entry) {
  shard.bytes -= bytes_of(entry->id, entry->session);
  shard.index.erase(std::string_view(entry->id));
  (entry->is_protected ? shard.protected_ : shard.probation).erase(entry);
  account_index(shard);
}

bool MemorySessionStore::evict_one(Shard& shard, const Entry* keep) {
  for (std::list<Entry>* segment : {&shard.probation, &shard.protected_}) {
    if (!segment->empty() && &segment->back() != keep) {
      remove(shard, std::prev(segment->end()));
      ++shard.evictions;
      return true;
    }
  }
  return false;
}

void MemorySessionStore::expire_locked(Shard& shard, double now) {
  for (std::list<Entry>* segment : {&shard.probation, &shard.protected_}) {
    while (!segment->empty() && now - segment->back().last_used > ttl_)
      remove(shard, std::prev(segment->end()));
  }
}

void MemorySessionStore::touch(Shard& shard, std::list<Entry>::iterator entry, double now) {
  entry->last_used = now;
  if (entry->is_protected) {
    shard.protected_.splice(shard.protected_.begin(), shard.protected_, entry);
    return;
  }
  entry->is_protected = true;
  shard.protected_.splice(shard.protected_.begin(), shard.probation, entry);
  if (shard.protected_.size() > max_protected_per_shard_) {
    // The protected segment's least recently used goes back on probation, at its front: it
    // is evicted after the one-request sessions already there. (Probation is then not in
    // last-use order everywhere; an expired session in its middle is dropped when accessed,
    // evicted, or reached by expire() later.)
    const auto demoted = std::prev(shard.protected_.end());
    demoted->is_protected = false;
    shard.probation.splice(shard.probation.begin(), shard.protected_, demoted);
  }
}

void MemorySessionStore::update(std::string_view id,
                                const std::function<void(SessionState&, bool created)>& fn) {
  Shard& shard = shard_of(id);
  const double now = now_();
  std::lock_guard lock(shard.mutex);
  expire_locked(shard, now);
  auto found = shard.index.find(id);
  // Expired, but not at a segment's end yet (demotions can reorder probation): gone.
  if (found != shard.index.end() && now - found->second->last_used > ttl_) {
    remove(shard, found->second);
    found = shard.index.end();
  }
  bool created = false;
  std::list<Entry>::iterator entry;
  if (found == shard.index.end()) {
    if (live(shard) >= max_per_shard_) evict_one(shard);
    shard.probation.push_front(Entry{std::string(id), SessionState{}, now});
    entry = shard.probation.begin();
    shard.index.emplace(std::string_view(entry->id), entry);
    shard.bytes += bytes_of(id, entry->session);
    account_index(shard);
    ++shard.created;
    created = true;
  } else {
    entry = found->second;
    touch(shard, entry, now);
  }
  const size_t before = bytes_of(entry->id, entry->session);
  fn(entry->session, created);
  shard.bytes = shard.bytes - before + bytes_of(entry->id, entry->session);
  // Over the byte bound: evicted by the same policy, never the session just updated.
  while (shard.bytes > max_bytes_per_shard_ && evict_one(shard, &*entry)) {
  }
}

bool MemorySessionStore::get(std::string_view id, SessionState& out) {
  Shard& shard = shard_of(id);
  const double now = now_();
  std::lock_guard lock(shard.mutex);
  expire_locked(shard, now);
  const auto found = shard.index.find(id);
  if (found == shard.index.end()) return false;
  const auto entry = found->second;
  if (now - entry->last_used > ttl_) {
    remove(shard, entry);
    return false;
  }
  touch(shard, entry, now);
  out = entry->session;
  return true;
}

bool MemorySessionStore::erase(std::string_view id) {
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(id);
  if (found == shard.index.end()) return false;
  remove(shard, found->second);
  return true;
}

void MemorySessionStore::save_answer(std::string_view id, uint64_t events,
                                     std::span<const int32_t> answer) {
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(id);
  if (found == shard.index.end()) return;  // evicted or deleted meanwhile
  Entry& entry = *found->second;
  const size_t before = bytes_of(entry.id, entry.session);
  entry.session.answer.assign(answer.begin(), answer.end());  // reuses the vector's block
  entry.session.answer_events = events;
  shard.bytes = shard.bytes - before + bytes_of(entry.id, entry.session);
}

size_t MemorySessionStore::expire() {
  const double now = now_();
  size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    const size_t before = live(*shard);
    expire_locked(*shard, now);
    removed += before - live(*shard);
  }
  return removed;
}

template <typename Count>
uint64_t MemorySessionStore::sum_over_shards(Count count) const {
  uint64_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += count(*shard);
  }
  return total;
}

size_t MemorySessionStore::size() const {
  return sum_over_shards([](const Shard& shard) { return live(shard); });
}

size_t MemorySessionStore::bytes() const {
  return sum_over_shards([](const Shard& shard) { return shard.bytes; });
}

uint64_t MemorySessionStore::created() const {
  return sum_over_shards([](const Shard& shard) { return shard.created; });
}

uint64_t MemorySessionStore::evictions() const {
  return sum_over_shards([](const Shard& shard) { return shard.evictions; });
}

}  // namespace gru4rec
