#include "gru4rec/model/item_scorer.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gru4rec/core/cpu_info.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"
#include "gru4rec/model/top_k.h"
#include "model/item_scorer_kernels.h"

namespace gru4rec {
namespace {

TEST(HalfFloat, HandPickedValues) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);               // largest half
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);               // rounds down to it
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);               // rounds up to infinity
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // a tie: to even (zero)
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_half(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie: to even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie: to even (up)
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(half_to_float(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
}

TEST(HalfFloat, EveryHalfSurvivesTheRoundTrip) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto half = static_cast<uint16_t>(h);
    const float value = half_to_float(half);
    if (std::isnan(value)) continue;
    ASSERT_EQ(float_to_half(value), half) << h;
  }
}

// The CPU's conversion instructions, where it has them (the tests are built for the x86-64
// baseline).
__attribute__((target("f16c"))) float hardware_half_to_float(uint16_t half) {
  return _cvtsh_ss(half);
}
__attribute__((target("f16c"))) uint16_t hardware_float_to_half(float value) {
  return _cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT);
}

TEST(HalfFloat, AgreesWithTheHardwareConversion) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "this CPU has no F16C";
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto half = static_cast<uint16_t>(h);
    const float mine = half_to_float(half), hardware = hardware_half_to_float(half);
    if (std::isnan(hardware)) {
      ASSERT_TRUE(std::isnan(mine)) << h;
      continue;
    }
    ASSERT_EQ(std::bit_cast<uint32_t>(mine), std::bit_cast<uint32_t>(hardware)) << h;
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 1'000'000; ++i) {
    const float value = std::bit_cast<float>(bits(rng));
    if (std::isnan(value)) continue;
    ASSERT_EQ(float_to_half(value), hardware_float_to_half(value)) << value;
  }
}

struct Problem {
  MatrixR<float> weights;
  std::vector<float> bias;
  MatrixR<float> states;
};

Problem random_problem(int items, int units, int rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Problem p{MatrixR<float>(items, units), std::vector<float>(static_cast<size_t>(items)),
            MatrixR<float>(rows, units + 3)};  // states spaced wider than the units
  for (Eigen::Index i = 0; i < p.weights.size(); ++i) p.weights.data()[i] = uniform(rng);
  for (float& b : p.bias) b = uniform(rng);
  for (Eigen::Index i = 0; i < p.states.size(); ++i) p.states.data()[i] = uniform(rng);
  return p;
}

// scores[r][i] in double precision, from the unpacked weights.
double reference_score(const Problem& p, int r, int i) {
  double sum = p.bias[static_cast<size_t>(i)];
  for (Eigen::Index u = 0; u < p.weights.cols(); ++u)
    sum += static_cast<double>(p.states(r, u)) * p.weights(i, u);
  return sum;
}

// Runs `check` once per SIMD kernel of this copy of the library that the CPU supports (on the
// x86-64 baseline copy: AVX-512, AVX2, SSE4, SSSE3 and the portable emulation), forcing
// score()'s choice, then gives the choice back to the CPU.
template <typename Check>
void for_each_kernel(Check check) {
  const std::vector<int64_t> targets = scorer_kernel_targets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    EXPECT_STREQ(ItemScorer::kernel_name(), hwy::TargetName(target));
    // With fused multiply-adds a kernel does the portable loop's operations exactly.
    check((target & (HWY_AVX2 | HWY_AVX3 | HWY_AVX3_DL)) != 0);
  }
  hwy::SetSupportedTargetsForTest(0);
}

