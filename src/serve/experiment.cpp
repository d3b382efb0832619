#include "gru4rec/serve/experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/keyed_hash.h"

namespace gru4rec {
namespace {

constexpr double kZ95 = 1.959963984540054;  // the 97.5% quantile of the standard normal
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Mean and sample variance of a measure over n events from its sum and sum of squares.
struct Moments {
  double n = 0, mean = 0, variance = 0;
};
Moments moments(double n, double sum, double square_sum) {
  Moments m;
  m.n = n;
  if (n <= 0) return m;
  m.mean = sum / n;
  m.variance = n > 1 ? std::max(0.0, (square_sum - n * m.mean * m.mean) / (n - 1)) : 0.0;
  return m;
}

Difference difference(const Moments& a, const Moments& b) {
  Difference d;
  if (a.n == 0 || b.n == 0) return Difference{kNaN, kNaN, kNaN, kNaN};
  d.value = b.mean - a.mean;
  const double se = std::sqrt(a.variance / a.n + b.variance / b.n);
  d.low = d.value - kZ95 * se;
  d.high = d.value + kZ95 * se;
  if (se > 0) {
    d.p_value = std::erfc(std::abs(d.value / se) / std::sqrt(2.0));
  } else {
    d.p_value = d.value == 0 ? 1.0 : 0.0;
  }
  return d;
}

// A proportion's variance is p (1 - p) (the unpooled two-proportion z-test).
Moments hit_moments(const VariantCounts& c) {
  Moments m;
  m.n = static_cast<double>(c[VariantCounts::kMeasured]);
  if (m.n == 0) return m;
  m.mean = static_cast<double>(c.hits()) / m.n;
  m.variance = m.mean * (1 - m.mean);
  return m;
}

Moments rr_moments(const VariantCounts& c) {
  return moments(static_cast<double>(c[VariantCounts::kMeasured]), c.reciprocal_rank_sum(),
                 c.reciprocal_rank_square_sum());
}

std::string counters_key(const std::string& experiment, const std::string& variant) {
  return fmt::format("gru4rec:experiment:{}:{}", experiment, variant);
}

}  // namespace

VariantSpec parse_variant(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Error(
        fmt::format("--variant '{}': {}; expected NAME=MODEL[:WEIGHT] or "
                    "NAME=ALGO[,key=value...]@TRAIN_FILE[:WEIGHT]",
                    text, why));
  };
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) throw bad("no '='");
  VariantSpec spec;
  spec.name = std::string(text.substr(0, eq));
  if (!valid_name(spec.name))
    throw bad("the name must be 1 to 64 letters, digits, '-', '_' or '.'");
  std::string_view source = text.substr(eq + 1);
  // A weight is what follows the last ':' when it reads as a number (paths may hold ':').
  const size_t colon = source.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view weight = source.substr(colon + 1);
    double value = 0;
    const auto [end, error] = std::from_chars(weight.data(), weight.data() + weight.size(), value);
    if (error == std::errc() && end == weight.data() + weight.size()) {
      if (!(value > 0) || !std::isfinite(value)) throw bad("the weight must be a number above 0");
      spec.weight = value;
      source = source.substr(0, colon);
    }
  }
  if (source.empty()) throw bad("no model");
  spec.source = std::string(source);
  return spec;
}

std::optional<BaselineSource> parse_baseline_source(std::string_view source) {
  const size_t at = source.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view head = source.substr(0, at);
  const size_t comma = head.find(',');
  const std::string algorithm(head.substr(0, comma));
  bool known = false;
  for (const std::string& name : baseline_names()) known = known || name == algorithm;
  if (!known) return std::nullopt;  // a model file whose name holds '@'
  BaselineSource b;
  b.algorithm = algorithm;
  if (comma != std::string_view::npos) b.params = std::string(head.substr(comma + 1));
  b.train_path = std::string(source.substr(at + 1));
  if (b.train_path.empty())
    throw Error(fmt::format("variant source '{}': no training file after '@'", source));
  return b;
}

