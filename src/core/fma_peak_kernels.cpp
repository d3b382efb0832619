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

}  // namespace HWY_NAMESPACE
}  // namespace gru4rec
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gru4rec {

HWY_EXPORT(FmaChains);
HWY_EXPORT(FmaLanes);

float fma_chains(int64_t iterations, float seed) {
  return HWY_DYNAMIC_DISPATCH(FmaChains)(iterations, seed);
}
int fma_lanes() {
  return HWY_DYNAMIC_DISPATCH(FmaLanes)();
}

}  // namespace gru4rec
#endif  // HWY_ONCE
