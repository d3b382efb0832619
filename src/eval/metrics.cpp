#include "gru4rec/eval/metrics.h"

#include <cmath>

#include "gru4rec/core/error.h"

namespace gru4rec {

std::string_view tie_mode_name(TieMode mode) {
  switch (mode) {
    case TieMode::kStandard: return "standard";
    case TieMode::kConservative: return "conservative";
    case TieMode::kMedian: return "median";
  }
  return "?";
}

TieMode parse_tie_mode(std::string_view name) {
  if (name == "standard") return TieMode::kStandard;
  if (name == "conservative") return TieMode::kConservative;
  if (name == "median") return TieMode::kMedian;
  throw Error(
      fmt::format("unknown evaluation mode '{}'; expected standard, conservative or "
                  "median",
                  name));
}

double rank_from_counts(int64_t greater, int64_t equal, TieMode mode) {
  switch (mode) {
    case TieMode::kStandard: return 1.0 + static_cast<double>(greater);
    case TieMode::kConservative: return 1.0 + static_cast<double>(greater + equal);
    case TieMode::kMedian:
      return 1.0 + static_cast<double>(greater) + 0.5 * static_cast<double>(equal);
  }
  return 0;
}

RankCounts count_rank(const float* scores, const float* bias, int64_t n, int64_t target) {
  const float t = scores[target] + bias[target];
  if (!std::isfinite(t)) return RankCounts{.greater = n - 1, .equal = 0};
  int64_t greater = 0;
  int64_t equal = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float s = scores[j] + bias[j];
    greater += s > t ? 1 : 0;
    equal += s == t ? 1 : 0;
  }
  return RankCounts{.greater = greater, .equal = equal - 1};
}

RankMetrics::RankMetrics(std::vector<int> cutoffs)
    : cutoffs_(std::move(cutoffs)),
      hits_(cutoffs_.size(), 0),
      reciprocal_sum_(cutoffs_.size(), 0.0) {}

void RankMetrics::add(double rank) {
  ++count_;
  for (size_t k = 0; k < cutoffs_.size(); ++k) {
    if (rank <= cutoffs_[k]) {
      ++hits_[k];
      reciprocal_sum_[k] += 1.0 / rank;
    }
  }
}

void RankMetrics::merge(const RankMetrics& other) {
  GRU4REC_CHECK(other.cutoffs_ == cutoffs_);
  count_ += other.count_;
  for (size_t k = 0; k < cutoffs_.size(); ++k) {
    hits_[k] += other.hits_[k];
    reciprocal_sum_[k] += other.reciprocal_sum_[k];
  }
}

double RankMetrics::recall(size_t k) const {
  return count_ == 0 ? 0.0 : static_cast<double>(hits_[k]) / static_cast<double>(count_);
}

double RankMetrics::mrr(size_t k) const {
  return count_ == 0 ? 0.0 : reciprocal_sum_[k] / static_cast<double>(count_);
}

}  // namespace gru4rec