VariantAssignment::VariantAssignment(std::string_view experiment,
                                     const std::vector<double>& weights)
    // Fixed keys: the assignment must be the same in every process, now and after restarts.
    : seed_(siphash24(SipKey{0x6772753472656331ull, 0x6578706572696d74ull}, experiment)) {
  GRU4REC_CHECK(!weights.empty());
  double cumulative = 0;
  for (double w : weights) cumulative_.push_back(cumulative += w);
}

size_t VariantAssignment::operator()(std::string_view id) const {
  const uint64_t h = siphash24(SipKey{seed_, 0x76617269616e7473ull}, id);
  // Uniform in [0, total).
  const double u = static_cast<double>(h >> 11) * 0x1p-53 * cumulative_.back();
  for (size_t v = 0; v < cumulative_.size(); ++v) {
    if (u < cumulative_[v]) return v;
  }
  return cumulative_.size() - 1;  // rounding at the top end
}

size_t assign_variant(std::string_view experiment, std::string_view id,
                      const std::vector<double>& weights) {
  return VariantAssignment(experiment, weights)(id);
}

uint64_t VariantCounts::hits() const {
  uint64_t sum = 0;
  for (size_t r = 0; r < kMaxRank; ++r) sum += values[kHit1 + r];
  return sum;
}

uint64_t VariantCounts::requests() const {
  uint64_t sum = 0;
  for (size_t b = 0; b < kLatencyBuckets; ++b) sum += values[kLatency0 + b];
  return sum;
}

double VariantCounts::reciprocal_rank_sum() const {
  double sum = 0;
  for (size_t r = 0; r < kMaxRank; ++r)
    sum += static_cast<double>(values[kHit1 + r]) / static_cast<double>(r + 1);
  return sum;
}

double VariantCounts::reciprocal_rank_square_sum() const {
  double sum = 0;
  for (size_t r = 0; r < kMaxRank; ++r) {
    const auto rank = static_cast<double>(r + 1);
    sum += static_cast<double>(values[kHit1 + r]) / (rank * rank);
  }
  return sum;
}

double VariantCounts::latency_quantile(double q) const {
  const uint64_t n = requests();
  if (n == 0) return 0;
  const auto target = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBounds.size(); ++b) {
    cumulative += values[kLatency0 + b];
    if (cumulative >= std::max<uint64_t>(target, 1)) return kLatencyBounds[b];
  }
  return std::numeric_limits<double>::infinity();
}

void VariantCounts::add_latency(double seconds) {
  size_t bucket = 0;
  while (bucket < kLatencyBounds.size() && seconds > kLatencyBounds[bucket]) ++bucket;
  values[kLatency0 + bucket]++;
  values[kLatencyMicros] += static_cast<uint64_t>(std::max(0.0, seconds) * 1e6);
}

namespace {
std::string make_field_name(size_t field) {
  using C = VariantCounts;
  switch (field) {
    case C::kEvents: return "events";
    case C::kUnknownItems: return "unknown_items";
    case C::kMeasured: return "measured";
    case C::kSessions: return "sessions";
    case C::kDegraded: return "degraded";
    case C::kLatencyMicros: return "latency_us";
    default: break;
  }
  if (field < C::kLatency0) return fmt::format("hit_{}", field - C::kHit1 + 1);
  return fmt::format("latency_bucket_{}", field - C::kLatency0);
}

// Every field's name, made once; and the field of a name.
const std::array<std::string, VariantCounts::kFieldCount>& field_names() {
  static const auto names = [] {
    std::array<std::string, VariantCounts::kFieldCount> out;
    for (size_t f = 0; f < out.size(); ++f) out[f] = make_field_name(f);
    return out;
  }();
  return names;
}
std::optional<size_t> field_of(std::string_view name) {
  const auto& names = field_names();
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) return std::nullopt;
  return static_cast<size_t>(found - names.begin());
}
}  // namespace

const std::string& VariantCounts::field_name(size_t field) {
  return field_names()[field];
}

