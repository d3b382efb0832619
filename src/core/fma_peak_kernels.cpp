// The FMA-throughput loop of measure_fma_peak(), once per SIMD target (Google Highway), like
// the serving scorer: the peak is measured with the vectors the kernels use.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/fma_peak_kernels.cpp"
#include "core/fma_peak_kernels.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace gru4rec {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// kFmaChains independent chains: enough to cover the FMA latency (4 cycles) on two pipes, few
// enough to stay in 16 registers with the two operands.
float FmaChains(int64_t iterations, float seed) {
  const hn::ScalableTag<float> d;
  const auto scale = hn::Set(d, 0.999999f);
  const auto step = hn::Set(d, 1e-7f);
  hn::Vec<decltype(d)> a[kFmaChains];
  for (int c = 0; c < kFmaChains; ++c) a[c] = hn::Set(d, seed + static_cast<float>(c));
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kFmaChains; ++c) a[c] = hn::MulAdd(a[c], scale, step);
  }
  auto sum = a[0];
  for (int c = 1; c < kFmaChains; ++c) sum = hn::Add(sum, a[c]);
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

int FmaLanes() {
  return static_cast<int>(hn::Lanes(hn::ScalableTag<float>()));
}

// Reads `n` floats (n a multiple of 4 vectors) with four independent sums: the loads, not the
// adds, bound it.
float StreamSum(const float* HWY_RESTRICT data, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  for (size_t i = 0; i + 4 * lanes <= n; i += 4 * lanes) {
    s0 = hn::Add(s0, hn::LoadU(d, data + i));
    s1 = hn::Add(s1, hn::LoadU(d, data + i + lanes));
    s2 = hn::Add(s2, hn::LoadU(d, data + i + 2 * lanes));
    s3 = hn::Add(s3, hn::LoadU(d, data + i + 3 * lanes));
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
}

}  // namespace HWY_NAMESPACE
}  // namespace gru4rec
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gru4rec {

HWY_EXPORT(FmaChains);
HWY_EXPORT(FmaLanes);
HWY_EXPORT(StreamSum);

float fma_chains(int64_t iterations, float seed) {
  return HWY_DYNAMIC_DISPATCH(FmaChains)(iterations, seed);
}
int fma_lanes() {
  return HWY_DYNAMIC_DISPATCH(FmaLanes)();
}
float stream_sum(const float* data, size_t n) {
  return HWY_DYNAMIC_DISPATCH(StreamSum)(data, n);
}

}  // namespace gru4rec
#endif  // HWY_ONCE