// The kernels the tests below run are those this copy of the library compiled and the CPU
// supports. Which ones that should be follows from the copy's level and the CPU alone: the
// x86-64 copy dispatches at run time among AVX-512 (Highway's AVX3), AVX2 and lower targets;
// the x86-64-v3 and -v4 copies hold their level's kernel only. A kernel that should be there
// and is not fails under CI (skipped otherwise); kernels this CPU cannot run are named in a
// skip, so that a run on an AVX2-only CPU says that the AVX-512 kernel went untested.
TEST(ItemScorer, TheKernelsThisCopyShouldHaveAreAllTestedOnThisCpu) {
  const bool cpu_avx3 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const bool cpu_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                        __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c");
  const std::string level = library_build().level;
  struct Kernel {
    int64_t target;
    const char* name;
    bool in_copy, on_cpu;
  };
  const std::vector<Kernel> kernels = {
      {HWY_AVX3, "AVX3 (AVX-512)", level == "x86-64" || level == "x86-64-v4", cpu_avx3},
      {HWY_AVX2, "AVX2", level == "x86-64" || level == "x86-64-v3", cpu_avx2}};
  const std::vector<int64_t> tested = scorer_kernel_targets();
  std::vector<std::string> ran_names, untestable_names, missing_names;
  for (int64_t target : tested) ran_names.emplace_back(hwy::TargetName(target));
  for (const Kernel& kernel : kernels) {
    if (!kernel.in_copy) continue;
    const bool present = std::find(tested.begin(), tested.end(), kernel.target) != tested.end();
    if (!kernel.on_cpu) {
      untestable_names.emplace_back(kernel.name);
      EXPECT_FALSE(present) << kernel.name << " reported as runnable on a CPU without it";
    } else if (!present) {
      missing_names.emplace_back(kernel.name);
    }
  }
  const std::string ran = join(ran_names, ", "), untestable = join(untestable_names, ", "),
                    missing = join(missing_names, ", ");
  std::printf("library copy %s; scorer kernels tested: %s\n", level.c_str(), ran.c_str());
  RecordProperty("scorer_kernels_tested", ran);
  if (!missing.empty()) {
    const std::string message = "the " + level + " copy lacks the kernel(s) " + missing +
                                " that this CPU supports (tested: " + ran + ")";
    if (std::getenv("CI") != nullptr) FAIL() << message;
    GTEST_SKIP() << message;
  }
  if (!untestable.empty()) {
    GTEST_SKIP() << "not tested on this CPU, which cannot run them: " << untestable
                 << " (tested: " << ran << ")";
  }
}

TEST(ItemScorer, EveryKernelMatchesTheProductForEveryBatchSizeAndAnItemCountOffThePanels) {
  for_each_kernel([](bool fused) {
    // 1,001 items: 62.56 panels, an odd count, padded twice; rows cover every register group.
    const int items = 1001, units = 37, stride = items + 5;
    for (int rows : {1, 2, 3, 5, 6, 7, 8, 9, 16, 21, 32}) {
      const Problem p = random_problem(items, units, rows, static_cast<uint32_t>(rows));
      const ItemScorer scorer(p.weights, p.bias);
      const float sentinel = -12345.0f;
      std::vector<float> fast(static_cast<size_t>(rows) * stride, sentinel);
      std::vector<float> portable(fast);
      scorer.score(p.states.data(), rows, static_cast<int>(p.states.cols()), fast.data(), stride);
      scorer.score_portable(p.states.data(), rows, static_cast<int>(p.states.cols()),
                            portable.data(), stride);
      for (int r = 0; r < rows; ++r) {
        for (int i = 0; i < stride; ++i) {
          const size_t at = static_cast<size_t>(r) * stride + static_cast<size_t>(i);
          if (i >= items) {  // past the items: untouched
            ASSERT_EQ(fast[at], sentinel) << r << " " << i;
            continue;
          }
          if (fused) {
            ASSERT_EQ(fast[at], portable[at]) << "rows " << rows << " row " << r << " item " << i;
          }
          ASSERT_NEAR(fast[at], reference_score(p, r, i), 1e-4) << r << " " << i;
        }
      }
    }
  });
}

TEST(ItemScorer, EveryKernelKeepsHalfPrecisionWeightsWithinTheirRounding) {
  for_each_kernel([](bool fused) {
    const int items = 5000, units = 100, rows = 5;
    const Problem p = random_problem(items, units, rows, 11);
    const ItemScorer exact(p.weights, p.bias), half(p.weights, p.bias, WeightPrecision::kFloat16);
    // 5,000 items: 312.5 panels of 16, so 314 (an even count); the bias stays float32.
    const size_t panels = 314, bias_bytes = panels * 16 * 4;
    EXPECT_EQ(exact.bytes(), panels * 16 * units * 4 + bias_bytes);
    EXPECT_EQ(half.bytes(), panels * 16 * units * 2 + bias_bytes);
    std::vector<float> a(static_cast<size_t>(rows) * items), b(a.size()), c(a.size());
    exact.score(p.states.data(), rows, static_cast<int>(p.states.cols()), a.data(), items);
    half.score(p.states.data(), rows, static_cast<int>(p.states.cols()), b.data(), items);
    half.score_portable(p.states.data(), rows, static_cast<int>(p.states.cols()), c.data(), items);
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (fused) {
        ASSERT_EQ(b[i], c[i]) << i;
      }
      ASSERT_NEAR(b[i], c[i], 1e-4) << i;
      worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
    }
    // Each weight is off by at most 2^-11 relative (|w| < 1), 100 terms with |state| < 1.
    EXPECT_LT(worst, 100 * std::ldexp(1.0, -11));
    EXPECT_GT(worst, 0.0);  // the weights were rounded
  });
}

