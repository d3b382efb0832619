// ItemIndex: the item dictionary, mapping original item ids (arbitrary strings) to dense
// indices 0..size()-1 in order of first appearance, as the official implementation does.
// It is part of every model. Not thread-safe for writes; concurrent const use is safe.
#pragma once

#include <tsl/robin_map.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/core/string_hash.h"

namespace gru4rec {

// The longest session or item id a data file may hold: a longer field is a broken file (a lost
// quote or newline), refused with its file and line. The same bound as an item id in a session
// record that server replicas share (serve/session_record.h).
inline constexpr size_t kMaxIdBytes = 1024;

class ItemIndex {
 public:
  static constexpr int32_t kUnknown = -1;

  int32_t size() const { return static_cast<int32_t>(ids_.size()); }
  // Dense index of `id`, or kUnknown.
  int32_t find(std::string_view id) const;
  // Dense index of `id`, adding it at the end when it is new.
  int32_t insert(std::string_view id);
  const std::string& id(int32_t index) const { return ids_[static_cast<size_t>(index)]; }
  const std::vector<std::string>& ids() const { return ids_; }

 private:
  std::vector<std::string> ids_;
  tsl::robin_map<std::string, int32_t, StringViewHash, StringViewEqual> index_;
};

}  // namespace gru4rec
