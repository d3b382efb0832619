// pop and spop (baselines/baseline.h).
#include <algorithm>

#include "internal.h"

namespace gru4rec::baseline_detail {
namespace {

class PopScorer final : public NextItemScorer {
 public:
  explicit PopScorer(const std::vector<float>& supports) : supports_(supports) {}
  void start_session() override {}
  void add_event(int32_t) override {}
  void score(std::span<float> scores) override {
    std::copy(supports_.begin(), supports_.end(), scores.begin());
  }

 private:
  const std::vector<float>& supports_;
};

class Pop final : public Baseline {
 public:
  explicit Pop(const std::vector<int64_t>& supports)
      : supports_(supports.begin(), supports.end()) {}
  std::unique_ptr<NextItemScorer> make_scorer() const override {
    return std::make_unique<PopScorer>(supports_);
  }
  std::string description() const override { return "pop"; }

 private:
  std::vector<float> supports_;  // exact below 2^24 events per item
};

// Items of the session by their count in it (1 + count), then every item by popularity.
class SpopScorer final : public NextItemScorer {
 public:
  explicit SpopScorer(const std::vector<float>& fallback)
      : fallback_(fallback), counts_(fallback.size(), 0) {}
  void start_session() override {
    for (int32_t item : seen_) counts_[static_cast<size_t>(item)] = 0;
    seen_.clear();
  }
  void add_event(int32_t item) override {
    if (counts_[static_cast<size_t>(item)]++ == 0) seen_.push_back(item);
  }
  void score(std::span<float> scores) override {
    std::copy(fallback_.begin(), fallback_.end(), scores.begin());
    for (int32_t item : seen_) {
      const auto i = static_cast<size_t>(item);
      // Among equal counts the more popular item first, as in the fallback.
      scores[i] = static_cast<float>(counts_[i]) + fallback_[i] + 1.0f;
    }
  }

 private:
  const std::vector<float>& fallback_;
  std::vector<int32_t> counts_;  // per item: events of the current session
  std::vector<int32_t> seen_;    // the session's distinct items
};

class Spop final : public Baseline {
 public:
  explicit Spop(const std::vector<int64_t>& supports) : fallback_(popularity_fallback(supports)) {}
  std::unique_ptr<NextItemScorer> make_scorer() const override {
    return std::make_unique<SpopScorer>(fallback_);
  }
  std::string description() const override { return "spop"; }

 private:
  std::vector<float> fallback_;
};

}  // namespace

std::unique_ptr<Baseline> fit_pop(std::string_view params, const SessionLog& train,
                                  int32_t num_items) {
  NumericParams none;
  parse_params("pop", params, none);
  return std::make_unique<Pop>(item_supports(train, num_items));
}

std::unique_ptr<Baseline> fit_spop(std::string_view params, const SessionLog& train,
                                   int32_t num_items) {
  NumericParams none;
  parse_params("spop", params, none);
  return std::make_unique<Spop>(item_supports(train, num_items));
}

}  // namespace gru4rec::baseline_detail
