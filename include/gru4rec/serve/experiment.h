// A/B tests of models on live traffic: the variants a server serves, which variant a session
// gets, what the server measures per variant, and the statistics of the comparison.
//
// Assignment: a session's variant is a pure function of the experiment's name, the session id
// and the variants' weights (a keyed hash of the id mapped onto the cumulative weights), so it
// is the same on every request, replica and restart as long as the variants are.
//
// Online measure of a variant: for every event of a session after its first known one, whether
// the event's item was in the top-k that the server answered at the session's previous event,
// and at which rank (k = that request's k, capped at 20): online HitRate@k and MRR@k, the live
// counterpart of the offline Recall@k and MRR@k. Events whose item the variant's model does
// not know are counted apart (the offline evaluation drops them). All counts are integers (the
// reciprocal ranks are derived from hits per rank), so counts of several replicas add exactly.
//
// The confidence intervals treat events as independent; events of one session are not, so
// with long sessions the intervals are somewhat too narrow.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/serve/redis_client.h"

namespace gru4rec {

// --variant NAME=SOURCE[:WEIGHT]
struct VariantSpec {
  std::string name;
  std::string source;  // a model file, or ALGO[,key=value...]@TRAIN_FILE for a baseline
  double weight = 1;
};

// Parses "NAME=SOURCE[:WEIGHT]" (NAME: letters, digits, '-', '_', '.'; WEIGHT > 0, default 1).
// Throws Error saying what is wrong and what is expected.
VariantSpec parse_variant(std::string_view text);

struct BaselineSource {
  std::string algorithm, params, train_path;
};
// The baseline a source names ("vsknn@train.tsv", "itemknn,n_sims=200,alpha=0.5@train.tsv"),
// or nullopt when it names a model file (no '@' after a baseline's name).
std::optional<BaselineSource> parse_baseline_source(std::string_view source);

// The variant of a session id: chosen with probability weight / total weight, by a keyed hash
// of the id (the key derived from the experiment's name). The key and the cumulative weights
// are derived once; immutable and thread-safe.
class VariantAssignment {
 public:
  VariantAssignment(std::string_view experiment, const std::vector<double>& weights);
  size_t operator()(std::string_view id) const;

 private:
  uint64_t seed_;
  std::vector<double> cumulative_;  // cumulative_.back(): the total weight
};

// VariantAssignment(experiment, weights)(id), for one id.
size_t assign_variant(std::string_view experiment, std::string_view id,
                      const std::vector<double>& weights);

// Upper bounds of the latency buckets, in seconds (Prometheus "le" labels); one more bucket
// holds the rest.
inline constexpr std::array<double, 12> kLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0};

// What was measured for one variant.
struct VariantCounts {
  static constexpr size_t kMaxRank = 20;
  // No real count comes near it (2^53: where doubles stop counting every integer).
  static constexpr uint64_t kMaxCount = uint64_t{1} << 53;
  static constexpr size_t kLatencyBuckets = kLatencyBounds.size() + 1;
  enum Field : size_t {
    kEvents,         // events received, known items or not
    kUnknownItems,   // events whose item the variant's model does not know
    kMeasured,       // events measured against the session's previous answer
    kSessions,       // sessions started
    kDegraded,       // answers from the request alone (session store unreachable)
    kLatencyMicros,  // time answering event requests, in microseconds
    kHit1,           // kHit1 + r - 1: measured events whose item was at rank r (1..kMaxRank)
    kLatency0 = kHit1 + kMaxRank,  // event requests answered within each latency bucket
    kFieldCount = kLatency0 + kLatencyBuckets,
  };
  std::array<uint64_t, kFieldCount> values{};

  uint64_t& operator[](size_t field) { return values[field]; }
  uint64_t operator[](size_t field) const { return values[field]; }
  uint64_t hits() const;               // at any rank
  uint64_t requests() const;           // event requests answered (the latency buckets' sum)
  double reciprocal_rank_sum() const;  // sum over measured events of 1 / rank (0: a miss)
  double reciprocal_rank_square_sum() const;
  // The upper bound of the bucket holding quantile q of the latencies (infinity: beyond the
  // last bound; 0 without requests).
  double latency_quantile(double q) const;
  void add_latency(double seconds);

  // The field's name in the shared store and in /v1/experiments.
  static const std::string& field_name(size_t field);
};

// What is wrong with counts that gru4rec cannot have counted ("" when nothing): a count beyond
// kMaxCount, or a part above its whole (hits above measured events, measured events above
// requests or events, unknown items or sessions above events, degraded answers above requests).
// Every replica adds its counts in one transaction, so the totals hold these at any time.
std::string consistency_problem(const VariantCounts& counts);

// The counts of one variant from the reply to HGETALL of its hash (nil or empty: none yet).
// Fields of other versions are ignored; a value that is not a decimal count, or counts with a
// consistency_problem(), throw Error saying what (the hash was written by someone else).
VariantCounts counts_from_redis_hash(const RedisReply& reply);

struct Estimate {
  double value = 0, low = 0, high = 0;  // a 95% confidence interval
};
struct Difference {
  double value = 0, low = 0, high = 0;  // b - a, with a 95% confidence interval
  double p_value = 1;                   // two-sided, of "no difference"
};

// HitRate (Wilson score interval) and MRR (normal interval from the sample variance).
Estimate hit_rate(const VariantCounts& c);
Estimate mean_reciprocal_rank(const VariantCounts& c);
// b - a, by a two-sample z-test with unequal variances.
Difference hit_rate_difference(const VariantCounts& a, const VariantCounts& b);
Difference mrr_difference(const VariantCounts& a, const VariantCounts& b);

// The counts of every variant of one experiment: this process's, and when a Redis address is
// given, every replica's (each adds its counts to a hash per variant in Redis,
// "gru4rec:experiment:NAME:VARIANT", in batches: flush()).
//
// Thread-safe: add() takes a shared lock (requests add at once), flush() takes the unsent counts
// under the unique one, so that each flush holds whole requests; flush() and totals() also take
// a lock for the Redis connection.
class ExperimentCounters {
 public:
  ExperimentCounters(std::string experiment, std::vector<std::string> variants,
                     std::optional<RedisAddress> shared, double timeout_seconds);

  const std::string& experiment() const { return experiment_; }
  bool shared() const { return redis_ != nullptr; }
  void add(size_t variant, const VariantCounts& delta);
  // This process's counts since it started.
  VariantCounts local(size_t variant) const;
  // Sends the counts not sent yet to Redis; false when Redis cannot be reached (they are kept
  // for the next flush). Without Redis: true.
  bool flush();
  // The experiment's counts of every variant: with Redis, every replica's (after a flush);
  // nullopt when Redis cannot be reached; Error when what Redis holds is not counts of ours
  // (see counts_from_redis_hash). Without Redis: local().
  std::optional<std::vector<VariantCounts>> totals();

 private:
  struct Counters {
    std::array<std::atomic<uint64_t>, VariantCounts::kFieldCount> total{}, unsent{};
  };
  std::string experiment_;
  std::vector<std::string> variants_;
  std::vector<std::unique_ptr<Counters>> counters_;
  std::mutex redis_mutex_;
  std::shared_mutex unsent_mutex_;  // add() shared, flush()'s taking of the unsent counts unique
  std::unique_ptr<RedisClient> redis_;
};

}  // namespace gru4rec
