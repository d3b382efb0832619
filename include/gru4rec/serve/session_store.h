// Where the server keeps live sessions: each session's hidden state and the items it has seen.
// SessionStore is the interface (a shared store such as Redis can implement it for several
// server processes); MemorySessionStore keeps them in this process.
#pragma once

#include <tsl/robin_map.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/core/keyed_hash.h"
#include "gru4rec/core/string_hash.h"

namespace gru4rec {

struct SessionState {
  std::vector<float> state;    // the GRU state (Predictor::state_size() floats)
  std::vector<int32_t> seen;   // the session's items (registry indices, see Recommender),
                               // oldest first, at most kMaxSeen
  uint64_t model_version = 0;  // the model that computed `state`
  uint64_t events = 0;         // known events applied since the session began
  // The top-k (at most kMaxAnswer, registry indices) answered after `answer_events` events: the
  // list the session's next event is measured against (online HitRate and MRR).
  std::vector<int32_t> answer;
  uint64_t answer_events = 0;

  static constexpr size_t kMaxAnswer = 20;

  static constexpr size_t kMaxSeen = 200;
};

// Thrown by a shared store that cannot be reached (down, slow, or backing off after such a
// failure): the server then answers from the request alone, marked degraded.
struct SessionStoreUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Runs fn(session, created) on the session `id`, creating an empty one when it does not
  // exist; fn runs under the session's lock and must not call back into the store. A new
  // session may evict the least recently used one.
  virtual void update(std::string_view id,
                      const std::function<void(SessionState&, bool created)>& fn) = 0;
  // Copies the session into `out`; false when it does not exist (or has expired).
  virtual bool get(std::string_view id, SessionState& out) = 0;
  virtual bool erase(std::string_view id) = 0;
  // Keeps the top-k answered to the session after `events` events (state.answer and
  // answer_events), when the session exists; apart from update() so that no lock or
  // transaction is held while the answer is scored.
  virtual void save_answer(std::string_view id, uint64_t events,
                           std::span<const int32_t> answer) = 0;
  // Removes the sessions idle for longer than the time-to-live; returns how many.
  virtual size_t expire() = 0;
  virtual size_t size() const = 0;
  // For /metrics; 0 where a store does not count them.
  virtual uint64_t evictions() const { return 0; }
  virtual uint64_t created() const { return 0; }
  virtual size_t bytes() const { return 0; }
};

// Sessions in memory, in shards with a lock each; thread-safe. At most max_sessions live
// sessions and at most max_bytes of estimated memory (states, seen items, ids, list nodes and
// index slots; 0: no byte bound). Eviction is a segmented LRU: a new session is on probation
// until it is used a second time, and sessions on probation are evicted first (least
// recently used first), so a flood of one-request session ids (random ids from a crawler or
// an attacker) churns the probation segment and leaves the sessions that came back alone.
// The protected segment holds at most 80% of the bound; its least recently used session goes
// back on probation when it is full. Sessions idle for more than ttl_seconds are gone (on
// access, and by expire()). `now` gives the time in seconds (steady clock by default).
class MemorySessionStore : public SessionStore {
 public:
  MemorySessionStore(size_t max_sessions, double ttl_seconds, size_t shards = 64,
                     std::function<double()> now = {}, size_t max_bytes = 0);

  void update(std::string_view id,
              const std::function<void(SessionState&, bool created)>& fn) override;
  bool get(std::string_view id, SessionState& out) override;
  bool erase(std::string_view id) override;
  void save_answer(std::string_view id, uint64_t events, std::span<const int32_t> answer) override;
  size_t expire() override;
  size_t size() const override;
  // Sessions evicted to respect max_sessions or max_bytes since construction.
  uint64_t evictions() const override;
  // Sessions created since construction.
  uint64_t created() const override;
  // The memory of the sessions held now, in bytes: the heap blocks (as glibc's malloc sizes
  // them) of every session and of the shards' index tables.
  size_t bytes() const override;
  // The heap blocks of one session (bytes() adds these up, and the index tables).
  static size_t bytes_of(std::string_view id, const SessionState& session);

 private:
  struct Entry {
    std::string id;
    SessionState session;
    double last_used = 0;
    bool is_protected = false;  // used more than once (see the class comment)
  };
  struct Shard {
    mutable std::mutex mutex;
    // Most recently used first; entries move between the two by splicing (iterators stay).
    std::list<Entry> probation, protected_;
    // Keyed by a secret per store: clients cannot craft ids that collide in the table. The
    // keys view the ids held by the entries (list nodes do not move): each id is stored once.
    tsl::robin_map<std::string_view, std::list<Entry>::iterator, KeyedStringHash, StringViewEqual>
        index;
    uint64_t evictions = 0, created = 0;
    size_t bytes = 0;        // bytes_of() of every entry, and index_bytes
    size_t index_bytes = 0;  // the heap block of the index's table
  };

  Shard& shard_of(std::string_view id);
  // The caller holds the shard's lock for all of these.
  // Drops the shard's expired entries from the least recently used ends.
  void expire_locked(Shard& shard, double now);
  // Drops the entry the eviction policy picks, probation's oldest, else protected's, other than
  // `keep`; false when there is none.
  bool evict_one(Shard& shard, const Entry* keep = nullptr);
  void remove(Shard& shard, std::list<Entry>::iterator entry);
  // Counts the index table's block anew in shard.bytes (after an insert or an erase).
  static void account_index(Shard& shard);
  // Marks a use of `entry`: to the front of the protected segment (promoted from probation).
  void touch(Shard& shard, std::list<Entry>::iterator entry, double now);
  // The sum of count(shard) over the shards, each read under its lock.
  template <typename Count>
  uint64_t sum_over_shards(Count count) const;
  static size_t live(const Shard& shard) {
    return shard.probation.size() + shard.protected_.size();
  }

  KeyedStringHash shard_hash_;  // its own secret, independent of the tables'
  size_t max_per_shard_;
  size_t max_protected_per_shard_;
  size_t max_bytes_per_shard_;  // SIZE_MAX: no byte bound
  double ttl_;
  std::function<double()> now_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace gru4rec
