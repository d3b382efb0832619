// Random numbers with a portable, reproducible stream: std::mt19937_64 (whose output the C++
// standard fixes) with our own conversions to uniform and normal variates (the standard
// distributions differ between library implementations). One Rng per thread; not thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace gru4rec {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // A seed for an independent stream derived from (seed, stream), via the splitmix64 mixer.
  static uint64_t derive_seed(uint64_t seed, uint64_t stream) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (multiply-shift; bias below 2^-32 for n < 2^32).
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>(((engine_() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  // Standard normal (Box-Muller).
  double normal() {
    double u1 = 1.0 - uniform();
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace gru4rec
