#include "gru4rec/serve/recommender.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <thread>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"

namespace gru4rec {

struct Recommender::Scratch {
  uint64_t owner = 0;  // instance_ of the Recommender the buffers are shaped for
  Predictor::Scratch predictor;
};

struct Recommender::Job {
  std::span<const float> state;
  const RecommendOptions* options = nullptr;
  std::span<ScoredItem> out;
  size_t count = 0;
  bool done = false;     // scored (or failed: error)
  bool leads = false;    // holds a scoring slot: scores the next batch of the queue
  bool gathers = false;  // took a free slot under load: waits batch_wait before scoring
  std::exception_ptr error;
  std::condition_variable wake;
};

struct Recommender::Slot {
  explicit Slot(const ItemScorer& scorer) : top_k(scorer) {}
  BatchTopK top_k;
  bool busy = false;
};

Recommender::Recommender(std::shared_ptr<const Model> model, uint64_t version, ItemIndex& registry,
                         WeightPrecision precision, const RetrievalOptions& retrieval,
                         std::chrono::microseconds batch_wait)
    : model_(std::move(model)),
      version_(version),
      instance_(next_instance()),
      predictor_(*model_),
      catalog_(model_->items, model_->supports, registry),
      batch_wait_(batch_wait) {
  validate(retrieval);
  const std::span<const float> bias(model_->weights.By.data(),
                                    static_cast<size_t>(model_->weights.By.size()));
  if (retrieval.resolve(model_->num_items()) == RetrievalMode::kAnn)
    ann_ = std::make_unique<AnnIndex>(model_->weights.Wy, bias, retrieval, precision);
  else
    scorer_.emplace(model_->weights.Wy, bias, precision);
  pending_.reserve(4096);
  const int cores = available_cores();  // once: the count may change at run time
  free_slots_ = cores;
  for (int i = 0; i < (ann_ ? 0 : cores); ++i) {
    slots_.push_back(std::make_unique<Slot>(*scorer_));
  }
}

Recommender::~Recommender() = default;

uint64_t Recommender::next_instance() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

Recommender::Scratch& Recommender::scratch() const {
  thread_local Scratch local;
  if (local.owner != instance_) {
    local.owner = instance_;
    local.predictor = predictor_.make_scratch(1);
  }
  return local;
}

void Recommender::advance(std::span<float> state, int32_t item) const {
  predictor_.advance(state, item, scratch().predictor);
}

size_t Recommender::recommend(std::span<const float> state, const RecommendOptions& options,
                              std::span<ScoredItem> out) const {
  GRU4REC_CHECK(out.size() >= options.k && static_cast<int>(state.size()) == state_size());
  check_item_indices(num_items(), options);
  if (ann_) return recommend_approximate(state, options, out);
  Job job;
  job.state = state;
  job.options = &options;
  job.out = out;
  std::unique_lock lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const bool under_load = now - last_arrival_ < kLoadWaits * batch_wait_;
  last_arrival_ = now;
  pending_.push_back(&job);
  // While a leader gathers, the requests that come join its batch instead of taking another slot.
  if (free_slots_ > 0 && gathering_ == 0) {
    --free_slots_;
    job.leads = true;
    job.gathers = under_load && batch_wait_.count() > 0;
    if (job.gathers) ++gathering_;
  }
  for (;;) {
    // Each waiting request sleeps on its own condition: a finished batch wakes its requests
    // and, when requests are left waiting, the oldest of them to lead the next batch.
    job.wake.wait(lock, [&] { return job.done || job.leads; });
    if (!job.leads) break;  // scored by another request's batch
    if (job.gathers) {
      // The requests that come meanwhile queue behind this slot and are scored with this one.
      job.gathers = false;
      lock.unlock();
      std::this_thread::sleep_for(batch_wait_);
      lock.lock();
      --gathering_;
    }
    if (!job.done) lead_batch(lock);
    if (job.done) {
      pass_slot();  // to the oldest waiting request, or back to the free ones
      break;
    }
  }
  if (job.error) std::rethrow_exception(job.error);
  return job.count;
}

size_t Recommender::recommend(std::span<const float> state, std::span<const int32_t> session_items,
                              const RecommendOptions& options, std::span<ScoredItem> out) const {
  if (predictor_.repeat_window() == 0 || session_items.empty())
    return recommend(state, options, out);
  GRU4REC_CHECK(out.size() >= options.k && static_cast<int>(state.size()) == state_size());
  check_item_indices(num_items(), options, session_items);
  thread_local std::vector<ItemBonus> bonuses;
  thread_local std::vector<ScoredItem> wide;
  const auto units = static_cast<size_t>(model_->weights.shape.output_size());
  const std::span<const float> top = state.last(units);
  predictor_.repeat_bonuses(top, session_items, bonuses, scratch().predictor);
  // The top k + |bonuses| by the model's scores hold at least k items without a bonus, which
  // every item outside them and the session's items is below: the answer is among those and the
  // session's items.
  RecommendOptions wide_options = options;
  wide_options.k = options.k + bonuses.size();
  wide.resize(wide_options.k);
  wide.resize(recommend(state, wide_options, wide));
  const Eigen::Map<const RowVector<float>> h(top.data(), static_cast<Eigen::Index>(units));
  const auto listed = [](std::span<const int32_t> list, int32_t item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  };
  std::erase_if(bonuses, [&](const ItemBonus& b) {
    return listed(options.exclude, b.item) ||
           (!options.include.empty() && !listed(options.include, b.item));
  });
  merge_repeat_bonuses(
      wide, bonuses,
      [&](int32_t item) { return model_->weights.Wy.row(item).dot(h) + model_->weights.By(item); },
      options.k);
  std::copy(wide.begin(), wide.end(), out.begin());
  return wide.size();
}

void Recommender::lead_batch(std::unique_lock<std::mutex>& lock) const {
  Slot* slot = nullptr;
  for (const auto& s : slots_) {
    if (!s->busy) {
      slot = s.get();
      break;
    }
  }
  GRU4REC_CHECK(slot != nullptr);  // a leader holds a slot
  // The oldest waiting requests: the leader's own one among them unless more than kMaxBatch
  // older ones wait (it then leads again).
  std::array<Job*, kMaxBatch> batch;
  const size_t n = std::min(pending_.size(), static_cast<size_t>(kMaxBatch));
  std::copy_n(pending_.begin(), n, batch.begin());
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(n));
  // More came while a leader gathered than one batch holds: the free slots lead them now.
  if (gathering_ == 0) {
    while (free_slots_ > 0 && wake_a_leader()) --free_slots_;
  }
  slot->busy = true;
  lock.unlock();
  batches_.fetch_add(1, std::memory_order_relaxed);
  batched_requests_.fetch_add(n, std::memory_order_relaxed);
  std::exception_ptr error;
  try {
    score_batch(*slot, std::span<Job* const>(batch.data(), n));
  } catch (...) {
    error = std::current_exception();  // every job of the batch fails with it
  }
  lock.lock();
  slot->busy = false;
  for (size_t i = 0; i < n; ++i) {
    batch[i]->error = error;
    batch[i]->done = true;
    batch[i]->wake.notify_one();
  }
}

