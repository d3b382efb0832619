// The fixed hybrid reference (baselines/baseline.h "hybrid"): the session's items first, then a
// trained model's ranking.
#include <algorithm>
#include <limits>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/repeat_head.h"
#include "internal.h"

namespace gru4rec {
namespace {

class HybridBaseline final : public Baseline {
 public:
  HybridBaseline(std::shared_ptr<const Model> model, const ItemIndex& items,
                 std::string description)
      : model_(std::move(model)), predictor_(*model_), description_(std::move(description)) {
    GRU4REC_CHECK(model_ != nullptr);
    to_model_.resize(static_cast<size_t>(items.size()));
    for (int32_t i = 0; i < items.size(); ++i)
      to_model_[static_cast<size_t>(i)] = model_->items.find(items.id(i));
  }

  std::unique_ptr<NextItemScorer> make_scorer() const override;
  std::string description() const override { return description_; }

  std::shared_ptr<const Model> model_;
  Predictor predictor_;
  std::string description_;
  std::vector<int32_t> to_model_;  // per training item: the model's index, or kUnknown
};

class HybridScorer final : public NextItemScorer {
 public:
  explicit HybridScorer(const HybridBaseline& b)
      : b_(b),
        scratch_(b.predictor_.make_scratch(1)),
        state_(static_cast<size_t>(b.predictor_.state_size()), 0.0f),
        model_scores_(static_cast<size_t>(b.predictor_.num_items())) {}

  void start_session() override {
    std::fill(state_.begin(), state_.end(), 0.0f);
    events_.clear();
  }

  void add_event(int32_t item) override {
    events_.push_back(item);
    const int32_t known = b_.to_model_[static_cast<size_t>(item)];
    if (known != ItemIndex::kUnknown) b_.predictor_.advance(state_, known, scratch_);
  }

  void score(std::span<float> scores) override {
    GRU4REC_CHECK(scores.size() == b_.to_model_.size());
    b_.predictor_.score(state_, model_scores_);
    // Items the model does not know rank below all it knows (but still first when the session
    // holds them).
    const float floor = *std::min_element(model_scores_.begin(), model_scores_.end()) - 1.0f;
    for (size_t i = 0; i < scores.size(); ++i) {
      const int32_t known = b_.to_model_[i];
      scores[i] = known == ItemIndex::kUnknown ? floor : model_scores_[static_cast<size_t>(known)];
    }
    session_item_bonuses(events_, bonuses_);
    for (const ItemBonus& b : bonuses_) scores[static_cast<size_t>(b.item)] += b.bonus;
  }

 private:
  const HybridBaseline& b_;
  Predictor::Scratch scratch_;
  std::vector<float> state_, model_scores_;
  std::vector<int32_t> events_;
  std::vector<ItemBonus> bonuses_;
};

std::unique_ptr<NextItemScorer> HybridBaseline::make_scorer() const {
  return std::make_unique<HybridScorer>(*this);
}

}  // namespace

std::unique_ptr<Baseline> make_hybrid_baseline(std::shared_ptr<const Model> model,
                                               const ItemIndex& items, std::string description) {
  return std::make_unique<HybridBaseline>(std::move(model), items, std::move(description));
}

namespace baseline_detail {

std::unique_ptr<Baseline> fit_hybrid(std::string_view params, const ItemIndex& items) {
  std::string path;
  for (std::string_view pair : split(params, ',')) {
    if (trim(pair).empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != "model") {
      throw Error(
          fmt::format("hybrid parameters: expected model=PATH (a model file of gru4rec "
                      "train -s), got {}",
                      quote_for_message(pair)));
    }
    path = std::string(trim(pair.substr(eq + 1)));
  }
  if (path.empty()) {
    throw Error(
        "hybrid needs model=PATH: the model file (gru4rec train -s) whose ranking follows "
        "the session's own items");
  }
  auto model = std::make_shared<const Model>(load_model(path));
  return make_hybrid_baseline(std::move(model), items, "hybrid model=" + path);
}

}  // namespace baseline_detail
}  // namespace gru4rec
