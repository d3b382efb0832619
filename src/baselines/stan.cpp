// stan and vstan (baselines/baseline.h): session kNN with the three STAN factors (position of an
// item in the current session, recency of the neighbour, distance of an item from the match in
// the neighbour), and VSTAN's additions (recency of the match in the current session, IDF).
//
// Written from the papers' descriptions (Garg et al., SIGIR 2019; Ludewig, Latifi & Jannach,
// UMUAI 2021). Choices where they leave room:
// - |s| and |n| in the cosine denominator count distinct items (the vectors are over items).
// - The current session's time t(s). The scorer interface has no times for the current session,
//   and every w2(n) = exp(-(t(s) - t(n)) / lambda) splits into
//     exp(-(t(s) - T) / lambda) * exp(-(T - t(n)) / lambda)
//   for any reference time T. The first factor is the same for every neighbour and every item
//   of one prediction, so it changes neither which candidates have the k largest sim * w2 (the
//   neighbours are chosen by sim * w2, the paper's time-aware similarity) nor the order of the
//   scores: any t(s) gives the same recommendations. We take t(s) = T = the latest time of the
//   training log and compare ln(sim * w2), so that nothing underflows.
// - The scores span hundreds of orders of magnitude (w2 of a neighbour 100 lambdas old is
//   e^-100), far beyond a float's 24 bits: as 1 + score, every item of the older neighbours
//   would round to 1 and tie, and a tie counts as a hit under the standard tie mode (with
//   lambda_snh=0.5 days that "lifted" Diginetica's Recall@20 from about 0.5 to 0.74). So the
//   votes are summed in double relative to the heaviest neighbour, and a scored item gets
//   1 + ln(score(i) / the smallest score of the prediction): the same order, at least 1, and
//   free of any common factor (t(s) included).
// - When items repeat in the neighbour, d(i, n) is the distance between the nearest
//   occurrences of i and r; r is the most recent item of s (by its last position) that n holds.
// - Items of the current session are scored like any other (none are removed).
// - Candidates' recency (for the sample_size cut and ties) is their place in
//   session_order_by_time (by first event), as vsknn's; w2 uses the time of the last event.
// - VSTAN's IDF: a shared item adds w1(i) (1 + lambda_idf ln(N / N_i)) to the similarity, so
//   that 0 switches it off and a large lambda_idf approaches a pure IDF weighting; its
//   sequence-aware scoring weighs all of a neighbour's votes by exp(-(l - p_r) / lambda_ipw).
#include <algorithm>
#include <cmath>
#include <limits>

#include "gru4rec/core/error.h"
#include "internal.h"

namespace gru4rec::baseline_detail {
namespace {

constexpr double kSecondsPerDay = 86400;

struct StanOptions {
  size_t k = 100, sample_size = 1000;
  // 0 switches a factor off.
  double lambda_spw = 0, lambda_snh_seconds = 0, lambda_inh = 0, lambda_ipw = 0, lambda_idf = 0;
};

// vsknn's index (distinct items, recency, each item's recent sessions) and what STAN adds.
struct StanIndex : SessionIndex {
  // Training sessions' events (with repeats): session s has events[event_starts[s] ..
  // event_starts[s+1]), in time order.
  std::vector<int64_t> event_starts{0};
  std::vector<int32_t> events;
  std::vector<double> last_time;  // per session: the time of its last event (seconds)
  double latest_time = 0;         // the latest time of the log
  size_t max_length = 0;          // events of the longest session
  std::vector<double> idf;        // per item: ln(sessions / sessions holding it); 0 if none
};

// 1 for a switched-off factor.
double decay(double distance, double lambda) {
  return lambda > 0 ? std::exp(-distance / lambda) : 1.0;
}

class StanScorer final : public NextItemScorer {
 public:
  StanScorer(const StanIndex& index, const std::vector<float>& fallback, const StanOptions& o)
      : index_(index),
        fallback_(fallback),
        o_(o),
        similarity_(index.recency.size(), 0.0),
        is_candidate_(index.recency.size(), 0),
        last_position_(fallback.size(), -1),
        weight_(fallback.size(), 0.0),
        neighbour_mark_(fallback.size(), 0),
        nearest_(fallback.size(), kFar),
        votes_(fallback.size(), 0.0),
        voted_(fallback.size(), 0),
        distance_(index.max_length, kFar) {
    log_w3_.resize(index.max_length + 1);
    for (size_t d = 0; d < log_w3_.size(); ++d)
      log_w3_[d] = o.lambda_inh > 0 ? -static_cast<double>(d) / o.lambda_inh : 0.0;
  }

