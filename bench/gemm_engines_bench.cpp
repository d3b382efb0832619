// The GEMM engines on GRU4Rec's products, one thread, float32: Eigen 3.4 (compiled for this
// executable's x86-64 level), OpenBLAS 0.3.21, oneDNN 2.6 and libxsmm 1.17 (the last three
// dispatch on the CPU at run time). Built once per level (gemm_engines_bench_x86-64-v3, -v4);
// for the AVX2 figures on an AVX-512 machine, run the v3 one with
//   OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 LIBXSMM_TARGET=hsw
// Row-major operands as the training step holds them; each product as the step writes it.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <libxsmm.h>
#include <oneapi/dnnl/dnnl.h>

#include <Eigen/Core>
#include <string>

#include "gru4rec/core/cpu_info.h"

namespace {

using MatrixR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum Engine { kEigen, kOpenBlas, kOneDnn, kLibxsmm };
const char* kEngineNames[] = {"eigen", "openblas", "onednn", "libxsmm"};

// C (m x n) = op(A) op(B), row-major, op = transpose where the flag says.
struct Product {
  const char* name;
  int m, n, k;
  bool trans_a, trans_b;
};

// RetailRocket setting: batch 80, 224 units, 2,048 negatives + the batch = 2,128 columns.
// RSC15 setting: batch 32, 100 units, 2,080 columns. Serving/evaluation: 43,097 items.
const Product kProducts[] = {
    {"rr_scores", 80, 2128, 224, false, true},     // h Wy[cols]^T
    {"rr_d_wy", 2128, 224, 80, true, false},       // dR^T h
    {"rr_d_hidden", 80, 224, 2128, false, false},  // dR Wy[cols]
    {"rr_gru_x", 80, 672, 224, false, false},      // x Wx
    {"rr_gru_h", 80, 448, 224, false, false},      // h Urz
    {"rr_d_wx", 224, 672, 80, true, false},        // x^T dA
    {"rr_d_x", 80, 224, 672, false, true},         // dA Wx^T
    {"rsc15_scores", 32, 2080, 100, false, true},
    {"rsc15_d_wy", 2080, 100, 32, true, false},
    {"rsc15_d_hidden", 32, 100, 2080, false, false},
    {"rsc15_gru_h", 32, 200, 100, false, false},
    {"rsc15_d_urz", 100, 200, 32, true, false},
    {"eval_512", 512, 43097, 100, false, true},  // evaluation block against every item
    {"serve_1", 1, 43097, 100, false, true},     // serving: states x Wy^T
    {"serve_8", 8, 43097, 100, false, true},
    {"serve_32", 32, 43097, 100, false, true},
};

void BM_Gemm(benchmark::State& state, Engine engine, Product p) {
  const MatrixR a = p.trans_a ? MatrixR::Random(p.k, p.m) : MatrixR::Random(p.m, p.k);
  const MatrixR b = p.trans_b ? MatrixR::Random(p.n, p.k) : MatrixR::Random(p.k, p.n);
  MatrixR c(p.m, p.n);
  libxsmm_smmfunction xsmm = nullptr;
  if (engine == kLibxsmm) {
    // Column-major: C^T (n x m) = op(B)^T op(A)^T, i.e. A and B swap places; the JIT kernels
    // of 1.17 take no transposes, so only the plain products run.
    if (p.trans_a || p.trans_b) {
      state.SkipWithError("libxsmm 1.17 JIT: no transposed operands");
      return;
    }
    xsmm = libxsmm_smmdispatch(p.n, p.m, p.k, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                               nullptr);
    if (xsmm == nullptr) {
      state.SkipWithError("libxsmm: no JIT kernel for this size");
      return;
    }
  }
  for (auto _ : state) {
    switch (engine) {
      case kEigen:
        if (p.trans_a)
          c.noalias() = a.transpose() * b;
        else if (p.trans_b)
          c.noalias() = a * b.transpose();
        else
          c.noalias() = a * b;
        break;
      case kOpenBlas:
        cblas_sgemm(CblasRowMajor, p.trans_a ? CblasTrans : CblasNoTrans,
                    p.trans_b ? CblasTrans : CblasNoTrans, p.m, p.n, p.k, 1.0f, a.data(),
                    static_cast<int>(a.cols()), b.data(), static_cast<int>(b.cols()), 0.0f,
                    c.data(), p.n);
        break;
      case kOneDnn:
        dnnl_sgemm(p.trans_a ? 'T' : 'N', p.trans_b ? 'T' : 'N', p.m, p.n, p.k, 1.0f, a.data(),
                   a.cols(), b.data(), b.cols(), 0.0f, c.data(), p.n);
        break;
      case kLibxsmm: xsmm(b.data(), a.data(), c.data()); break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * p.m * p.n * static_cast<double>(p.k) * static_cast<double>(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  openblas_set_num_threads(1);
  libxsmm_init();
  const gru4rec::CpuInfo cpu = gru4rec::detect_cpu();
  const gru4rec::FmaPeak peak = gru4rec::measure_fma_peak(1);
  benchmark::AddCustomContext("cpu", cpu.model + " (" + cpu.best_level + ")");
  benchmark::AddCustomContext("eigen_level", GRU4REC_BENCH_LEVEL);
  benchmark::AddCustomContext("fma_peak_one_core_gflops",
                              std::to_string(peak.gflops) + " (" + peak.vector_width + ")");
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  for (const Product& p : kProducts) {
    for (Engine e : {kEigen, kOpenBlas, kOneDnn, kLibxsmm}) {
      benchmark::RegisterBenchmark((std::string(p.name) + "/" + kEngineNames[e]).c_str(), BM_Gemm,
                                   e, p)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  libxsmm_finalize();
}