TEST(ItemScorer, EveryKernelKeepsInt8WeightsWithinHalfAStepOfTheirItemsScale) {
  for_each_kernel([](bool fused) {
    const int items = 5000, units = 100, rows = 9;  // an AVX-512 block of 8 states and one more
    Problem p = random_problem(items, units, rows, 12);
    p.weights.row(7).setZero();  // a zero row: scale 1, every weight 0
    p.weights.row(8) *= 1e-3f;   // a small row keeps its relative precision
    p.weights(9, 3) = 50.0f;     // one large weight: the row's step is large
    const ItemScorer exact(p.weights, p.bias), bytes(p.weights, p.bias, WeightPrecision::kInt8);
    const size_t panels = 314;
    EXPECT_EQ(bytes.bytes(), panels * 16 * units + 2 * panels * 16 * 4);  // weights, bias, scale
    std::vector<float> a(static_cast<size_t>(rows) * items), b(a.size()), c(a.size());
    const int stride = static_cast<int>(p.states.cols());
    exact.score(p.states.data(), rows, stride, a.data(), items);
    bytes.score(p.states.data(), rows, stride, b.data(), items);
    bytes.score_portable(p.states.data(), rows, stride, c.data(), items);
    bool rounded = false;
    for (int r = 0; r < rows; ++r) {
      const double state_sum = p.states.row(r).head(units).cwiseAbs().sum();
      for (int i = 0; i < items; ++i) {
        const size_t at = static_cast<size_t>(r) * items + static_cast<size_t>(i);
        if (fused) {
          ASSERT_EQ(b[at], c[at]) << r << " " << i;
        }
        ASSERT_NEAR(b[at], c[at], 1e-4) << r << " " << i;
        // Each weight within half a step (largest |weight| / 254) of its own; the sums in float.
        const double step = p.weights.row(i).cwiseAbs().maxCoeff() / 127.0;
        const double error = std::abs(static_cast<double>(b[at]) - reference_score(p, r, i));
        ASSERT_LE(error, step / 2 * state_sum + 1e-4) << r << " " << i;
        rounded = rounded || std::abs(a[at] - b[at]) > 1e-5f;
      }
      EXPECT_EQ(b[static_cast<size_t>(r) * items + 7], p.bias[7]);  // the zero row
    }
    EXPECT_TRUE(rounded);
  });
}

// Rows int8 cannot hold: one with a NaN or an infinity scores NaN (never recommended: top_k
// skips NaN), as it does in float32; one too small for a normal scale scores its bias.
TEST(ItemScorer, Int8RowsThatCannotBeScaledScoreNaNOrTheirBias) {
  for_each_kernel([](bool) {
    const int items = 40, units = 20, rows = 2;
    Problem p = random_problem(items, units, rows, 13);
    p.weights(3, 5) = std::numeric_limits<float>::quiet_NaN();
    p.weights(4, 0) = std::numeric_limits<float>::infinity();
    p.weights.row(5) *= 1e-40f;  // subnormal weights: a step of 1e-42 is no normal float
    const ItemScorer bytes(p.weights, p.bias, WeightPrecision::kInt8);
    std::vector<float> scores(static_cast<size_t>(rows) * items), portable(scores.size());
    const int stride = static_cast<int>(p.states.cols());
    bytes.score(p.states.data(), rows, stride, scores.data(), items);
    bytes.score_portable(p.states.data(), rows, stride, portable.data(), items);
    for (int r = 0; r < rows; ++r) {
      const float* row = scores.data() + static_cast<size_t>(r) * items;
      EXPECT_TRUE(std::isnan(row[3])) << row[3];
      EXPECT_TRUE(std::isnan(row[4])) << row[4];
      EXPECT_TRUE(std::isnan(portable[static_cast<size_t>(r) * items + 3]));
      EXPECT_EQ(row[5], p.bias[5]);
      std::vector<ScoredItem> top(items);
      const size_t found = top_k(std::span<const float>(row, items), items, top);
      EXPECT_EQ(found, static_cast<size_t>(items - 2));  // every item but the NaN ones
      for (size_t t = 0; t < found; ++t) EXPECT_TRUE(top[t].item != 3 && top[t].item != 4);
    }
  });
}

TEST(WeightPrecision, NamesReadBackAndABadOneIsAClearError) {
  for (auto p : {WeightPrecision::kFloat32, WeightPrecision::kFloat16, WeightPrecision::kInt8})
    EXPECT_EQ(parse_weight_precision(weight_precision_name(p)), p);
  EXPECT_EQ(weight_bytes_per_item(WeightPrecision::kInt8, 100), 104);
  try {
    parse_weight_precision("int4");
    ADD_FAILURE() << "int4 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected float32, float16 or int8"), std::string::npos);
  }
}

}  // namespace
}  // namespace gru4rec
