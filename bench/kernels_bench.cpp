// Micro-benchmarks of the training kernels on GRU4Rec-sized problems (Google Benchmark).
//   build/bench/kernels_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// The problem mimics RetailRocket: 36,968 items with power-law supports, negatives drawn by
// support^alpha, so that the sparse updates see realistic cache behaviour.
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>

#include "gru4rec/core/random.h"
#include "gru4rec/model/forward.h"
#include "gru4rec/model/item_scorer.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/train/losses.h"
#include "gru4rec/train/optimizer.h"
#include "gru4rec/train/sampler.h"
#include "gru4rec/train/train_step.h"

namespace gru4rec {
namespace {

constexpr int32_t kItems = 36968;
const char* kRetailRocket =
    "loss=bpr-max,elu_param=0.5,layers=224,batch_size=80,dropout_p_embed=0.5,"
    "dropout_p_hidden=0.05,learning_rate=0.05,momentum=0.4,n_sample=2048,sample_alpha=0.4,"
    "bpreg=1.95";
const char* kRsc15 =
    "loss=cross-entropy,logq=1,layers=100,batch_size=32,dropout_p_hidden=0.4,learning_rate=0.2,"
    "momentum=0.2,n_sample=2048,sample_alpha=0.5,bpreg=0";

// A training problem with everything a worker owns, stepping on random mini-batches.
struct Problem {
  Params params;
  std::vector<int64_t> supports;
  std::unique_ptr<AliasSampler> popularity, negatives;
  NetworkWeights<float> weights;
  std::unique_ptr<AdagradMomentum<float>> optimizer;
  std::unique_ptr<TrainStep<float>> step;
  std::unique_ptr<SampleStore> store;
  std::vector<MatrixR<float>> hidden;
  std::vector<int32_t> inputs, columns;
  std::vector<float> shift;
  Rng rng{1};

  explicit Problem(const char* param_string) {
    apply_param_string(params, param_string);
    supports.resize(kItems);
    for (int32_t i = 0; i < kItems; ++i)
      supports[static_cast<size_t>(i)] = 1 + static_cast<int64_t>(20000.0 / std::pow(i + 1, 0.9));
    popularity = std::make_unique<AliasSampler>(supports, 1.0);
    negatives = std::make_unique<AliasSampler>(supports, params.sample_alpha);
    const NetworkShape shape = NetworkShape::from_params(params, kItems);
    weights = initialize_network<float>(shape, params, 1);
    optimizer =
        std::make_unique<AdagradMomentum<float>>(weights, OptimizerConfig::from_params(params));
    step =
        std::make_unique<TrainStep<float>>(shape, StepConfig::from_params(params),
                                           params.batch_size, params.batch_size + params.n_sample);
    store = std::make_unique<SampleStore>(negatives.get(), params.n_sample,
                                          params.sample_store_size, 2);
    for (int size : params.layers) hidden.push_back(MatrixR<float>::Zero(params.batch_size, size));
    inputs.resize(static_cast<size_t>(params.batch_size));
    columns.resize(static_cast<size_t>(params.batch_size + params.n_sample));
    shift.assign(columns.size(), 0.5f);
  }

  void next_batch() {
    for (auto& item : inputs) item = popularity->draw(rng);
    for (int i = 0; i < params.batch_size; ++i)
      columns[static_cast<size_t>(i)] = popularity->draw(rng);
    auto samples = store->next();
    std::copy(samples.begin(), samples.end(), columns.begin() + params.batch_size);
  }
  float forward_backward() {
    return step->run(weights, optimizer->item_tables(), inputs, columns,
                     params.logq > 0 ? std::span<const float>(shift) : std::span<const float>(),
                     hidden, &rng);
  }
};

void report_rows(benchmark::State& state, const Problem& p) {
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * p.params.batch_size, benchmark::Counter::kIsRate);
}

void BM_TrainStep(benchmark::State& state, const char* params) {
  Problem p(params);
  for (auto _ : state) {
    p.next_batch();
    benchmark::DoNotOptimize(p.forward_backward());
    p.optimizer->update(p.weights, p.step->gradients());
  }
  report_rows(state, p);
}
BENCHMARK_CAPTURE(BM_TrainStep, retailrocket, kRetailRocket)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TrainStep, rsc15, kRsc15)->Unit(benchmark::kMicrosecond);

void BM_ForwardBackward(benchmark::State& state, const char* params) {
  Problem p(params);
  for (auto _ : state) {
    p.next_batch();
    benchmark::DoNotOptimize(p.forward_backward());
  }
  report_rows(state, p);
}
BENCHMARK_CAPTURE(BM_ForwardBackward, retailrocket, kRetailRocket)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ForwardBackward, rsc15, kRsc15)->Unit(benchmark::kMicrosecond);

