// The CPU a program runs on, the copy of the library the loader chose for it, and the CPU's
// measured floating-point peak: the denominators of every speed figure.
//
// Thread-safe. measure_fma_peak() busies the calling thread (or `threads` threads) for about
// `seconds`; everything else is cheap.
#pragma once

#include <string>
#include <vector>

namespace gru4rec {

struct CpuInfo {
  std::string model;   // CPUID brand string, e.g. "AMD EPYC 7B13"
  std::string vendor;  // "AuthenticAMD", "GenuineIntel"
  int family = 0, model_number = 0;
  int logical_cores = 0;         // usable by this process (cpu_budget.h: affinity, cgroup quota)
  std::vector<std::string> isa;  // SIMD sets found, usable by the OS: "avx2", "avx512f", ...
  std::string best_level;        // best x86-64 level: "x86-64-v4", "x86-64-v3", ...
};
CpuInfo detect_cpu();

struct LibraryBuild {
  std::string level;          // x86-64 level this copy of libgru4rec was compiled for
  std::string path;           // the file the dynamic loader chose
  std::string eigen_simd;     // the instruction set Eigen's kernels use in this copy
  std::string scorer_kernel;  // SIMD target of the serving scorer (Highway's name)
};
LibraryBuild library_build();

struct FmaPeak {
  double gflops = 0;  // single-precision GFLOP/s (an FMA counts as two)
  int threads = 1;
  std::string vector_width;  // "512-bit", "256-bit", "128-bit"
};
// Peak FMA throughput with the widest vectors this library copy uses: independent chains of
// fused multiply-adds on every thread at once, the best of several rounds.
FmaPeak measure_fma_peak(int threads = 1, double seconds = 0.3);

// One core's read bandwidth in GB/s (1e9 bytes) over a buffer of `bytes`, read again and again
// for about `seconds`, the best pass: from DRAM with a buffer well past the last-level cache
// (256 MiB), from L3 with one past the core's L2 but within L3 (8 MiB).
double measure_read_bandwidth(size_t bytes, double seconds = 0.3);
inline constexpr size_t kDramProbeBytes = size_t{256} << 20;
inline constexpr size_t kL3ProbeBytes = size_t{8} << 20;

}  // namespace gru4rec
