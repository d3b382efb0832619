#include "gru4rec/core/cpu_info.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "gru4rec/model/item_scorer.h"

namespace gru4rec {
namespace {

bool has(const std::vector<std::string>& sets, const std::string& name) {
  return std::find(sets.begin(), sets.end(), name) != sets.end();
}

TEST(CpuInfo, DescribesTheCpu) {
  const CpuInfo cpu = detect_cpu();
  EXPECT_FALSE(cpu.vendor.empty());
  EXPECT_GE(cpu.logical_cores, 1);
  // The levels are nested: v4 implies the AVX2 and FMA of v3.
  if (cpu.best_level == "x86-64-v4") {
    EXPECT_TRUE(has(cpu.isa, "avx512f"));
  }
  if (cpu.best_level == "x86-64-v4" || cpu.best_level == "x86-64-v3") {
    EXPECT_TRUE(has(cpu.isa, "avx2"));
    EXPECT_TRUE(has(cpu.isa, "fma"));
  }
}

// The loader loads the copy of the library for the best level of the CPU; CTest also runs this
// binary with that level masked (GLIBC_TUNABLES) and names the copy it expects.
TEST(LibraryBuild, IsTheCopyForThisCpu) {
  const LibraryBuild build = library_build();
  EXPECT_NE(build.path.find("libgru4rec"), std::string::npos) << build.path;
  EXPECT_FALSE(build.scorer_kernel.empty());
  EXPECT_STREQ(build.scorer_kernel.c_str(), ItemScorer::kernel_name());
  std::string expected;
  if (const char* masked = std::getenv("GRU4REC_EXPECT_LEVEL"); masked != nullptr) {
    expected = masked;
    const bool supported = expected == "x86-64-v4"   ? __builtin_cpu_supports("x86-64-v4")
                           : expected == "x86-64-v3" ? __builtin_cpu_supports("x86-64-v3")
                                                     : true;
    if (!supported) GTEST_SKIP() << "this CPU is not " << expected;
  } else {
    // No level masked: the best level of the CPU, when the build has a copy for it.
    expected = detect_cpu().best_level;
    if (std::string(GRU4REC_TEST_CPU_LEVELS).find(expected) == std::string::npos)
      GTEST_SKIP() << "no copy for " << expected << " in this build; loaded " << build.path;
  }
  EXPECT_EQ(build.level, expected) << build.path;
  // Eigen's kernels in that copy use the level's widest vectors.
  if (build.level == "x86-64-v4") {
    EXPECT_EQ(build.eigen_simd, "AVX-512+FMA");
    EXPECT_STREQ(ItemScorer::kernel_name(), "AVX3");
  }
  if (build.level == "x86-64-v3") {
    EXPECT_EQ(build.eigen_simd, "AVX2+FMA");
    EXPECT_STREQ(ItemScorer::kernel_name(), "AVX2");
  }
}

TEST(FmaPeak, IsMeasuredOnEveryThread) {
  const FmaPeak one = measure_fma_peak(1, 0.05);
  EXPECT_GT(one.gflops, 0.5);  // any x86-64 core of this century does several GFLOP/s
  EXPECT_EQ(one.threads, 1);
  EXPECT_FALSE(one.vector_width.empty());
  const FmaPeak two = measure_fma_peak(2, 0.05);
  EXPECT_EQ(two.threads, 2);
  EXPECT_GT(two.gflops, 0.5);
}

}  // namespace
}  // namespace gru4rec