void BM_SparseUpdate(benchmark::State& state, const char* params) {
  Problem p(params);
  for (auto _ : state) {
    state.PauseTiming();
    p.next_batch();
    p.forward_backward();
    state.ResumeTiming();
    p.optimizer->update(p.weights, p.step->gradients());
  }
  report_rows(state, p);
}
BENCHMARK_CAPTURE(BM_SparseUpdate, retailrocket, kRetailRocket)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_SparseUpdate, rsc15, kRsc15)->Unit(benchmark::kMicrosecond);

// The GRU stack's forward pass on a training mini-batch (input gather, dropout, GRU cells).
void BM_GruForward(benchmark::State& state, const char* params) {
  Problem p(params);
  const NetworkShape shape = NetworkShape::from_params(p.params, kItems);
  ForwardBuffers<float> buffers;
  buffers.reserve(shape, p.params.batch_size);
  const ForwardConfig config = ForwardConfig::training(p.params);
  p.next_batch();
  for (auto _ : state) {
    network_forward(p.weights, p.optimizer->item_tables().input, config, p.inputs, p.hidden,
                    buffers, &p.rng);
    benchmark::ClobberMemory();
  }
  report_rows(state, p);
}
BENCHMARK_CAPTURE(BM_GruForward, retailrocket, kRetailRocket)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GruForward, rsc15, kRsc15)->Unit(benchmark::kMicrosecond);

// The loss and its gradient on a step's score matrix (batch x (batch + n_sample)).
void BM_Loss(benchmark::State& state, const char* params) {
  Problem p(params);
  const Eigen::Index rows = p.params.batch_size, cols = rows + p.params.n_sample;
  const MatrixR<float> scores = MatrixR<float>::Random(rows, cols);
  MatrixR<float> grad(rows, cols);
  LossWorkspace<float> workspace;
  workspace.reserve(rows, cols);
  const LossConfig config = LossConfig::from_params(p.params);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        loss_forward_backward<float>(config, scores, workspace, grad, 1.0f / rows));
  }
  report_rows(state, p);
}
BENCHMARK_CAPTURE(BM_Loss, retailrocket, kRetailRocket)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Loss, rsc15, kRsc15)->Unit(benchmark::kMicrosecond);

// Top-20 of one session's scores over Diginetica's 43,097 items (serving's selection).
void BM_TopK(benchmark::State& state) {
  const auto n = state.range(0);
  const auto k = static_cast<size_t>(state.range(1));
  Rng rng(3);
  std::vector<float> scores(static_cast<size_t>(n));
  for (float& s : scores) s = static_cast<float>(rng.uniform()) * 10.0f;
  std::vector<ScoredItem> out(k);
  for (auto _ : state) benchmark::DoNotOptimize(top_k(scores, k, out));
  state.counters["items/s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TopK)->Args({43097, 20})->Args({43097, 100})->Unit(benchmark::kMicrosecond);

// Serving's scores: B sessions' states (100 units) against Diginetica's 43,097 items by
// ItemScorer (float32, float16). Eigen's product on the same shapes, compiled for each x86-64
// level, is in gemm_engines_bench (serve_*): this program is built for the baseline.
// Argument 2 = 1 evicts the caches before each product (a server idle between requests reads
// the item matrix from memory); the eviction itself is not timed.
enum ServingKernel { kServeFloat32 = 1, kServeFloat16 = 2 };
void BM_ServingScores(benchmark::State& state) {
  const auto kernel = static_cast<ServingKernel>(state.range(0));
  const auto rows = static_cast<int>(state.range(1));
  const bool cold = state.range(2) != 0;
  constexpr int kItems = 43097, kUnits = 100;
  const MatrixR<float> wy = MatrixR<float>::Random(kItems, kUnits);
  const std::vector<float> bias(kItems, 0.5f);
  const ItemScorer scorer(
      wy, bias, kernel == kServeFloat16 ? WeightPrecision::kFloat16 : WeightPrecision::kFloat32);
  const MatrixR<float> states = MatrixR<float>::Random(rows, kUnits);
  MatrixR<float> scores(rows, kItems);
  std::vector<float> evict(cold ? 16u << 20 : 0u, 1.0f);  // 64 MB, twice the L3 here
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      for (float& x : evict) x += 1.0f;
      benchmark::ClobberMemory();
      state.ResumeTiming();
    }
    scorer.score(states.data(), rows, kUnits, scores.data(), kItems);
    benchmark::ClobberMemory();
  }
  state.counters["sessions/s"] =
      benchmark::Counter(static_cast<double>(rows) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ServingScores)
    ->ArgNames({"weights(1=f32,2=f16)", "sessions", "cold"})
    ->ArgsProduct({{kServeFloat32, kServeFloat16}, {1, 8, 32}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace gru4rec

BENCHMARK_MAIN();
