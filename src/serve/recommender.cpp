#include "gru4rec/serve/recommender.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "gru4rec/core/error.h"

namespace gru4rec {

struct Recommender::Scratch {
  uint64_t version = 0;
  const Recommender* owner = nullptr;
  Predictor::Scratch predictor;
  std::vector<float> scores;
  std::vector<float> candidates;  // NaN but for the included items during a request
};

Recommender::Recommender(std::shared_ptr<const Model> model, uint64_t version, std::string source)
    : model_(std::move(model)),
      version_(version),
      source_(std::move(source)),
      predictor_(*model_) {
  by_popularity_.resize(static_cast<size_t>(model_->num_items()));
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(), [&](int32_t a, int32_t b) {
    return model_->supports[static_cast<size_t>(a)] > model_->supports[static_cast<size_t>(b)];
  });
}

Recommender::Scratch& Recommender::scratch() const {
  thread_local Scratch local;
  if (local.owner != this || local.version != version_) {
    local.owner = this;
    local.version = version_;
    local.predictor = predictor_.make_scratch(1);
    local.scores.assign(static_cast<size_t>(model_->num_items()), 0.0f);
    local.candidates.assign(static_cast<size_t>(model_->num_items()),
                            std::numeric_limits<float>::quiet_NaN());
  }
  return local;
}

void Recommender::advance(std::span<float> state, int32_t item) const {
  predictor_.advance(state, item, scratch().predictor);
}

size_t Recommender::recommend(std::span<const float> state, const RecommendOptions& options,
                              std::span<ScoredItem> out) const {
  GRU4REC_CHECK(out.size() >= options.k);
  Scratch& local = scratch();
  predictor_.score(state, local.scores);
  constexpr float kExcluded = std::numeric_limits<float>::quiet_NaN();  // never selected
  for (int32_t item : options.exclude) local.scores[static_cast<size_t>(item)] = kExcluded;
  if (options.include.empty()) return top_k(local.scores, options.k, out);
  // Only the listed items compete: copy their scores into a vector of NaN, select, restore.
  for (int32_t item : options.include)
    local.candidates[static_cast<size_t>(item)] = local.scores[static_cast<size_t>(item)];
  const size_t n = top_k(local.candidates, options.k, out);
  for (int32_t item : options.include) local.candidates[static_cast<size_t>(item)] = kExcluded;
  return n;
}

size_t Recommender::popular(const RecommendOptions& options, std::span<ScoredItem> out) const {
  GRU4REC_CHECK(out.size() >= options.k);
  size_t n = 0;
  for (int32_t item : by_popularity_) {
    if (n == options.k) break;
    if (std::find(options.exclude.begin(), options.exclude.end(), item) != options.exclude.end())
      continue;
    if (!options.include.empty() &&
        std::find(options.include.begin(), options.include.end(), item) == options.include.end())
      continue;
    out[n++] = ScoredItem{item, static_cast<float>(model_->supports[static_cast<size_t>(item)])};
  }
  return n;
}

}  // namespace gru4rec
