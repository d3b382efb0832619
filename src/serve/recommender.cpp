#include "gru4rec/serve/recommender.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <cmath>
#include <limits>
#include <numeric>

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
  bool done = false;
  std::exception_ptr error;
};

struct Recommender::Slot {
  MatrixR<float> states, scores;  // kMaxBatch x state size, kMaxBatch x items
  std::vector<float> candidates;  // NaN but for the included items during a request
  bool busy = false;
};

Recommender::Recommender(std::shared_ptr<const Model> model, uint64_t version, std::string source,
                         ItemIndex& registry)
    : model_(std::move(model)),
      version_(version),
      instance_(next_instance()),
      source_(std::move(source)),
      predictor_(*model_) {
  for (int32_t i = 0; i < model_->num_items(); ++i)
    to_global_.push_back(registry.insert(model_->items.id(i)));
  to_local_.assign(static_cast<size_t>(registry.size()), -1);
  for (int32_t i = 0; i < model_->num_items(); ++i)
    to_local_[static_cast<size_t>(to_global_[static_cast<size_t>(i)])] = i;
  pending_.reserve(4096);
  wy_t_ = model_->weights.Wy.transpose();
  const int n_items = model_->num_items();
  for (int i = 0; i < available_cores(); ++i) {
    auto slot = std::make_unique<Slot>();
    slot->states.resize(kMaxBatch, model_->weights.shape.output_size());
    slot->scores.resize(kMaxBatch, n_items);
    slot->candidates.assign(static_cast<size_t>(n_items), std::numeric_limits<float>::quiet_NaN());
    slots_.push_back(std::move(slot));
  }
  by_popularity_.resize(static_cast<size_t>(model_->num_items()));
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(), [&](int32_t a, int32_t b) {
    return model_->supports[static_cast<size_t>(a)] > model_->supports[static_cast<size_t>(b)];
  });
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
  Job job{state, &options, out, 0, false, nullptr};
  std::unique_lock lock(mutex_);
  pending_.push_back(&job);
  while (!job.done) {
    Slot* slot = nullptr;
    for (const auto& s : slots_) {
      if (!s->busy) {
        slot = s.get();
        break;
      }
    }
    if (slot == nullptr || pending_.empty()) {
      scored_.wait(lock);
      continue;
    }
    // Lead a batch: the oldest waiting requests, this one among them if it is old enough.
    std::array<Job*, kMaxBatch> batch;
    const size_t n = std::min(pending_.size(), static_cast<size_t>(kMaxBatch));
    std::copy_n(pending_.begin(), n, batch.begin());
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(n));
    slot->busy = true;
    lock.unlock();
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
    }
    scored_.notify_all();
  }
  if (job.error) std::rethrow_exception(job.error);
  return job.count;
}

void Recommender::score_batch(Slot& slot, std::span<Job* const> jobs) const {
  const auto rows = static_cast<Eigen::Index>(jobs.size());
  const Eigen::Index last = model_->weights.shape.output_size();
  for (Eigen::Index r = 0; r < rows; ++r) {
    // The scores depend on the last layer's state only.
    const std::span<const float> state = jobs[static_cast<size_t>(r)]->state;
    std::copy_n(state.data() + state.size() - static_cast<size_t>(last), last, &slot.states(r, 0));
  }
  auto scores = slot.scores.topRows(rows);
  if (rows <= 2) {
    // One or two sessions: vector-matrix products (a product of two rows runs slower).
    for (Eigen::Index r = 0; r < rows; ++r) scores.row(r).noalias() = slot.states.row(r) * wy_t_;
  } else {
    scores.noalias() = slot.states.topRows(rows) * wy_t_;
  }
  scores.rowwise() += model_->weights.By;
  constexpr float kExcluded = std::numeric_limits<float>::quiet_NaN();  // never selected
  for (Eigen::Index r = 0; r < rows; ++r) {
    Job& job = *jobs[static_cast<size_t>(r)];
    const RecommendOptions& options = *job.options;
    const std::span<float> row(&slot.scores(r, 0), static_cast<size_t>(slot.scores.cols()));
    for (int32_t item : options.exclude) row[static_cast<size_t>(item)] = kExcluded;
    if (options.include.empty()) {
      job.count = top_k(row, options.k, job.out);
      continue;
    }
    // Only the listed items compete: copy their scores into a vector of NaN, select, restore.
    for (int32_t item : options.include)
      slot.candidates[static_cast<size_t>(item)] = row[static_cast<size_t>(item)];
    job.count = top_k(slot.candidates, options.k, job.out);
    for (int32_t item : options.include) slot.candidates[static_cast<size_t>(item)] = kExcluded;
  }
}

size_t Recommender::popular(const RecommendOptions& options, std::span<ScoredItem> out) const {
  GRU4REC_CHECK(out.size() >= options.k);
  size_t n = 0;
  for (int32_t item : by_popularity_) {
    if (n == options.k) break;
    if (std::find(options.exclude.begin(), options.exclude.end(), item) != options.exclude.end())
      continue;
    if (!options.include.empty() &&
        std::find(options.include.begin(), options.include.end(), item) == options.include.end())
      continue;
    out[n++] = ScoredItem{item, static_cast<float>(model_->supports[static_cast<size_t>(item)])};
  }
  return n;
}

}  // namespace gru4rec
