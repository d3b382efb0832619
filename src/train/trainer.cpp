#include "gru4rec/train/trainer.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "gru4rec/core/error.h"
#include "gru4rec/core/random.h"
#include "gru4rec/train/optimizer.h"
#include "gru4rec/train/sampler.h"
#include "gru4rec/train/session_batcher.h"
#include "gru4rec/train/train_step.h"
#include "gru4rec/train/train_worker.h"

namespace gru4rec {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<int64_t> training_order(const SessionLog& train, const Params& params, Rng& rng) {
  std::vector<int64_t> order;
  if (params.time_sort) {
    order = session_order_by_time(train);
  } else {
    order.resize(static_cast<size_t>(train.num_sessions()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  }
  if (params.train_random_order) {
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[rng.below(static_cast<uint32_t>(i))]);
    }
  }
  return order;
}

void run_epochs(Model& model, const SessionLog& train, const TrainCallbacks& callbacks,
                PhaseProfile* profile, AdagradMomentum<float>& optimizer, TrainWorker& worker,
                TrainSummary& summary) {
  const Params& params = model.params;
  const uint64_t seed = static_cast<uint64_t>(params.seed);
  Rng order_rng(Rng::derive_seed(seed, kOrderStream));
  const int min_rows = params.n_sample == 0 ? 2 : 1;
  SessionBatcher batcher(train, training_order(train, params, order_rng), params.batch_size,
                         min_rows);
  const int64_t events_total = count_transitions(train);
  const Clock::time_point training_start = Clock::now();
  for (int epoch = 1; epoch <= params.n_epochs; ++epoch) {
    if (epoch > 1) {
      if (params.train_random_order)
        batcher.restart(training_order(train, params, order_rng));
      else
        batcher.restart();
    }
    worker.reset_states();
    const Clock::time_point epoch_start = Clock::now();
    Clock::time_point last_report = epoch_start;
    double weighted_loss = 0;
    int64_t events = 0;
    int64_t steps = 0;
    SessionBatcher::Step batch;
    if (profile != nullptr) profile->start();
    while (batcher.next(batch)) {
      const auto rows = static_cast<int64_t>(batch.inputs.size());
      const float loss = worker.train(batch, model.weights, optimizer, profile);
      if (!std::isfinite(loss)) {
        throw TrainingDiverged(
            fmt::format("training diverged: the loss became {} in epoch {} at mini-batch {}; lower "
                        "learning_rate (now {}) or momentum (now {}), or try loss=cross-entropy",
                        std::isnan(loss) ? "NaN" : "infinite", epoch, steps + 1,
                        params.learning_rate, params.momentum));
      }
      // The step cost is the summed loss / batch_size; the epoch loss is its mean weighted by
      // the step's rows (as the official code prints it).
      weighted_loss += static_cast<double>(loss) / params.batch_size * static_cast<double>(rows);
      events += rows;
      ++steps;
      if (callbacks.on_progress && (steps & 15) == 0 &&
          seconds_since(last_report) >= callbacks.progress_interval_seconds) {
        last_report = Clock::now();
        callbacks.on_progress(
            TrainProgress{.epoch = epoch,
                          .n_epochs = params.n_epochs,
                          .events_done = events,
                          .events_total = events_total,
                          .steps = steps,
                          .seconds = seconds_since(epoch_start),
                          .mean_loss = weighted_loss / static_cast<double>(events)});
      }
    }
    GRU4REC_CHECK(steps > 0, "an epoch without a training step");
    EpochReport report{.epoch = epoch,
                       .loss = events > 0 ? weighted_loss / static_cast<double>(events) : 0.0,
                       .seconds = seconds_since(epoch_start),
                       .steps = steps,
                       .events = events};
    summary.epochs.push_back(report);
    model.stats.epochs = epoch;
    model.stats.final_loss = report.loss;
    if (callbacks.on_epoch) callbacks.on_epoch(report);
  }
  summary.seconds = seconds_since(training_start);
}

}  // namespace

TrainSummary train_model(Model& model, const SessionLog& train, const TrainCallbacks& callbacks,
                         PhaseProfile* profile) {
  const Params& params = model.params;
  GRU4REC_CHECK(params.threads == 1, "only threads=1 is supported");
  GRU4REC_CHECK(static_cast<int32_t>(model.supports.size()) == model.num_items());
  validate_params(params);
  const uint64_t seed = static_cast<uint64_t>(params.seed);
  std::unique_ptr<AliasSampler> sampler;
  if (params.n_sample > 0)
    sampler = std::make_unique<AliasSampler>(model.supports, params.sample_alpha);
  TrainWorker worker(model, sampler.get(), seed);
  TrainSummary summary;
  // From here until export_items(), the optimizer holds the item weights.
  AdagradMomentum<float> optimizer(model.weights, OptimizerConfig::from_params(params));
  try {
    run_epochs(model, train, callbacks, profile, optimizer, worker, summary);
  } catch (...) {
    optimizer.export_items(model.weights);
    throw;
  }
  optimizer.export_items(model.weights);
  return summary;
}

}  // namespace gru4rec
