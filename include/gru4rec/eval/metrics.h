// Ranking metrics of the official GRU4Rec evaluation (pure, no I/O).
//
// For a prediction, `greater` is the number of items scored above the target and `equal` the
// number of other items scored exactly as the target. The rank is
//   standard:     1 + greater                      (optimistic on ties)
//   conservative: 1 + greater + equal              (#{score >= target}, pessimistic)
//   median:       1 + greater + equal / 2
// Recall@N is the share of predictions with rank <= N; MRR@N the mean of 1/rank, counting 0
// when rank > N; NDCG@N the mean of 1/log2(1 + rank), counting 0 when rank > N (one relevant
// item per prediction, so the ideal DCG is 1).
//
// Beyond accuracy, over the top-N lists of all predictions (ListMetrics):
//   coverage@N:        the share of the catalogue's items that appear in at least one list;
//   popularity bias@N: the mean, over every listed item, of its popularity percentile: the
//                      share of the catalogue's items with a smaller training support (0 for
//                      the least popular items, close to 1 for the most popular).
#pragma once

#include <cstdint>
#include <span>
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

// Accumulates ranks as counts per rank (ranks are whole or half numbers, see above), so that
// the metrics are the same whatever the order of add() and merge(): evaluation on any number
// of threads gives the same figures, to the last bit.
class RankMetrics {
 public:
  explicit RankMetrics(std::vector<int> cutoffs);

  // `rank` >= 1, a multiple of 0.5.
  void add(double rank);
  void merge(const RankMetrics& other);

  const std::vector<int>& cutoffs() const { return cutoffs_; }
  int64_t count() const { return count_; }
  double recall(size_t cutoff_index) const;
  double mrr(size_t cutoff_index) const;
  double ndcg(size_t cutoff_index) const;

 private:
  // The sum of f(rank) over the predictions ranked within cut-off k (in the order of ranks).
  template <typename F>
  double sum_within(size_t k, F f) const;

  std::vector<int> cutoffs_;
  std::vector<int64_t> half_rank_counts_;  // [2 rank]: predictions of that rank, up to max cutoff
  int64_t count_ = 0;
};

class ListMetrics {
 public:
  // `supports`: the training support of each item of the catalogue.
  ListMetrics(std::vector<int> cutoffs, std::span<const int64_t> supports);

  // The longest cut-off: the length of the lists add() wants.
  int list_length() const { return list_length_; }
  // One prediction's recommendations, best first (shorter than list_length() when fewer
  // items could be ranked).
  void add(std::span<const int32_t> items);
  void merge(const ListMetrics& other);

  double coverage(size_t cutoff_index) const;
  double popularity_bias(size_t cutoff_index) const;

 private:
  std::vector<int> cutoffs_;
  int list_length_ = 0;
  std::vector<float> percentile_;             // per item
  std::vector<std::vector<uint8_t>> listed_;  // per cut-off, per item: appeared in a list
  std::vector<double> percentile_sum_;        // per cut-off
  std::vector<int64_t> listed_count_;         // per cut-off: list entries seen
};

}  // namespace gru4rec
