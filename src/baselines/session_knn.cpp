// vsknn (baselines/baseline.h): session kNN with position-decayed weights of the current
// session's items, over the most recent candidate sessions.
#include <algorithm>

#include "gru4rec/core/error.h"
#include "internal.h"

namespace gru4rec::baseline_detail {
namespace {

class SessionKnnScorer final : public NextItemScorer {
 public:
  SessionKnnScorer(const SessionIndex& index, const std::vector<float>& fallback, size_t k,
                   size_t sample_size)
      : index_(index),
        fallback_(fallback),
        k_(k),
        sample_size_(sample_size),
        similarity_(index.recency.size(), 0.0f),
        weight_(fallback.size(), 0.0f),
        votes_(fallback.size(), 0.0f) {}

  void start_session() override { session_.clear(); }
  void add_event(int32_t item) override { session_.push_back(item); }

  void score(std::span<float> scores) override {
    std::copy(fallback_.begin(), fallback_.end(), scores.begin());
    // The weight of an item is that of its last position in the session.
    const auto length = static_cast<float>(session_.size());
    distinct_.clear();
    for (size_t p = 0; p < session_.size(); ++p) {
      const auto item = static_cast<size_t>(session_[p]);
      if (weight_[item] == 0.0f) distinct_.push_back(session_[p]);
      weight_[item] = static_cast<float>(p + 1) / length;
    }
    candidates_.clear();
    for (int32_t item : distinct_) {
      const auto i = static_cast<size_t>(item);
      for (int64_t k = index_.item_starts[i]; k < index_.item_starts[i + 1]; ++k) {
        const auto s = index_.item_sessions[static_cast<size_t>(k)];
        if (similarity_[static_cast<size_t>(s)] == 0.0f) candidates_.push_back(s);
        similarity_[static_cast<size_t>(s)] += weight_[i];
      }
    }
    for (int32_t item : distinct_) weight_[static_cast<size_t>(item)] = 0.0f;
    // The most recent candidates; a session among them has every shared item's weight (it is
    // among the sample_size most recent sessions of each of its items too).
    const auto more_recent = [&](int32_t a, int32_t b) {
      return index_.recency[static_cast<size_t>(a)] > index_.recency[static_cast<size_t>(b)];
    };
    auto end = candidates_.end();
    if (candidates_.size() > sample_size_) {
      std::nth_element(candidates_.begin(),
                       candidates_.begin() + static_cast<ptrdiff_t>(sample_size_),
                       candidates_.end(), more_recent);
      end = candidates_.begin() + static_cast<ptrdiff_t>(sample_size_);
    }
    // The k most similar (ties: the more recent first).
    const auto more_similar = [&](int32_t a, int32_t b) {
      const float sa = similarity_[static_cast<size_t>(a)],
                  sb = similarity_[static_cast<size_t>(b)];
      return sa > sb || (sa == sb && more_recent(a, b));
    };
    const auto pool = static_cast<size_t>(end - candidates_.begin());
    const size_t k = std::min(k_, pool);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(k), end,
                      more_similar);
    voted_.clear();
    for (size_t n = 0; n < k; ++n) {
      const auto s = static_cast<size_t>(candidates_[n]);
      const float similarity = similarity_[s];
      for (int64_t m = index_.starts[s]; m < index_.starts[s + 1]; ++m) {
        const int32_t item = index_.items[static_cast<size_t>(m)];
        if (votes_[static_cast<size_t>(item)] == 0.0f) voted_.push_back(item);
        votes_[static_cast<size_t>(item)] += similarity;
      }
    }
    for (int32_t item : voted_) {
      scores[static_cast<size_t>(item)] = 1.0f + votes_[static_cast<size_t>(item)];
      votes_[static_cast<size_t>(item)] = 0.0f;
    }
    for (int32_t s : candidates_) similarity_[static_cast<size_t>(s)] = 0.0f;
  }

 private:
  const SessionIndex& index_;
  const std::vector<float>& fallback_;
  size_t k_, sample_size_;
  std::vector<int32_t> session_;     // the current session's items
  std::vector<int32_t> distinct_;    // its distinct items
  std::vector<int32_t> candidates_;  // training sessions sharing an item with it
  std::vector<int32_t> voted_;       // items with votes
  std::vector<float> similarity_;    // per training session (0 outside candidates_)
  std::vector<float> weight_;        // per item (0 outside distinct_)
  std::vector<float> votes_;         // per item (0 outside voted_)
};

class SessionKnn final : public Baseline {
 public:
  SessionKnn(SessionIndex index, std::vector<float> fallback, size_t k, size_t sample_size,
             std::string params)
      : index_(std::move(index)),
        fallback_(std::move(fallback)),
        k_(k),
        sample_size_(sample_size),
        params_(std::move(params)) {}
  std::unique_ptr<NextItemScorer> make_scorer() const override {
    return std::make_unique<SessionKnnScorer>(index_, fallback_, k_, sample_size_);
  }
  std::string description() const override { return "vsknn " + params_; }

 private:
  SessionIndex index_;
  std::vector<float> fallback_;
  size_t k_, sample_size_;
  std::string params_;
};

}  // namespace

std::unique_ptr<Baseline> fit_session_knn(std::string_view text, const SessionLog& train,
                                          int32_t num_items) {
  NumericParams params{{"k", {100, 1, 1e6, true}}, {"sample_size", {1000, 1, 1e8, true}}};
  parse_params("vsknn", text, params);
  const auto k = static_cast<size_t>(params["k"].value);
  const auto sample_size = static_cast<size_t>(params["sample_size"].value);
  SessionIndex index = build_session_index("vsknn", train, num_items, sample_size);
  return std::make_unique<SessionKnn>(std::move(index),
                                      popularity_fallback(item_supports(train, num_items)), k,
                                      sample_size, format_params(params));
}

}  // namespace gru4rec::baseline_detail