  void start_session() override { session_.clear(); }
  void add_event(int32_t item) override { session_.push_back(item); }

  void score(std::span<float> scores) override {
    std::copy(fallback_.begin(), fallback_.end(), scores.begin());
    const size_t length = session_.size();
    distinct_.clear();
    for (size_t p = 0; p < length; ++p) {
      const auto item = static_cast<size_t>(session_[p]);
      if (last_position_[item] < 0) distinct_.push_back(session_[p]);
      last_position_[item] = static_cast<int64_t>(p);
    }
    // w1 (p - l with 1-based p is last_position + 1 - l), times VSTAN's IDF factor.
    for (int32_t item : distinct_) {
      const auto i = static_cast<size_t>(item);
      const auto back = static_cast<double>(length - 1 - static_cast<size_t>(last_position_[i]));
      weight_[i] = decay(back, o_.lambda_spw) * (1.0 + o_.lambda_idf * index_.idf[i]);
    }
    candidates_.clear();
    for (int32_t item : distinct_) {
      const auto i = static_cast<size_t>(item);
      for (int64_t k = index_.item_starts[i]; k < index_.item_starts[i + 1]; ++k) {
        const auto s = static_cast<size_t>(index_.item_sessions[static_cast<size_t>(k)]);
        if (!is_candidate_[s]) {
          is_candidate_[s] = 1;
          candidates_.push_back(static_cast<int32_t>(s));
        }
        similarity_[s] += weight_[i];
      }
    }
    // The most recent candidates; a session among them has every shared item's weight (it is
    // among the sample_size most recent sessions of each of its items too).
    const auto more_recent = [&](int32_t a, int32_t b) {
      return index_.recency[static_cast<size_t>(a)] > index_.recency[static_cast<size_t>(b)];
    };
    size_t pool = candidates_.size();
    if (pool > o_.sample_size) {
      std::nth_element(candidates_.begin(),
                       candidates_.begin() + static_cast<ptrdiff_t>(o_.sample_size),
                       candidates_.end(), more_recent);
      pool = o_.sample_size;
    }
    // The k with the largest sim * w2 (with t(s) = the log's latest time), compared as logs;
    // ties: the more recent first.
    const double distinct = static_cast<double>(distinct_.size());
    neighbours_.clear();
    for (size_t c = 0; c < pool; ++c) {
      const auto s = static_cast<size_t>(candidates_[c]);
      const auto size = static_cast<double>(index_.starts[s + 1] - index_.starts[s]);
      const double sim = similarity_[s] / std::sqrt(distinct * size);
      double key = sim > 0 ? std::log(sim) : -std::numeric_limits<double>::infinity();
      if (o_.lambda_snh_seconds > 0)
        key -= (index_.latest_time - index_.last_time[s]) / o_.lambda_snh_seconds;
      neighbours_.push_back({key, candidates_[c]});
    }
    const auto better = [&](const Neighbour& a, const Neighbour& b) {
      return a.key > b.key || (a.key == b.key && more_recent(a.session, b.session));
    };
    const size_t k = std::min(o_.k, neighbours_.size());
    std::partial_sort(neighbours_.begin(), neighbours_.begin() + static_cast<ptrdiff_t>(k),
                      neighbours_.end(), better);
    neighbours_.resize(k);
    // The neighbours' weights relative to the largest (a common factor, see the top).
    double top = -std::numeric_limits<double>::infinity();
    for (Neighbour& n : neighbours_) {
      find_match(n);
      top = std::max(top, n.log_weight);
    }
    if (!std::isfinite(top)) top = 0.0;
    voted_items_.clear();
    for (const Neighbour& n : neighbours_) vote(n, top);
    double smallest = std::numeric_limits<double>::infinity();
    for (int32_t item : voted_items_)
      smallest = std::min(smallest, votes_[static_cast<size_t>(item)]);
    const double log_smallest = std::log(smallest);
    for (int32_t item : voted_items_) {
      const auto i = static_cast<size_t>(item);
      scores[i] = 1.0f + static_cast<float>(std::log(votes_[i]) - log_smallest);
      votes_[i] = 0.0;
      voted_[i] = 0;
    }
    for (int32_t s : candidates_) {
      similarity_[static_cast<size_t>(s)] = 0.0;
      is_candidate_[static_cast<size_t>(s)] = 0;
    }
    for (int32_t item : distinct_) last_position_[static_cast<size_t>(item)] = -1;
  }

