// The training step allocates nothing: malloc is replaced for this test binary and counted
// while steps run (after a warm-up step, which may size buffers). The same counting allocator
// measures what the server's session store really holds against its memory bound.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>

#include "gru4rec/data/session_batcher.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/serve/session_store.h"
#include "gru4rec/train/optimizer.h"
#include "gru4rec/train/sampler.h"
#include "gru4rec/train/train_step.h"
#include "gru4rec/train/train_worker.h"
#include "test_support.h"

extern "C" void* __libc_malloc(size_t size);
extern "C" void* __libc_calloc(size_t count, size_t size);
extern "C" void* __libc_realloc(void* pointer, size_t size);
extern "C" void* __libc_memalign(size_t alignment, size_t size);
extern "C" void __libc_free(void* pointer);

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
// The heap bytes held by live blocks (usable size plus glibc's 8-byte chunk header), counted
// from when g_live_counting is set: what a data structure really costs.
std::atomic<bool> g_live_counting{false};
std::atomic<long> g_live_bytes{0};
void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
}
long block_bytes(void* pointer) {
  return pointer == nullptr ? 0 : static_cast<long>(malloc_usable_size(pointer) + 8);
}
void* counted(void* pointer) {
  if (g_live_counting.load(std::memory_order_relaxed)) g_live_bytes += block_bytes(pointer);
  return pointer;
}
}  // namespace

extern "C" void* malloc(size_t size) {
  count();
  return counted(__libc_malloc(size));
}
extern "C" void* calloc(size_t count_, size_t size) {
  count();
  return counted(__libc_calloc(count_, size));
}
extern "C" void* realloc(void* pointer, size_t size) {
  count();
  if (g_live_counting.load(std::memory_order_relaxed)) g_live_bytes -= block_bytes(pointer);
  return counted(__libc_realloc(pointer, size));
}
extern "C" int posix_memalign(void** out, size_t alignment, size_t size) {
  count();
  *out = counted(__libc_memalign(alignment, size));
  return *out == nullptr ? 12 : 0;
}
extern "C" void* aligned_alloc(size_t alignment, size_t size) {
  count();
  return counted(__libc_memalign(alignment, size));
}
extern "C" void free(void* pointer) {
  if (g_live_counting.load(std::memory_order_relaxed)) g_live_bytes -= block_bytes(pointer);
  __libc_free(pointer);
}

