#include "gru4rec/model/item_scorer.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

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

const char* weight_precision_name(WeightPrecision precision) {
  switch (precision) {
    case WeightPrecision::kFloat32: return "float32";
    case WeightPrecision::kFloat16: return "float16";
    case WeightPrecision::kInt8: return "int8";
  }
  return "?";
}

WeightPrecision parse_weight_precision(std::string_view name) {
  for (auto p : {WeightPrecision::kFloat32, WeightPrecision::kFloat16, WeightPrecision::kInt8}) {
    if (name == weight_precision_name(p)) return p;
  }
  throw Error(fmt::format("item weights '{}': expected float32, float16 or int8", name));
}

double weight_bytes_per_item(WeightPrecision precision, int units) {
  switch (precision) {
    case WeightPrecision::kFloat32: return 4.0 * units;
    case WeightPrecision::kFloat16: return 2.0 * units;
    case WeightPrecision::kInt8: return 1.0 * units + 4;
  }
  return 0;
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
  else if (precision_ == WeightPrecision::kFloat16)
    packed16_.assign(size, 0);
  else
    packed8_.assign(size, 0);
  if (precision_ == WeightPrecision::kInt8) {
    // A row with a NaN or an infinity scores NaN (never recommended, as its float32 score is
    // not a number either); a row too small for a normal scale scores as zeros (its bias).
    scale_.assign(static_cast<size_t>(panels_) * kPanel, 1.0f);
    for (int i = 0; i < items_; ++i) {
      if (!weights.row(i).allFinite()) {
        scale_[static_cast<size_t>(i)] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      const float step = weights.row(i).cwiseAbs().maxCoeff() / 127;
      if (std::isnormal(step)) scale_[static_cast<size_t>(i)] = step;
    }
  }
  for (int i = 0; i < items_; ++i) {
    for (int u = 0; u < units_; ++u) {
      const size_t at =
          (static_cast<size_t>(i / kPanel) * static_cast<size_t>(units_) + static_cast<size_t>(u)) *
              kPanel +
          static_cast<size_t>(i % kPanel);
      if (precision_ == WeightPrecision::kFloat32) {
        packed32_[at] = weights(i, u);
      } else if (precision_ == WeightPrecision::kFloat16) {
        packed16_[at] = float_to_half(weights(i, u));
      } else {
        const float scale = scale_[static_cast<size_t>(i)];
        const float steps = std::nearbyint(weights(i, u) / scale);
        packed8_[at] = std::isfinite(steps)  // NaN scale, or a row scored as zeros
                           ? static_cast<int8_t>(std::clamp(steps, -127.0f, 127.0f))
                           : int8_t{0};
      }
    }
  }
  bias_.assign(static_cast<size_t>(panels_) * kPanel, 0.0f);
  std::copy(bias.begin(), bias.end(), bias_.begin());
}

size_t ItemScorer::bytes() const {
  return packed32_.size() * sizeof(float) + packed16_.size() * sizeof(uint16_t) + packed8_.size() +
         (bias_.size() + scale_.size()) * sizeof(float);
}

float ItemScorer::weight(int64_t index) const {
  const auto at = static_cast<size_t>(index);
  switch (precision_) {
    case WeightPrecision::kFloat32: return packed32_[at];
    case WeightPrecision::kFloat16: return half_to_float(packed16_[at]);
    case WeightPrecision::kInt8: return static_cast<float>(packed8_[at]);
  }
  return 0;
}

void ItemScorer::score_portable(const float* states, int rows, int state_stride, float* scores,
                                int score_stride) const {
  GRU4REC_CHECK(rows >= 0 && state_stride >= units_ && score_stride >= items_);
  for (int r = 0; r < rows; ++r) {
    const float* state = states + static_cast<ptrdiff_t>(r) * state_stride;
    for (int i = 0; i < items_; ++i) {
      const int64_t panel_start = static_cast<int64_t>(i / kPanel) * units_ * kPanel + i % kPanel;
      // The same order of operations as the vectorized kernel: bias first (int8: last, after
      // the scale), then one fused multiply-add per unit.
      const bool scaled = precision_ == WeightPrecision::kInt8;
      float sum = scaled ? 0.0f : bias_[static_cast<size_t>(i)];
      for (int u = 0; u < units_; ++u)
        sum = std::fma(state[u], weight(panel_start + static_cast<int64_t>(u) * kPanel), sum);
      if (scaled)
        sum = std::fma(sum, scale_[static_cast<size_t>(i)], bias_[static_cast<size_t>(i)]);
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
  } else if (precision_ == WeightPrecision::kFloat16) {
    score_items(ScorerProblem<uint16_t>{states, rows, state_stride, packed16_.data(), bias_.data(),
                                        units_, items_, panels_, scores, score_stride});
  } else {
    score_items(ScorerProblem<int8_t>{states, rows, state_stride, packed8_.data(), bias_.data(),
                                      units_, items_, panels_, scores, score_stride,
                                      scale_.data()});
  }
}

const char* ItemScorer::kernel_name() {
  return scorer_kernel_target();
}

}  // namespace gru4rec
