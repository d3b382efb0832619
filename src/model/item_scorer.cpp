#include "gru4rec/model/item_scorer.h"

#include <algorithm>
#include <bit>
#include <cmath>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "gru4rec/core/error.h"

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
  panels_ += panels_ % 2;  // the kernel takes panels two at a time
  const auto size = static_cast<size_t>(panels_) * static_cast<size_t>(units_) * kPanel;
  if (precision_ == WeightPrecision::kFloat32)
    packed32_.assign(size, 0.0f);
  else
    packed16_.assign(size, 0);
  for (int i = 0; i < items_; ++i) {
    for (int u = 0; u < units_; ++u) {
      const size_t at = (static_cast<size_t>(i / kPanel) * static_cast<size_t>(units_) +
                         static_cast<size_t>(u)) * kPanel + static_cast<size_t>(i % kPanel);
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

#if defined(__AVX512F__)
namespace {

inline __m512 load_panel_row(const float* at) { return _mm512_load_ps(at); }
inline __m512 load_panel_row(const uint16_t* at) {
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(at)));
}

inline void store_scores(float* at, __m512 values, int valid) {
  if (valid >= ItemScorer::kPanel)
    _mm512_storeu_ps(at, values);
  else if (valid > 0)
    _mm512_mask_storeu_ps(at, static_cast<__mmask16>((1u << valid) - 1u), values);
}

// Rows [0, kRows) of the states against panels [first, last) (an even count): two panels of
// 16 items at a time, 2 x kRows accumulators in registers, one pass over the units.
template <int kRows, typename Weight>
void score_panels(const float* states, int state_stride, const Weight* packed, const float* bias,
                  int units, int items, int first, int last, float* scores, int score_stride) {
  constexpr int kPanel = ItemScorer::kPanel;
  for (int p = first; p < last; p += 2) {
    const Weight* panel0 = packed + static_cast<ptrdiff_t>(p) * units * kPanel;
    const Weight* panel1 = panel0 + static_cast<ptrdiff_t>(units) * kPanel;
    __m512 sum0[kRows], sum1[kRows];
    const __m512 bias0 = _mm512_load_ps(bias + p * kPanel);
    const __m512 bias1 = _mm512_load_ps(bias + (p + 1) * kPanel);
    for (int r = 0; r < kRows; ++r) {
      sum0[r] = bias0;
      sum1[r] = bias1;
    }
    for (int u = 0; u < units; ++u) {
      const __m512 w0 = load_panel_row(panel0 + u * kPanel);
      const __m512 w1 = load_panel_row(panel1 + u * kPanel);
      for (int r = 0; r < kRows; ++r) {
        const __m512 x = _mm512_set1_ps(states[r * state_stride + u]);
        sum0[r] = _mm512_fmadd_ps(x, w0, sum0[r]);
        sum1[r] = _mm512_fmadd_ps(x, w1, sum1[r]);
      }
    }
    const int valid0 = items - p * kPanel;
    for (int r = 0; r < kRows; ++r) {
      float* out = scores + static_cast<ptrdiff_t>(r) * score_stride + p * kPanel;
      store_scores(out, sum0[r], valid0);
      store_scores(out + kPanel, sum1[r], valid0 - kPanel);
    }
  }
}

template <typename Weight>
void score_avx512(const float* states, int rows, int state_stride, const Weight* packed,
                  const float* bias, int units, int items, int panels, float* scores,
                  int score_stride) {
  // 32 panels (200 KB of float32 weights for 100 units) stay in L2 while every group of up to
  // 8 states goes over them: the item matrix is read from memory once per call.
  constexpr int kChunk = 32;
  constexpr int kGroup = 8;
  for (int first = 0; first < panels; first += kChunk) {
    const int last = std::min(panels, first + kChunk);
    for (int r = 0; r < rows; r += kGroup) {
      const float* s = states + static_cast<ptrdiff_t>(r) * state_stride;
      float* out = scores + static_cast<ptrdiff_t>(r) * score_stride;
      const auto run = [&]<int kRows>() {
        score_panels<kRows>(s, state_stride, packed, bias, units, items, first, last, out,
                            score_stride);
      };
      switch (std::min(kGroup, rows - r)) {
        case 1: run.template operator()<1>(); break;
        case 2: run.template operator()<2>(); break;
        case 3: run.template operator()<3>(); break;
        case 4: run.template operator()<4>(); break;
        case 5: run.template operator()<5>(); break;
        case 6: run.template operator()<6>(); break;
        case 7: run.template operator()<7>(); break;
        default: run.template operator()<8>(); break;
      }
    }
  }
}

}  // namespace
#endif

void ItemScorer::score(const float* states, int rows, int state_stride, float* scores,
                       int score_stride) const {
#if defined(__AVX512F__)
  GRU4REC_CHECK(rows >= 0 && state_stride >= units_ && score_stride >= items_);
  if (precision_ == WeightPrecision::kFloat32)
    score_avx512(states, rows, state_stride, packed32_.data(), bias_.data(), units_, items_,
                 panels_, scores, score_stride);
  else
    score_avx512(states, rows, state_stride, packed16_.data(), bias_.data(), units_, items_,
                 panels_, scores, score_stride);
#else
  score_portable(states, rows, state_stride, scores, score_stride);
#endif
}

}  // namespace gru4rec
