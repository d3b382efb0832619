// Scores of a few session states against every item (states x Wy^T + By), for serving.
//
// A general GEMM packs the item matrix into its own block layout on every call: for a batch of
// 1 to 32 states that packing reads and writes the whole 17 MB matrix (43k items x 100 units)
// and costs more than the product. ItemScorer packs the output weights once, in panels of 16
// items whose units are contiguous (panel p holds items 16p..16p+15; for each unit, the 16
// items' weights), so that the product streams the panels in place, each read once per batch
// and reused from L2 for every state of the batch. The kernel is written once with Google
// Highway and compiled for AVX-512, AVX2+FMA and 128-bit SIMD; the best one the CPU supports
// runs (kernel_name() says which). Figures against Eigen's product: docs/performance.md.
//
// Precision kFloat16 stores the weights as IEEE half floats (half the bytes to stream; the
// products still accumulate in float32): scores then differ from float32 by about 1e-3
// relative, enough to swap near-tied items. Precision kInt8 stores each item's weights as
// signed bytes with a scale of its own (the item's largest |weight| / 127, rounded to nearest):
// a quarter of the bytes, so that a catalog's matrix can stay in the last-level cache; each
// weight is off by at most half a step (scale / 2), and the score is scale x (the integer
// row . state) + bias, accumulated in float32. The bias stays float32.
//
// Pure math. Immutable after construction and thread-safe; score() allocates nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "gru4rec/core/matrix.h"

namespace gru4rec {

enum class WeightPrecision { kFloat32, kFloat16, kInt8 };

// "float32", "float16", "int8"; parse_weight_precision throws Error on another name.
const char* weight_precision_name(WeightPrecision precision);
WeightPrecision parse_weight_precision(std::string_view name);
// Bytes per item of the stored weights: units x (4, 2 or 1), plus the int8 scale.
double weight_bytes_per_item(WeightPrecision precision, int units);

class ItemScorer {
 public:
  static constexpr int kPanel = 16;  // items per panel: one AVX-512 or two AVX2 registers

  // `weights`: items x units (the model's Wy, row-major); `bias`: one value per item.
  ItemScorer(const MatrixR<float>& weights, std::span<const float> bias,
             WeightPrecision precision = WeightPrecision::kFloat32);

  int num_items() const { return items_; }
  int units() const { return units_; }
  WeightPrecision precision() const { return precision_; }
  size_t bytes() const;  // memory held by the packed weights

  // scores[r * score_stride + i] = dot(states[r * state_stride ..], item i) + bias[i] for rows
  // r < rows and every item i. state_stride >= units(), score_stride >= num_items().
  void score(const float* states, int rows, int state_stride, float* scores,
             int score_stride) const;

  // The same product by plain loops, in the same order of operations: the reference the
  // vectorized kernels are tested against.
  void score_portable(const float* states, int rows, int state_stride, float* scores,
                      int score_stride) const;

  // The SIMD target score() runs on this CPU, as Highway names it ("AVX3", "AVX2", "SSE4").
  static const char* kernel_name();

 private:
  float weight(int64_t index) const;  // one packed weight, as float (kInt8: before scaling)

  int items_ = 0, units_ = 0, panels_ = 0;  // panels_: even, the last ones zero-padded
  WeightPrecision precision_;
  std::vector<float, Eigen::aligned_allocator<float>> packed32_;
  std::vector<uint16_t, Eigen::aligned_allocator<uint16_t>> packed16_;
  std::vector<int8_t, Eigen::aligned_allocator<int8_t>> packed8_;
  std::vector<float, Eigen::aligned_allocator<float>> bias_;   // padded to panels_ * kPanel
  std::vector<float, Eigen::aligned_allocator<float>> scale_;  // kInt8: per item, padded
};

// IEEE 754 binary16 conversions (round to nearest even; overflow to infinity), portable.
uint16_t float_to_half(float value);
float half_to_float(uint16_t half);

}  // namespace gru4rec
