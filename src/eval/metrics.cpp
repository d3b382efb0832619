#include "gru4rec/eval/metrics.h"

#include <algorithm>
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

RankMetrics::RankMetrics(std::vector<int> cutoffs) : cutoffs_(std::move(cutoffs)) {
  int longest = 0;
  for (int cutoff : cutoffs_) {
    GRU4REC_CHECK(cutoff > 0);
    longest = std::max(longest, cutoff);
  }
  half_rank_counts_.assign(2 * static_cast<size_t>(longest) + 1, 0);
}

void RankMetrics::add(double rank) {
  ++count_;
  const double half_ranks = 2 * rank;
  GRU4REC_CHECK(rank >= 1 && half_ranks == std::floor(half_ranks), "a rank is a multiple of 0.5");
  if (half_ranks < static_cast<double>(half_rank_counts_.size()))
    ++half_rank_counts_[static_cast<size_t>(half_ranks)];
}

void RankMetrics::merge(const RankMetrics& other) {
  GRU4REC_CHECK(other.cutoffs_ == cutoffs_);
  count_ += other.count_;
  for (size_t i = 0; i < half_rank_counts_.size(); ++i)
    half_rank_counts_[i] += other.half_rank_counts_[i];
}

template <typename F>
double RankMetrics::sum_within(size_t k, F f) const {
  double sum = 0;
  const auto last = 2 * static_cast<size_t>(cutoffs_[k]);
  for (size_t i = 2; i <= last; ++i)
    sum += static_cast<double>(half_rank_counts_[i]) * f(0.5 * static_cast<double>(i));
  return sum;
}

double RankMetrics::recall(size_t k) const {
  if (count_ == 0) return 0.0;
  return sum_within(k, [](double) { return 1.0; }) / static_cast<double>(count_);
}

double RankMetrics::mrr(size_t k) const {
  if (count_ == 0) return 0.0;
  return sum_within(k, [](double rank) { return 1.0 / rank; }) / static_cast<double>(count_);
}

double RankMetrics::ndcg(size_t k) const {
  if (count_ == 0) return 0.0;
  return sum_within(k, [](double rank) { return 1.0 / std::log2(1.0 + rank); }) /
         static_cast<double>(count_);
}

ListMetrics::ListMetrics(std::vector<int> cutoffs, std::span<const int64_t> supports)
    : cutoffs_(std::move(cutoffs)),
      percentile_(supports.size()),
      listed_(cutoffs_.size(), std::vector<uint8_t>(supports.size(), 0)),
      percentile_sum_(cutoffs_.size(), 0.0),
      listed_count_(cutoffs_.size(), 0) {
  for (int cutoff : cutoffs_) {
    GRU4REC_CHECK(cutoff > 0);
    list_length_ = std::max(list_length_, cutoff);
  }
  // Percentile of an item: the share of items with a smaller support (ties share a value).
  std::vector<int64_t> sorted(supports.begin(), supports.end());
  std::sort(sorted.begin(), sorted.end());
  const auto n = static_cast<double>(std::max<size_t>(supports.size(), 1));
  for (size_t i = 0; i < supports.size(); ++i) {
    const auto below = std::lower_bound(sorted.begin(), sorted.end(), supports[i]) - sorted.begin();
    percentile_[i] = static_cast<float>(static_cast<double>(below) / n);
  }
}

void ListMetrics::add(std::span<const int32_t> items) {
  for (size_t k = 0; k < cutoffs_.size(); ++k) {
    const size_t length = std::min(items.size(), static_cast<size_t>(cutoffs_[k]));
    for (size_t i = 0; i < length; ++i) {
      const auto item = static_cast<size_t>(items[i]);
      GRU4REC_CHECK(item < percentile_.size());
      listed_[k][item] = 1;
      percentile_sum_[k] += percentile_[item];
    }
    listed_count_[k] += static_cast<int64_t>(length);
  }
}

void ListMetrics::merge(const ListMetrics& other) {
  GRU4REC_CHECK(other.cutoffs_ == cutoffs_ && other.percentile_.size() == percentile_.size());
  for (size_t k = 0; k < cutoffs_.size(); ++k) {
    for (size_t i = 0; i < percentile_.size(); ++i) listed_[k][i] |= other.listed_[k][i];
    percentile_sum_[k] += other.percentile_sum_[k];
    listed_count_[k] += other.listed_count_[k];
  }
}

double ListMetrics::coverage(size_t k) const {
  if (percentile_.empty()) return 0.0;
  const auto listed = std::count(listed_[k].begin(), listed_[k].end(), uint8_t{1});
  return static_cast<double>(listed) / static_cast<double>(percentile_.size());
}

double ListMetrics::popularity_bias(size_t k) const {
  return listed_count_[k] == 0 ? 0.0 : percentile_sum_[k] / static_cast<double>(listed_count_[k]);
}

}  // namespace gru4rec
