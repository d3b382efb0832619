// The FMA-throughput loop behind measure_fma_peak() (private to the library).
#pragma once

#include <cstdint>

namespace gru4rec {

inline constexpr int kFmaChains = 12;

// iterations x kFmaChains dependent-free fused multiply-adds on vectors of fma_lanes() floats;
// returns a value that depends on all of them (so that none is optimized away).
float fma_chains(int64_t iterations, float seed);
int fma_lanes();

}  // namespace gru4rec
