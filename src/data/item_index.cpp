#include "gru4rec/data/item_index.h"

#include <cstdint>

#include "gru4rec/core/error.h"

namespace gru4rec {

int32_t ItemIndex::find(std::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? kUnknown : it->second;
}

int32_t ItemIndex::insert(std::string_view id) {
  auto it = index_.find(id);
  if (it != index_.end()) return it->second;
  if (ids_.size() >= static_cast<size_t>(INT32_MAX)) {
    throw Error("more than 2^31 distinct items are not supported");
  }
  const auto index = static_cast<int32_t>(ids_.size());
  ids_.emplace_back(id);
  index_.emplace(std::string(id), index);
  return index;
}

}  // namespace gru4rec
