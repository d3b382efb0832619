// ItemScorer's product, once per SIMD target (Google Highway): AVX-512, AVX2+FMA, SSE4, SSSE3
// and portable 128-bit emulation where the library is built for the x86-64 baseline (the best
// one the CPU supports is chosen on the first call), and only the target of the level the
// library copy is compiled for otherwise (HWY_COMPILE_ONLY_STATIC).
//
// This file is included once per target by hwy/foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "model/item_scorer_kernels.cpp"
#include "model/item_scorer_kernels.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <type_traits>

HWY_BEFORE_NAMESPACE();
namespace gru4rec {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D>
HWY_INLINE hn::Vec<D> load_weights(D d, const float* at) {
  return hn::Load(d, at);
}
template <class D>
HWY_INLINE hn::Vec<D> load_weights(D d, const uint16_t* at) {
  const hn::Rebind<hwy::float16_t, D> half;
  return hn::PromoteTo(d, hn::Load(half, reinterpret_cast<const hwy::float16_t*>(at)));
}

template <class D>
HWY_INLINE hn::Vec<D> load_weights(D d, const int8_t* at) {
  const hn::RebindToSigned<D> di;
  const hn::Rebind<int8_t, D> bytes;
  return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(bytes, at)));
}

// Register blocking for this target: each block is kPanels panels of 16 items (kVectors
// vectors per unit) times kRows states, all kVectors x kRows sums held in registers over one
// pass through the units. AVX-512 (32 registers of 16 floats): 2 panels x 8 states; AVX2 (16
// registers of 8 floats): 1 panel x 6 states; 128-bit targets: 1 panel x 2 states.
template <class D>
struct Blocking {
  static constexpr int kLanes = static_cast<int>(hn::MaxLanes(D()));
  static constexpr int kRegisters = HWY_TARGET <= HWY_AVX3 ? 32 : 16;
  static constexpr int kPanels = kLanes >= kScorerPanel ? 2 : 1;
  static constexpr int kVectors = kPanels * kScorerPanel / kLanes;
  static constexpr int kRows = std::clamp((kRegisters - kVectors - 2) / kVectors, 1, 8);
  static_assert(kLanes <= kScorerPanel && kScorerPanel % kLanes == 0);
};

// States [0, kRows) against the panels [first, last) (last - first a multiple of kPanels).
template <int kRows, class D, typename Weight>
HWY_INLINE void score_rows(D d, const ScorerProblem<Weight>& p, const float* states, float* scores,
                           int first, int last) {
  using B = Blocking<D>;
  constexpr int kVectors = B::kVectors;
  constexpr int kLanes = B::kLanes;
  const ptrdiff_t panel_size = static_cast<ptrdiff_t>(p.units) * kScorerPanel;
  for (int panel = first; panel < last; panel += B::kPanels) {
    const Weight* weights = p.packed + panel * panel_size;
    const float* bias = p.bias + panel * kScorerPanel;
    // Vector v covers items [v * kLanes, (v + 1) * kLanes) of the block: panel v * kLanes / 16,
    // offset v * kLanes % 16 within it.
    // Scaled weights (int8): the sums start from zero, scaled and biased at the end.
    constexpr bool kScaled = std::is_same_v<Weight, int8_t>;
    hn::Vec<D> sums[kRows][kVectors];
    for (int v = 0; v < kVectors; ++v) {
      const auto b = kScaled ? hn::Zero(d) : hn::Load(d, bias + v * kLanes);
      for (int r = 0; r < kRows; ++r) sums[r][v] = b;
    }
    for (int u = 0; u < p.units; ++u) {
      hn::Vec<D> w[kVectors];
      for (int v = 0; v < kVectors; ++v) {
        const int item = v * kLanes;
        w[v] = load_weights(d, weights + (item / kScorerPanel) * panel_size + u * kScorerPanel +
                                   item % kScorerPanel);
      }
      for (int r = 0; r < kRows; ++r) {
        const auto x = hn::Set(d, states[r * p.state_stride + u]);
        for (int v = 0; v < kVectors; ++v) sums[r][v] = hn::MulAdd(x, w[v], sums[r][v]);
      }
    }
    if constexpr (kScaled) {
      const float* scale = p.scale + panel * kScorerPanel;
      for (int v = 0; v < kVectors; ++v) {
        const auto s = hn::Load(d, scale + v * kLanes), b = hn::Load(d, bias + v * kLanes);
        for (int r = 0; r < kRows; ++r) sums[r][v] = hn::MulAdd(sums[r][v], s, b);
      }
    }
    const int block_item = panel * kScorerPanel;
    for (int v = 0; v < kVectors; ++v) {
      const int valid = p.items - (block_item + v * kLanes);
      if (valid <= 0) break;
      for (int r = 0; r < kRows; ++r) {
        float* out = scores + static_cast<ptrdiff_t>(r) * p.score_stride + block_item + v * kLanes;
        if (valid >= kLanes)
          hn::StoreU(sums[r][v], d, out);
        else
          hn::BlendedStore(sums[r][v], hn::FirstN(d, static_cast<size_t>(valid)), d, out);
      }
    }
  }
}