Estimate hit_rate(const VariantCounts& c) {
  const auto n = static_cast<double>(c[VariantCounts::kMeasured]);
  if (n == 0) return Estimate{0, 0, 1};
  const double p = static_cast<double>(c.hits()) / n;
  const double z2 = kZ95 * kZ95;
  const double denominator = 1 + z2 / n;
  const double center = (p + z2 / (2 * n)) / denominator;
  const double half = kZ95 * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator;
  return Estimate{p, std::max(0.0, center - half), std::min(1.0, center + half)};
}

Estimate mean_reciprocal_rank(const VariantCounts& c) {
  const Moments m = rr_moments(c);
  if (m.n == 0) return Estimate{0, 0, 1};
  const double half = kZ95 * std::sqrt(m.variance / m.n);
  return Estimate{m.mean, std::max(0.0, m.mean - half), std::min(1.0, m.mean + half)};
}

Difference hit_rate_difference(const VariantCounts& a, const VariantCounts& b) {
  return difference(hit_moments(a), hit_moments(b));
}

Difference mrr_difference(const VariantCounts& a, const VariantCounts& b) {
  return difference(rr_moments(a), rr_moments(b));
}

ExperimentCounters::ExperimentCounters(std::string experiment, std::vector<std::string> variants,
                                       std::optional<RedisAddress> shared, double timeout_seconds)
    : experiment_(std::move(experiment)), variants_(std::move(variants)) {
  if (!valid_name(experiment_)) {
    throw Error(fmt::format("--experiment '{}': expected 1 to 64 letters, digits, '-', '_' or '.'",
                            experiment_));
  }
  for (size_t v = 0; v < variants_.size(); ++v) counters_.push_back(std::make_unique<Counters>());
  if (shared) redis_ = std::make_unique<RedisClient>(*shared, timeout_seconds);
}

void ExperimentCounters::add(size_t variant, const VariantCounts& delta) {
  Counters& c = *counters_[variant];
  // Shared: requests add at once; flush() takes the unsent counts between whole requests.
  std::shared_lock snapshot(unsent_mutex_);
  for (size_t f = 0; f < VariantCounts::kFieldCount; ++f) {
    if (delta[f] == 0) continue;
    c.total[f].fetch_add(delta[f], std::memory_order_relaxed);
    if (redis_) c.unsent[f].fetch_add(delta[f], std::memory_order_relaxed);
  }
}

VariantCounts ExperimentCounters::local(size_t variant) const {
  VariantCounts out;
  for (size_t f = 0; f < VariantCounts::kFieldCount; ++f)
    out[f] = counters_[variant]->total[f].load(std::memory_order_relaxed);
  return out;
}

bool ExperimentCounters::flush() {
  if (!redis_) return true;
  std::lock_guard lock(redis_mutex_);
  std::vector<std::vector<std::string>> commands;
  std::vector<std::pair<size_t, size_t>> sent;  // (variant, field) of each command
  std::vector<uint64_t> amounts;
  {
    // The counts of whole requests only: no add() is halfway through its fields meanwhile, so
    // the flush keeps hits with their measured events, requests with their events, and so on.
    std::unique_lock snapshot(unsent_mutex_);
    for (size_t v = 0; v < variants_.size(); ++v) {
      const std::string key = counters_key(experiment_, variants_[v]);
      for (size_t f = 0; f < VariantCounts::kFieldCount; ++f) {
        const uint64_t amount = counters_[v]->unsent[f].exchange(0, std::memory_order_relaxed);
        if (amount == 0) continue;
        commands.push_back({"HINCRBY", key, VariantCounts::field_name(f), std::to_string(amount)});
        sent.emplace_back(v, f);
        amounts.push_back(amount);
      }
    }
  }
  if (commands.empty()) return true;
  // In one transaction: a reader never sees a request's hits without its measured event, so
  // the totals of every replica stay consistent (see consistency_problem()).
  commands.insert(commands.begin(), std::vector<std::string>{"MULTI"});
  commands.push_back(std::vector<std::string>{"EXEC"});
  if (const auto replies = redis_->pipeline(commands);
      replies && replies->back().kind == RedisReply::Kind::kArray)
    return true;
  // Not sent (or not known to be): kept for the next flush.
  for (size_t i = 0; i < sent.size(); ++i)
    counters_[sent[i].first]->unsent[sent[i].second].fetch_add(amounts[i]);
  return false;
}

