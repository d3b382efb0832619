// Measures the other way to train on several cores: splitting each step's products across
// threads (Eigen's OpenMP-parallel GEMM) instead of running one worker per core. The products
// are those of a RetailRocket training step (batch 80, 224 units, 2,048 + 80 score columns)
// and of an RSC15 step (batch 32, 100 units). Built without the library: Eigen must be compiled
// with OpenMP here, while the library disables Eigen's threading.
//   build/bench/gemm_split_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <Eigen/Core>

namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// args: threads, m, k, n; product (m x k) * (k x n), as in the step (the backward products have
// the same sizes with other shapes, so the forward ones stand for them).
void BM_StepGemm(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const auto m = state.range(1), k = state.range(2), n = state.range(3);
  Eigen::setNbThreads(threads);
  const Matrix a = Matrix::Random(m, k), b = Matrix::Random(n, k);
  Matrix c(m, n);
  for (auto _ : state) {
    c.noalias() = a * b.transpose();
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(m * k * n) * static_cast<double>(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
  Eigen::setNbThreads(1);
}
BENCHMARK(BM_StepGemm)
    ->ArgNames({"threads", "m", "k", "n"})
    // RetailRocket: scores, the GRU's input and recurrent products.
    ->Args({1, 80, 224, 2128})
    ->Args({2, 80, 224, 2128})
    ->Args({1, 80, 224, 672})
    ->Args({2, 80, 224, 672})
    // RSC15: scores and the GRU's input product.
    ->Args({1, 32, 100, 2080})
    ->Args({2, 32, 100, 2080})
    ->Args({1, 32, 100, 300})
    ->Args({2, 32, 100, 300})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
