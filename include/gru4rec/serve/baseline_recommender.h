// A baseline (pop, spop, itemknn, vsknn: baselines/baseline.h) fitted on a training log and
// served like a GRU4Rec model, so that a model can be A/B tested against it on live traffic.
// It keeps no state per session: each request replays the session's items through a scorer
// and ranks every item, as the offline evaluation of baselines does.
//
// Thread-safe; per thread, a scorer and a score buffer per baseline, made on first use (at most
// a few baselines are served at once), never per request.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/data/item_index.h"
#include "gru4rec/serve/catalog.h"
#include "gru4rec/serve/session_model.h"

namespace gru4rec {

class BaselineRecommender : public SessionModel {
 public:
  // Reads `train_path` (SessionId, ItemId, Time columns, as `gru4rec baseline` does) and fits
  // `algorithm` with `params` ("key=value,..."; empty: the defaults). Adds the items to
  // `registry` (see session_model.h). Throws Error for a bad file, algorithm or parameter.
  BaselineRecommender(std::string_view algorithm, std::string_view params,
                      const std::string& train_path, uint64_t version, ItemIndex& registry);
  ~BaselineRecommender() override;

  uint64_t version() const override { return version_; }
  uint64_t content_id() const override { return content_id_; }
  std::string description() const override { return baseline_->description(); }
  int32_t num_items() const override { return items_.size(); }
  int state_size() const override { return 0; }
  int32_t find_item(std::string_view id) const override { return catalog_->find(id); }
  const std::string& item_id(int32_t item) const override { return catalog_->id(item); }
  int32_t to_global(int32_t item) const override { return catalog_->to_global(item); }
  int32_t to_local(int32_t global) const override { return catalog_->to_local(global); }
  void advance(std::span<float>, int32_t) const override {}
  size_t recommend(std::span<const float> state, std::span<const int32_t> session_items,
                   const RecommendOptions& options, std::span<ScoredItem> out) const override;
  size_t popular(const RecommendOptions& options, std::span<ScoredItem> out) const override {
    return catalog_->popular(options, out);
  }

 private:
  struct Scratch;
  Scratch& scratch() const;

  ItemIndex items_;
  std::unique_ptr<Baseline> baseline_;
  std::unique_ptr<Catalog> catalog_;
  uint64_t version_, content_id_, instance_;
};

}  // namespace gru4rec