 private:
  static constexpr int64_t kFar = std::numeric_limits<int64_t>::max();

  struct Neighbour {
    double key;  // ln(sim * w2) with t(s) = the log's latest time
    int32_t session;
    size_t r_position = 0;  // of the match r in the current session
    double log_weight = 0;  // key + ln of VSTAN's weight of the match's recency
  };

  // r: the most recent item of the current session that n holds (one exists: n shares one).
  void find_match(Neighbour& n) {
    const auto s = static_cast<size_t>(n.session);
    ++mark_;
    for (int64_t m = index_.starts[s]; m < index_.starts[s + 1]; ++m)
      neighbour_mark_[static_cast<size_t>(index_.items[static_cast<size_t>(m)])] = mark_;
    size_t r_position = session_.size() - 1;
    while (neighbour_mark_[static_cast<size_t>(session_[r_position])] != mark_) --r_position;
    n.r_position = r_position;
    n.log_weight = n.key;
    if (o_.lambda_ipw > 0)
      n.log_weight -= static_cast<double>(session_.size() - 1 - r_position) / o_.lambda_ipw;
  }

  // Adds neighbour n's votes, sim * w2 * (VSTAN) the match's recency in s * w3 per item,
  // divided by exp(top). A vote below the smallest positive double counts as that one, so that
  // every voted item is above the unscored ones (and ties only below 1e-308 of the top).
  void vote(const Neighbour& n, double top) {
    const auto s = static_cast<size_t>(n.session);
    const int32_t r = session_[n.r_position];
    const double log_weight = n.log_weight - top;
    // Distance of every position of n to its nearest occurrence of r, then per item the
    // smallest over its occurrences.
    const auto begin = static_cast<size_t>(index_.event_starts[s]);
    const auto length = static_cast<size_t>(index_.event_starts[s + 1]) - begin;
    const int32_t* events = index_.events.data() + begin;
    int64_t last_r = -1;
    for (size_t q = 0; q < length; ++q) {
      if (events[q] == r) last_r = static_cast<int64_t>(q);
      distance_[q] = last_r < 0 ? kFar : static_cast<int64_t>(q) - last_r;
    }
    int64_t next_r = -1;
    touched_.clear();
    for (size_t q = length; q-- > 0;) {
      if (events[q] == r) next_r = static_cast<int64_t>(q);
      if (next_r >= 0) distance_[q] = std::min(distance_[q], next_r - static_cast<int64_t>(q));
      const auto item = static_cast<size_t>(events[q]);
      if (nearest_[item] == kFar) touched_.push_back(events[q]);
      nearest_[item] = std::min(nearest_[item], distance_[q]);
    }
    for (int32_t item : touched_) {
      const auto i = static_cast<size_t>(item);
      votes_[i] += std::max(std::exp(log_weight + log_w3_[static_cast<size_t>(nearest_[i])]),
                            std::numeric_limits<double>::min());
      nearest_[i] = kFar;
      if (!voted_[i]) {
        voted_[i] = 1;
        voted_items_.push_back(item);
      }
    }
  }