namespace gru4rec {
namespace {

// The session store's memory bound (--max-session-memory) against the heap bytes the store
// really holds, with the server's sharding (64 shards), for short and long ids and sessions
// that grow: what the operator sets is what the process spends on sessions, within 2%.
TEST(SessionStoreMemory, TheBoundHoldsForTheBytesReallyAllocated) {
  struct Shape {
    size_t id_bytes, state_floats, seen;
  };
  for (const Shape shape : {Shape{12, 100, 5}, Shape{60, 200, 40}, Shape{200, 16, 200}}) {
    constexpr size_t kBound = 8u << 20;
    g_live_bytes = 0;
    g_live_counting = true;
    {
      auto store = std::make_unique<MemorySessionStore>(1'000'000'000, 1e9, 64,
                                                        std::function<double()>{}, kBound);
      const long empty = g_live_bytes.load();
      long worst = 0;
      for (int i = 0; i < 60'000; ++i) {
        std::string id = fmt::format("{:0{}}", i, shape.id_bytes);
        store->update(id, [&](SessionState& s, bool created) {
          if (created) s.state.assign(shape.state_floats, 0.5f);
          // Sessions grow one item per event, up to their length.
          for (size_t k = s.seen.size(); k < shape.seen && k < s.seen.size() + 8; ++k)
            s.seen.push_back(static_cast<int32_t>(k));
        });
        if (i % 3 == 0)
          store->update(fmt::format("{:0{}}", i / 2, shape.id_bytes), [&](SessionState& s, bool) {
            for (size_t k = 0; k < 8 && s.seen.size() < shape.seen; ++k) s.seen.push_back(1);
          });
        if (i % 1000 == 999) worst = std::max(worst, g_live_bytes.load() - empty);
      }
      EXPECT_GT(store->evictions(), 0u) << "the bound was never reached";
      EXPECT_LE(store->bytes(), kBound);
      EXPECT_LE(static_cast<double>(worst), 1.02 * kBound)
          << "ids of " << shape.id_bytes << " bytes, " << shape.state_floats << " floats, "
          << shape.seen << " items: the store held " << worst << " heap bytes for a bound of "
          << kBound << " (its estimate: " << store->bytes() << ")";
    }
    g_live_counting = false;
  }
}

class AllocationTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AllocationTest, TrainingStepsAllocateNothing) {
  ItemIndex items;
  const SessionLog train = testing::synthetic_training_log(3000, 3000, items);
  Params params;
  apply_param_string(params, GetParam());
  const Model model = Model::initialize(params, std::move(items), train, "t");
  NetworkWeights<float> weights = model.weights;
  AdagradMomentum<float> optimizer(weights, OptimizerConfig::from_params(params));
  AliasSampler sampler(model.supports, params.sample_alpha);
  SampleStore store(&sampler, params.n_sample, params.sample_store_size, 1);
  TrainStep<float> step(weights.shape, StepConfig::from_params(params), params.batch_size,
                        params.batch_size + params.n_sample);
  std::vector<MatrixR<float>> hidden;
  for (int size : params.layers) hidden.push_back(MatrixR<float>::Zero(params.batch_size, size));
  std::vector<int32_t> columns(static_cast<size_t>(params.batch_size + params.n_sample));
  std::vector<float> shift(columns.size(), 0.5f);
  Rng rng(2);
  SessionBatcher batcher(train, session_order_by_time(train), params.batch_size);
  SessionBatcher::Step batch;
  int steps = 0;
  while (batcher.next(batch) && steps < 60) {
    if (steps == 1) g_counting = true;  // the first step may size lazily allocated buffers
    const auto samples = store.next();
    std::copy(batch.targets.begin(), batch.targets.end(), columns.begin());
    std::copy(samples.begin(), samples.end(),
              columns.begin() + static_cast<long>(batch.targets.size()));
    const size_t used = batch.targets.size() + samples.size();
    step.run(
        weights, optimizer.item_tables(), batch.inputs,
        std::span<const int32_t>(columns.data(), used),
        params.logq > 0 ? std::span<const float>(shift.data(), used) : std::span<const float>(),
        hidden, &rng);
    optimizer.update(weights, step.gradients());
    ++steps;
  }
  g_counting = false;
  EXPECT_EQ(steps, 60);
  EXPECT_EQ(g_allocations.load(), 0) << "heap allocations during " << steps - 1 << " steps";
  g_allocations = 0;
}

// The production path, TrainWorker::train, on one thread (output side updated early) and
// split into 2 and 3 shares on as many threads, 2 shares on 1 and 3 on 2 (parallel=sync; the helper
// threads' allocations count too),
// through the end of an epoch, where the batch shrinks.
TEST_P(AllocationTest, TrainWorkerStepsAllocateNothingOnOneOrSeveralThreads) {
  ItemIndex items;
  const SessionLog train = testing::synthetic_training_log(3000, 600, items);
  for (const auto [shares, threads] :
       {std::pair{1, 1}, std::pair{2, 1}, std::pair{2, 2}, std::pair{3, 3}, std::pair{3, 2}}) {
    Params params;
    apply_param_string(params, GetParam());
    const Model model = Model::initialize(params, ItemIndex(items), train, "t");
    NetworkWeights<float> weights = model.weights;
    AdagradMomentum<float> optimizer(weights, OptimizerConfig::from_params(params));
    AliasSampler sampler(model.supports, params.sample_alpha);
    TrainWorker worker(model, &sampler, 5, 1, shares, threads);
    SessionBatcher batcher(train, session_order_by_time(train), params.batch_size);
    SessionBatcher::Step batch;
    int steps = 0;
    bool shrank = false;
    while (batcher.next(batch)) {
      if (steps == 1) g_counting = true;  // the first step may size lazily allocated buffers
      shrank = shrank || !batch.kept_rows.empty();
      worker.train(batch, weights, optimizer);
      ++steps;
    }
    g_counting = false;
    EXPECT_TRUE(shrank);
    EXPECT_EQ(worker.step_threads(), threads);
    EXPECT_EQ(g_allocations.load(), 0) << "heap allocations during " << steps - 1 << " steps, "
                                       << shares << " shares on " << threads << " threads";
    g_allocations = 0;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Settings, AllocationTest,
    ::testing::Values(
        "loss=bpr-max,elu_param=0.5,layers=224,batch_size=80,dropout_p_embed=0.5,"
        "dropout_p_hidden=0.05,momentum=0.4,n_sample=2048,sample_alpha=0.4,bpreg=1.95,"
        "sample_store_size=100000",
        "loss=cross-entropy,logq=1,layers=100,batch_size=32,dropout_p_hidden=0.4,momentum=0.2,"
        "n_sample=2048,sample_store_size=100000",
        "loss=cross-entropy,constrained_embedding=False,embedding=0,layers=64/32,batch_size=16,"
        "n_sample=128,sample_store_size=2000"),
    [](const auto& info) { return "setting" + std::to_string(info.index); });

}  // namespace
}  // namespace gru4rec
