#include "gru4rec/core/cpu_info.h"

#include <cpuid.h>
#include <dlfcn.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "core/fma_peak_kernels.h"
#include "gru4rec/core/cpu_budget.h"
#include "gru4rec/core/error.h"
#include "model/item_scorer_kernels.h"

#ifndef GRU4REC_CPU_LEVEL
#define GRU4REC_CPU_LEVEL "unknown"
#endif

namespace gru4rec {
namespace {

std::string trimmed(std::string text) {
  text.erase(std::find(text.begin(), text.end(), '\0'), text.end());
  const auto first = text.find_first_not_of(' ');
  const auto last = text.find_last_not_of(' ');
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

}  // namespace

CpuInfo detect_cpu() {
  CpuInfo info;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d)) {
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    info.vendor = vendor;
  }
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    const unsigned base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    info.family =
        static_cast<int>(base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family);
    info.model_number = static_cast<int>(base_family == 0x6 || base_family == 0xf
                                             ? base_model | (((a >> 16) & 0xf) << 4)
                                             : base_model);
  }
  unsigned max_extended = __get_cpuid_max(0x80000000u, nullptr);
  if (max_extended >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      unsigned regs[4];
      __get_cpuid(0x80000002u + leaf, &regs[0], &regs[1], &regs[2], &regs[3]);
      std::memcpy(brand + 16 * leaf, regs, 16);
    }
    info.model = trimmed(brand);
  }
  info.logical_cores = cpu_budget().cores;

  // __builtin_cpu_supports also checks that the OS saves the vector registers (XCR0).
  __builtin_cpu_init();
#if defined(__clang__) && __clang_major__ < 16
  // clang 14 (the fuzz build's compiler) knows neither "f16c" nor the x86-64 levels there: F16C
  // from CPUID (its registers are AVX's, whose saving the builtin checks), the levels from
  // their features.
  const auto cpuid_bit = [](unsigned leaf, int reg, int bit) {
    unsigned r[4] = {};
    return __get_cpuid(leaf, &r[0], &r[1], &r[2], &r[3]) != 0 && ((r[reg] >> bit) & 1) != 0;
  };
  const bool f16c = __builtin_cpu_supports("avx") && cpuid_bit(1, 2, 29);
  const bool v2 = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt") &&
                  __builtin_cpu_supports("ssse3");
  const bool v3 = v2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c &&
                  __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                  cpuid_bit(1, 2, 22) /* movbe */ && cpuid_bit(0x80000001u, 2, 5) /* lzcnt */;
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
#else
  const bool f16c = __builtin_cpu_supports("f16c");
  const bool v4 = __builtin_cpu_supports("x86-64-v4"), v3 = __builtin_cpu_supports("x86-64-v3"),
             v2 = __builtin_cpu_supports("x86-64-v2");
#endif
#define GRU4REC_ISA(name) \
  if (__builtin_cpu_supports(name)) info.isa.emplace_back(name)
  GRU4REC_ISA("sse4.2");
  GRU4REC_ISA("avx");
  GRU4REC_ISA("avx2");
  GRU4REC_ISA("fma");
  if (f16c) info.isa.emplace_back("f16c");
  GRU4REC_ISA("avx512f");
  GRU4REC_ISA("avx512bw");
  GRU4REC_ISA("avx512dq");
  GRU4REC_ISA("avx512vl");
  GRU4REC_ISA("avx512vnni");
  GRU4REC_ISA("avx512bf16");
#undef GRU4REC_ISA
  info.best_level = v4 ? "x86-64-v4" : v3 ? "x86-64-v3" : v2 ? "x86-64-v2" : "x86-64";
  return info;
}

LibraryBuild library_build() {
  LibraryBuild build;
  build.level = GRU4REC_CPU_LEVEL;
  Dl_info where{};
  if (dladdr(reinterpret_cast<void*>(&library_build), &where) != 0 && where.dli_fname != nullptr) {
    build.path = where.dli_fname;
  }
  // Eigen::SimdInstructionSetsInUse() says "AVX" for AVX2 builds: read Eigen's own switches.
#if defined(EIGEN_VECTORIZE_AVX512)
  build.eigen_simd = "AVX-512";
#elif defined(EIGEN_VECTORIZE_AVX2)
  build.eigen_simd = "AVX2";
#elif defined(EIGEN_VECTORIZE_AVX)
  build.eigen_simd = "AVX";
#elif defined(EIGEN_VECTORIZE_SSE4_2)
  build.eigen_simd = "SSE4.2";
#elif defined(EIGEN_VECTORIZE_SSE2)
  build.eigen_simd = "SSE2";
#else
  build.eigen_simd = "none";
#endif
#if defined(EIGEN_VECTORIZE_FMA)
  build.eigen_simd += "+FMA";
#endif
  build.scorer_kernel = scorer_kernel_target();
  return build;
}

double measure_read_bandwidth(size_t bytes, double seconds) {
  GRU4REC_CHECK(bytes >= 4096 && seconds > 0);
  using Clock = std::chrono::steady_clock;
  const size_t n = bytes / sizeof(float) / 64 * 64;
  std::vector<float> buffer(n, 1.0f);  // written: every page is mapped before the passes
  double best = 0;
  const auto start = Clock::now();
  for (int pass = 0;
       pass < 3 || std::chrono::duration<double>(Clock::now() - start).count() < seconds; ++pass) {
    const auto pass_start = Clock::now();
    volatile float sink = stream_sum(buffer.data(), n);
    (void)sink;
    const double elapsed = std::chrono::duration<double>(Clock::now() - pass_start).count();
    best = std::max(best, static_cast<double>(n * sizeof(float)) / std::max(elapsed, 1e-9) / 1e9);
    if (pass > 100000) break;
  }
  return best;
}

FmaPeak measure_fma_peak(int threads, double seconds) {
  GRU4REC_CHECK(threads >= 1 && seconds > 0);
  using Clock = std::chrono::steady_clock;
  constexpr int kRounds = 5;
  // Calibrate one round to about seconds / kRounds on one thread.
  int64_t iterations = 1 << 16;
  for (;;) {
    const auto start = Clock::now();
    volatile float sink = fma_chains(iterations, 1.0f);
    (void)sink;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed >= seconds / kRounds / 4 || iterations >= (int64_t{1} << 34)) {
      iterations =
          std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(iterations) * seconds /
                                                    kRounds / std::max(elapsed, 1e-9)));
      break;
    }
    iterations *= 4;
  }
  const double flops_per_thread = 2.0 * static_cast<double>(iterations) * kFmaChains * fma_lanes();
  double best = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<double> elapsed(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const auto start = Clock::now();
        volatile float sink = fma_chains(iterations, 1.0f + static_cast<float>(t));
        (void)sink;
        elapsed[static_cast<size_t>(t)] =
            std::chrono::duration<double>(Clock::now() - start).count();
      });
    }
    for (auto& thread : pool) thread.join();
    // All threads' work over the slowest thread's time.
    const double slowest = *std::max_element(elapsed.begin(), elapsed.end());
    best = std::max(best, flops_per_thread * threads / slowest / 1e9);
  }
  FmaPeak peak;
  peak.gflops = best;
  peak.threads = threads;
  peak.vector_width = std::to_string(32 * fma_lanes()) + "-bit";
  return peak;
}

}  // namespace gru4rec