  const StanIndex& index_;
  const std::vector<float>& fallback_;
  StanOptions o_;
  std::vector<double> log_w3_;         // ln w3 by distance, 0 .. longest session
  std::vector<int32_t> session_;       // the current session's items
  std::vector<int32_t> distinct_;      // its distinct items
  std::vector<int32_t> candidates_;    // training sessions sharing an item with it
  std::vector<Neighbour> neighbours_;  // the pool, then the k chosen
  std::vector<int32_t> touched_;       // one neighbour's distinct items
  std::vector<int32_t> voted_items_;   // items with votes
  // Per training session (0 outside candidates_).
  std::vector<double> similarity_;
  std::vector<char> is_candidate_;
  // Per item, reset after use.
  std::vector<int64_t> last_position_;   // in the current session (-1 outside distinct_)
  std::vector<double> weight_;           // w1 (times the IDF factor) of distinct_
  std::vector<int64_t> neighbour_mark_;  // == mark_: held by the neighbour being voted
  std::vector<int64_t> nearest_;         // distance to r (kFar outside touched_)
  std::vector<double> votes_;            // 0 outside voted_items_
  std::vector<char> voted_;
  std::vector<int64_t> distance_;  // per position of the neighbour: distance to r
  int64_t mark_ = 0;
};

class Stan final : public Baseline {
 public:
  Stan(std::string name, StanIndex index, std::vector<float> fallback, StanOptions options,
       std::string params)
      : name_(std::move(name)),
        index_(std::move(index)),
        fallback_(std::move(fallback)),
        options_(options),
        params_(std::move(params)) {}
  std::unique_ptr<NextItemScorer> make_scorer() const override {
    return std::make_unique<StanScorer>(index_, fallback_, options_);
  }
  std::string description() const override { return name_ + " " + params_; }

 private:
  std::string name_;
  StanIndex index_;
  std::vector<float> fallback_;
  StanOptions options_;
  std::string params_;
};

StanIndex build_index(const SessionLog& train, int32_t num_items, size_t sample_size) {
  GRU4REC_CHECK(train.times.size() == train.items.size(), "stan needs the events' times");
  const auto n = static_cast<size_t>(num_items);
  const auto sessions = static_cast<size_t>(train.num_sessions());
  StanIndex index;
  static_cast<SessionIndex&>(index) = build_session_index("stan", train, num_items, sample_size);
  index.events = train.items;
  index.event_starts = train.offsets;
  index.last_time.resize(sessions);
  index.latest_time = sessions > 0 ? -std::numeric_limits<double>::infinity() : 0;
  for (size_t s = 0; s < sessions; ++s) {
    const auto begin = static_cast<size_t>(train.offsets[s]);
    const auto end = static_cast<size_t>(train.offsets[s + 1]);
    index.max_length = std::max(index.max_length, end - begin);
    index.last_time[s] = end > begin ? train.times[end - 1] : 0;
    index.latest_time = std::max(index.latest_time, index.last_time[s]);
  }
  // IDF: the sessions holding each item are its entries among the distinct items.
  std::vector<int64_t> holders(n, 0);
  for (const int32_t item : index.items) ++holders[static_cast<size_t>(item)];
  index.idf.assign(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (holders[i] > 0)
      index.idf[i] = std::log(static_cast<double>(sessions) / static_cast<double>(holders[i]));
  }
  return index;
}

std::unique_ptr<Baseline> fit(std::string_view name, std::string_view text, const SessionLog& train,
                              int32_t num_items, bool vstan) {
  NumericParams params{{"k", {100, 1, 1e6, true}},
                       {"sample_size", {1000, 1, 1e8, true}},
                       {"lambda_spw", {1.02, 0, 1e6, false}},
                       {"lambda_snh", {5, 0, 1e6, false}},
                       {"lambda_inh", {2.05, 0, 1e6, false}}};
  if (vstan) {
    params.emplace("lambda_ipw", NumericParam{1.02, 0, 1e6, false});
    params.emplace("lambda_idf", NumericParam{1, 0, 1e6, false});
  }
  parse_params(name, text, params);
  StanOptions o;
  o.k = static_cast<size_t>(params["k"].value);
  o.sample_size = static_cast<size_t>(params["sample_size"].value);
  o.lambda_spw = params["lambda_spw"].value;
  o.lambda_snh_seconds = params["lambda_snh"].value * kSecondsPerDay;
  o.lambda_inh = params["lambda_inh"].value;
  if (vstan) {
    o.lambda_ipw = params["lambda_ipw"].value;
    o.lambda_idf = params["lambda_idf"].value;
  }
  return std::make_unique<Stan>(std::string(name), build_index(train, num_items, o.sample_size),
                                popularity_fallback(item_supports(train, num_items)), o,
                                format_params(params));
}

}  // namespace

std::unique_ptr<Baseline> fit_stan(std::string_view params, const SessionLog& train,
                                   int32_t num_items) {
  return fit("stan", params, train, num_items, false);
}

std::unique_ptr<Baseline> fit_vstan(std::string_view params, const SessionLog& train,
                                    int32_t num_items) {
  return fit("vstan", params, train, num_items, true);
}

}  // namespace gru4rec::baseline_detail