bool Recommender::wake_a_leader() const {
  for (Job* waiting : pending_) {
    if (!waiting->leads) {
      waiting->leads = true;
      waiting->wake.notify_one();
      return true;
    }
  }
  return false;
}

void Recommender::pass_slot() const {
  if (!wake_a_leader()) ++free_slots_;
}

void Recommender::score_batch(Slot& slot, std::span<Job* const> jobs) const {
  std::array<TopKQuery, kMaxBatch> queries;
  std::array<size_t, kMaxBatch> counts{};
  const auto units = static_cast<size_t>(model_->weights.shape.output_size());
  for (size_t r = 0; r < jobs.size(); ++r) {
    const Job& job = *jobs[r];
    // The scores depend on the last layer's state only.
    queries[r] = TopKQuery{.state = job.state.last(units),
                           .k = job.options->k,
                           .exclude = job.options->exclude,
                           .include = job.options->include,
                           .out = job.out};
  }
  slot.top_k.run(std::span<const TopKQuery>(queries.data(), jobs.size()),
                 std::span<size_t>(counts.data(), jobs.size()));
  for (size_t r = 0; r < jobs.size(); ++r) jobs[r]->count = counts[r];
}

size_t Recommender::recommend_approximate(std::span<const float> state,
                                          const RecommendOptions& options,
                                          std::span<ScoredItem> out) const {
  const auto units = static_cast<size_t>(model_->weights.shape.output_size());
  const std::span<const float> last = state.last(units);  // the scores' input
  const Eigen::Map<const RowVector<float>> h(last.data(), static_cast<Eigen::Index>(units));
  const auto exact = [&](int32_t item) {
    return model_->weights.Wy.row(item).dot(h) + model_->weights.By(item);
  };
  thread_local std::vector<int32_t> exclude, candidates;
  thread_local std::vector<ScoredItem> scored;
  exclude.assign(options.exclude.begin(), options.exclude.end());
  std::sort(exclude.begin(), exclude.end());
  exclude.erase(std::unique(exclude.begin(), exclude.end()), exclude.end());
  if (!options.include.empty()) {
    candidates.assign(options.include.begin(), options.include.end());
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  } else {
    // Enough candidates that k remain once the excluded ones are dropped.
    const size_t items = static_cast<size_t>(model_->num_items());
    candidates.resize(std::min(items, options.k + exclude.size()));
    candidates.resize(ann_->search(last, candidates));
  }
  scored.clear();
  for (int32_t item : candidates) {
    if (!std::binary_search(exclude.begin(), exclude.end(), item))
      scored.push_back(ScoredItem{item, exact(item)});
  }
  // Best first; ties by item index, as top_k orders them.
  const auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  };
  const size_t n = std::min(options.k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<ptrdiff_t>(n), scored.end(),
                    better);
  std::copy_n(scored.begin(), n, out.begin());
  return n;
}

std::string Recommender::retrieval_summary() const {
  if (ann_) return ann_->describe();
  return fmt::format("exact top-k ({} items, {} kernel)", model_->num_items(),
                     ItemScorer::kernel_name());
}

}  // namespace gru4rec