template <typename Weight>
HWY_INLINE void score_all(const ScorerProblem<Weight>& p) {
  const hn::ScalableTag<float> d;
  using B = Blocking<decltype(d)>;
  // 32 panels (200 KB of float32 weights for 100 units) stay in L2 while every group of
  // states goes over them: the item matrix is read from memory once per call.
  constexpr int kChunk = 32;
  static_assert(kChunk % B::kPanels == 0);
  for (int first = 0; first < p.panels; first += kChunk) {
    const int last = std::min(p.panels, first + kChunk);
    for (int r = 0; r < p.rows; r += B::kRows) {
      const float* states = p.states + static_cast<ptrdiff_t>(r) * p.state_stride;
      float* scores = p.scores + static_cast<ptrdiff_t>(r) * p.score_stride;
      const int rows = std::min(B::kRows, p.rows - r);
      // Full groups take the fast path; the last group's row count is a template argument too.
      [&]<int... kCounts>(std::integer_sequence<int, kCounts...>) {
        ((rows == kCounts + 1 ? score_rows<kCounts + 1>(d, p, states, scores, first, last)
                              : void()),
         ...);
      }
      (std::make_integer_sequence<int, B::kRows>());
    }
  }
}

void ScoreFloat32(const ScorerProblem<float>& problem) {
  score_all(problem);
}
void ScoreFloat16(const ScorerProblem<uint16_t>& problem) {
  score_all(problem);
}
void ScoreInt8(const ScorerProblem<int8_t>& problem) {
  score_all(problem);
}
const char* KernelTarget() {
  return hwy::TargetName(HWY_TARGET);
}

size_t FindAbove(const float* HWY_RESTRICT scores, size_t n, float threshold) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const auto limit = hn::Set(d, threshold);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const intptr_t first = hn::FindFirstTrue(d, hn::Gt(hn::LoadU(d, scores + i), limit));
    if (first >= 0) return i + static_cast<size_t>(first);
  }
  for (; i < n; ++i) {
    if (scores[i] > threshold) return i;
  }
  return n;
}

}  // namespace HWY_NAMESPACE
}  // namespace gru4rec
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gru4rec {

HWY_EXPORT(ScoreFloat32);
HWY_EXPORT(ScoreFloat16);
HWY_EXPORT(ScoreInt8);
HWY_EXPORT(KernelTarget);
HWY_EXPORT(FindAbove);

void score_items(const ScorerProblem<float>& problem) {
  HWY_DYNAMIC_DISPATCH(ScoreFloat32)(problem);
}
void score_items(const ScorerProblem<uint16_t>& problem) {
  HWY_DYNAMIC_DISPATCH(ScoreFloat16)(problem);
}
void score_items(const ScorerProblem<int8_t>& problem) {
  HWY_DYNAMIC_DISPATCH(ScoreInt8)(problem);
}
size_t find_above(const float* scores, size_t n, float threshold) {
  return HWY_DYNAMIC_DISPATCH(FindAbove)(scores, n, threshold);
}

const char* scorer_kernel_target() {
  return HWY_DYNAMIC_DISPATCH(KernelTarget)();
}

std::vector<int64_t> scorer_kernel_targets() {
  return hwy::SupportedAndGeneratedTargets();
}

}  // namespace gru4rec
#endif  // HWY_ONCE
