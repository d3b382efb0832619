#include "gru4rec/model/item_scorer.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "gru4rec/core/error.h"
#include "model/item_scorer_kernels.h"

namespace gru4rec {

uint16_t float_to_half(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u)  // infinity, or NaN (kept quiet)
    return static_cast<uint16_t>(sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x200u : 0u));
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (magnitude < 0x38800000u) {
    // Below the smallest normal half (2^-14): a multiple of 2^-24, rounded to nearest even
    // (the default rounding mode). 1024 * 2^-24 rounds up into the smallest normal's encoding.
    const float units = std::bit_cast<float>(magnitude) * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(units)));
  }
  // Normal: drop 13 mantissa bits rounding to nearest even (a carry may raise the exponent),
  // then rebias the exponent from 127 to 15.
  const uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded >> 13) - (112u << 10)));
}

float half_to_float(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);  // exact
    return std::bit_cast<float>(std::bit_cast<uint32_t>(magnitude) | sign);
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

ItemScorer::ItemScorer(const MatrixR<float>& weights, std::span<const float> bias,
                       WeightPrecision precision)
    : items_(static_cast<int>(weights.rows())),
      units_(static_cast<int>(weights.cols())),
      precision_(precision) {
  GRU4REC_CHECK(static_cast<int64_t>(bias.size()) == weights.rows() && units_ > 0);
  panels_ = (items_ + kPanel - 1) / kPanel;
  panels_ += panels_ % 2;  // the AVX-512 kernel takes panels two at a time
  const auto size = static_cast<size_t>(panels_) * static_cast<size_t>(units_) * kPanel;
  if (precision_ == WeightPrecision::kFloat32)
    packed32_.assign(size, 0.0f);
  else
    packed16_.assign(size, 0);
  for (int i = 0; i < items_; ++i) {
    for (int u = 0; u < units_; ++u) {
      const size_t at =
          (static_cast<size_t>(i / kPanel) * static_cast<size_t>(units_) + static_cast<size_t>(u)) *
              kPanel +
          static_cast<size_t>(i % kPanel);
      if (precision_ == WeightPrecision::kFloat32)
        packed32_[at] = weights(i, u);
      else
        packed16_[at] = float_to_half(weights(i, u));
    }
  }
  bias_.assign(static_cast<size_t>(panels_) * kPanel, 0.0f);
  std::copy(bias.begin(), bias.end(), bias_.begin());
}

size_t ItemScorer::bytes() const {
  return packed32_.size() * sizeof(float) + packed16_.size() * sizeof(uint16_t) +
         bias_.size() * sizeof(float);
}

float ItemScorer::weight(int64_t index) const {
  const auto at = static_cast<size_t>(index);
  return precision_ == WeightPrecision::kFloat32 ? packed32_[at] : half_to_float(packed16_[at]);
}

void ItemScorer::score_portable(const float* states, int rows, int state_stride, float* scores,
                                int score_stride) const {
  GRU4REC_CHECK(rows >= 0 && state_stride >= units_ && score_stride >= items_);
  for (int r = 0; r < rows; ++r) {
    const float* state = states + static_cast<ptrdiff_t>(r) * state_stride;
    for (int i = 0; i < items_; ++i) {
      const int64_t panel_start = static_cast<int64_t>(i / kPanel) * units_ * kPanel + i % kPanel;
      // The same order of operations as the vectorized kernel: bias first, then one fused
      // multiply-add per unit.
      float sum = bias_[static_cast<size_t>(i)];
      for (int u = 0; u < units_; ++u)
        sum = std::fma(state[u], weight(panel_start + static_cast<int64_t>(u) * kPanel), sum);
      scores[static_cast<ptrdiff_t>(r) * score_stride + i] = sum;
    }
  }
}

void ItemScorer::score(const float* states, int rows, int state_stride, float* scores,
                       int score_stride) const {
  GRU4REC_CHECK(rows >= 0 && state_stride >= units_ && score_stride >= items_);
  if (precision_ == WeightPrecision::kFloat32) {
    score_items(ScorerProblem<float>{states, rows, state_stride, packed32_.data(), bias_.data(),
                                     units_, items_, panels_, scores, score_stride});
  } else {
    score_items(ScorerProblem<uint16_t>{states, rows, state_stride, packed16_.data(), bias_.data(),
                                        units_, items_, panels_, scores, score_stride});
  }
}

const char* ItemScorer::kernel_name() {
  return scorer_kernel_target();
}

}  // namespace gru4rec
