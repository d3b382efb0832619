// The SIMD kernels behind ItemScorer (private to the library). Pure math, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gru4rec {

inline constexpr int kScorerPanel = 16;  // items per panel of the packed weights

// scores[r * score_stride + i] = bias[i] + sum_u states[r * state_stride + u] * W(i, u) for
// r < rows and i < items. `packed`: `panels` panels (an even count, 64-byte aligned), panel p
// holding for each unit the weights of items 16p..16p+15; `bias` padded to panels * 16.
// int8_t weights: scores[r * score_stride + i] = bias[i] + scale[i] * (that sum).
template <typename Weight>  // float, uint16_t holding IEEE half floats, or int8_t
struct ScorerProblem {
  const float* states;
  int rows, state_stride;
  const Weight* packed;
  const float* bias;
  int units, items, panels;
  float* scores;
  int score_stride;
  const float* scale = nullptr;  // int8_t only: padded to panels * 16
};

// Runs the best kernel the CPU supports among those this library copy was compiled with.
void score_items(const ScorerProblem<float>& problem);
void score_items(const ScorerProblem<uint16_t>& problem);
void score_items(const ScorerProblem<int8_t>& problem);

// The index of the first of scores[0, n) above `threshold` (NaN never is), or n: top_k's scan.
size_t find_above(const float* scores, size_t n, float threshold);

// The Highway target name of the kernel score_items() runs ("AVX3", "AVX2", "SSE4", ...).
const char* scorer_kernel_target();
// The Highway targets (bits) compiled in this copy and supported by the CPU; tests run each
// by hwy::SetSupportedTargetsForTest.
std::vector<int64_t> scorer_kernel_targets();

}  // namespace gru4rec
