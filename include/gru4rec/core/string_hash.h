// Hash and equality for hash tables keyed by std::string that can be searched with a
// std::string_view (heterogeneous lookup: no string is built per lookup).
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace gru4rec {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

struct StringViewEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

}  // namespace gru4rec
