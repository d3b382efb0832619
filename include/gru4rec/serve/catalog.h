// The items a served model knows, as the server needs them: ids, their place in the process's
// item registry (see session_model.h), and the training popularity order for sessions without
// a known event. Shared by every kind of SessionModel.
//
// Immutable after construction and thread-safe; popular() allocates only on a thread's first
// calls.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/data/item_index.h"
#include "gru4rec/serve/session_model.h"

namespace gru4rec {

class Catalog {
 public:
  // `items` must outlive the catalog; `supports`: training events per item. Adds the ids to
  // `registry` (the caller serializes constructions that share a registry).
  Catalog(const ItemIndex& items, std::span<const int64_t> supports, ItemIndex& registry);

  int32_t size() const { return static_cast<int32_t>(supports_.size()); }
  int32_t find(std::string_view id) const { return items_->find(id); }
  const std::string& id(int32_t item) const { return items_->id(item); }
  int32_t to_global(int32_t item) const { return to_global_[static_cast<size_t>(item)]; }
  int32_t to_local(int32_t global) const {
    return global >= 0 && static_cast<size_t>(global) < to_local_.size()
               ? to_local_[static_cast<size_t>(global)]
               : -1;
  }
  // The k most supported items (scored by their support) that the options allow, best first.
  size_t popular(const RecommendOptions& options, std::span<ScoredItem> out) const;

 private:
  const ItemIndex* items_;
  std::vector<int64_t> supports_;
  std::vector<int32_t> by_popularity_;  // item indices, most supported first
  std::vector<int32_t> rank_;           // an item's position in by_popularity_
  std::vector<int32_t> to_global_, to_local_;
};

}  // namespace gru4rec