std::optional<std::vector<VariantCounts>> ExperimentCounters::totals() {
  std::vector<VariantCounts> out(variants_.size());
  if (!redis_) {
    for (size_t v = 0; v < variants_.size(); ++v) out[v] = local(v);
    return out;
  }
  if (!flush()) return std::nullopt;
  std::vector<std::vector<std::string>> commands;
  for (const std::string& variant : variants_)
    commands.push_back({"HGETALL", counters_key(experiment_, variant)});
  std::optional<std::vector<RedisReply>> replies;
  {
    std::lock_guard lock(redis_mutex_);
    replies = redis_->pipeline(commands);
  }
  if (!replies) return std::nullopt;
  for (size_t v = 0; v < variants_.size(); ++v) {
    try {
      out[v] = counts_from_redis_hash((*replies)[v]);
    } catch (const Error& e) {
      throw Error(fmt::format("the shared counters of variant '{}' ({}) {}", variants_[v],
                              counters_key(experiment_, variants_[v]), e.what()));
    }
  }
  return out;
}

std::string consistency_problem(const VariantCounts& c) {
  using C = VariantCounts;
  for (size_t f = 0; f < C::kFieldCount; ++f) {
    if (c[f] > C::kMaxCount)
      return fmt::format("{} is {}, beyond any real count", C::field_name(f), c[f]);
  }
  const auto above = [&](uint64_t part, std::string_view part_name, uint64_t whole,
                         std::string_view whole_name) {
    return part > whole ? fmt::format("{} ({}) exceeds {} ({})", part_name, part, whole_name, whole)
                        : std::string();
  };
  for (const std::string& problem :
       {above(c[C::kUnknownItems], "unknown_items", c[C::kEvents], "events"),
        above(c[C::kSessions], "sessions", c[C::kEvents], "events"),
        above(c[C::kMeasured], "measured", c[C::kEvents], "events"),
        above(c.hits(), "hits", c[C::kMeasured], "measured"),
        above(c[C::kMeasured], "measured", c.requests(), "requests"),
        above(c[C::kDegraded], "degraded", c.requests(), "requests"),
        above(c.requests(), "requests", c[C::kEvents], "events")}) {
    if (!problem.empty()) return problem;
  }
  return "";
}

VariantCounts counts_from_redis_hash(const RedisReply& reply) {
  VariantCounts out;
  if (reply.kind == RedisReply::Kind::kNil) return out;  // nothing counted yet
  if (reply.kind != RedisReply::Kind::kArray || reply.elements.size() % 2 != 0)
    throw Error("are not a hash of counts");
  for (size_t i = 0; i < reply.elements.size(); i += 2) {
    const RedisReply& name = reply.elements[i];
    const RedisReply& value = reply.elements[i + 1];
    if (name.kind != RedisReply::Kind::kString) throw Error("are not a hash of counts");
    const std::optional<size_t> field = field_of(name.text);
    if (!field) continue;  // a field of another version
    const std::string& text = value.text;
    uint64_t number = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (value.kind != RedisReply::Kind::kString || text.empty() || error != std::errc() ||
        end != text.data() + text.size()) {
      throw Error(fmt::format("hold '{}' for {}, not a count", text.substr(0, 32), name.text));
    }
    out[*field] = number;
  }
  if (const std::string problem = consistency_problem(out); !problem.empty())
    throw Error(
        fmt::format("are inconsistent: {}; they were not counted by gru4rec (delete the "
                    "key to start the counts again)",
                    problem));
  return out;
}

}  // namespace gru4rec
