// Recommendations for live sessions from one loaded model: advance a session's state by its
// events (one GRU step each) and pick the top-k items of one matrix-vector product.
// Immutable after construction and thread-safe; each thread keeps its own scratch buffers
// (allocated on first use and after a model change, never per request).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/model/inference.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/top_k.h"

namespace gru4rec {

struct RecommendOptions {
  size_t k = 20;
  std::span<const int32_t> exclude;  // items never recommended
  std::span<const int32_t> include;  // when not empty, only these items are candidates
};

class Recommender {
 public:
  // `version` identifies the model in session states and metrics (it changes on reload).
  Recommender(std::shared_ptr<const Model> model, uint64_t version, std::string source);

  const Model& model() const { return *model_; }
  uint64_t version() const { return version_; }
  const std::string& source() const { return source_; }
  int state_size() const { return predictor_.state_size(); }

  // The dense index of an item id, or -1 when the model does not know it.
  int32_t find_item(std::string_view id) const { return model_->items.find(id); }
  const std::string& item_id(int32_t item) const { return model_->items.id(item); }

  // Advances `state` (state_size() floats; zeros for a new session) by one event.
  void advance(std::span<float> state, int32_t item) const;

  // The top-k items for a session's state, best first, into `out` (size >= k); returns how many.
  size_t recommend(std::span<const float> state, const RecommendOptions& options,
                   std::span<ScoredItem> out) const;

  // The most popular training items (by support), for sessions without a known event.
  size_t popular(const RecommendOptions& options, std::span<ScoredItem> out) const;

 private:
  struct Scratch;
  Scratch& scratch() const;

  std::shared_ptr<const Model> model_;
  uint64_t version_;
  std::string source_;
  Predictor predictor_;
  std::vector<int32_t> by_popularity_;  // item indices, most supported first
};

}  // namespace gru4rec
