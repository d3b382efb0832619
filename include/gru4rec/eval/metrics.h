// Ranking metrics of the official GRU4Rec evaluation (pure, no I/O).
//
// For a prediction, `greater` is the number of items scored above the target and `equal` the
// number of other items scored exactly as the target. The rank is
//   standard:     1 + greater                      (optimistic on ties)
//   conservative: 1 + greater + equal              (#{score >= target}, pessimistic)
//   median:       1 + greater + equal / 2
// Recall@N is the share of predictions with rank <= N; MRR@N the mean of 1/rank, counting 0
// when rank > N.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gru4rec {

enum class TieMode { kStandard, kConservative, kMedian };

std::string_view tie_mode_name(TieMode mode);
// Throws Error for an unknown name.
TieMode parse_tie_mode(std::string_view name);

double rank_from_counts(int64_t greater, int64_t equal, TieMode mode);

struct RankCounts {
  int64_t greater = 0;
  int64_t equal = 0;  // other items with the target's score
};

// Counts items whose score (scores[j] + bias[j]) is above / equal to the target's, over
// n items; the target itself is not counted. A non-finite target score counts as ranked last.
RankCounts count_rank(const float* scores, const float* bias, int64_t n, int64_t target);

class RankMetrics {
 public:
  explicit RankMetrics(std::vector<int> cutoffs);

  void add(double rank);
  void merge(const RankMetrics& other);

  const std::vector<int>& cutoffs() const { return cutoffs_; }
  int64_t count() const { return count_; }
  double recall(size_t cutoff_index) const;
  double mrr(size_t cutoff_index) const;

 private:
  std::vector<int> cutoffs_;
  std::vector<int64_t> hits_;
  std::vector<double> reciprocal_sum_;
  int64_t count_ = 0;
};

}  // namespace gru4rec
