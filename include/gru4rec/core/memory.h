// Cache hints for the kernels that touch item rows scattered over large matrices.
#pragma once

#include <cstddef>

namespace gru4rec {

// Starts loading [data, data + bytes) into the cache (a hint; never faults).
inline void prefetch_bytes(const void* data, size_t bytes, bool for_write = false) {
  const char* p = static_cast<const char*>(data);
  for (size_t offset = 0; offset < bytes; offset += 64) {
    if (for_write) {
      __builtin_prefetch(p + offset, 1);
    } else {
      __builtin_prefetch(p + offset, 0);
    }
  }
}

}  // namespace gru4rec
