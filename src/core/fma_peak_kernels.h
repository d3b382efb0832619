// The FMA-throughput loop behind measure_fma_peak() and the read loop behind
// measure_read_bandwidth() (private to the library).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gru4rec {

inline constexpr int kFmaChains = 12;

// iterations x kFmaChains dependent-free fused multiply-adds on vectors of fma_lanes() floats;
// returns a value that depends on all of them (so that none is optimized away).
float fma_chains(int64_t iterations, float seed);
int fma_lanes();
// The sum of data[0, n), read with the widest vectors (n a multiple of 64).
float stream_sum(const float* data, size_t n);

}  // namespace gru4rec
