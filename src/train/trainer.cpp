#include "gru4rec/train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <exception>
#include <tuple>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
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

// One training thread: its share of the sessions, its session-parallel rows and its
// TrainWorker. The counters are read by the reporting thread while the worker runs.
struct WorkerLane {
  std::unique_ptr<SessionBatcher> batcher;
  std::unique_ptr<TrainWorker> worker;
  // Written by the lane's thread only; read (relaxed) by the thread that reports progress.
  alignas(64) std::atomic<int64_t> events{0};
  std::atomic<int64_t> steps{0};
  std::atomic<double> weighted_loss{0};
  // Set when the lane's loss became NaN or infinite.
  float bad_loss = 0;
  int64_t bad_step = -1;
};

// Sessions i, i + n, i + 2n, ... of `order` (which is in training order) for lane i: every lane
// walks through the whole time range at the same pace.
std::vector<int64_t> lane_share(const std::vector<int64_t>& order, int lane, int lanes) {
  std::vector<int64_t> share;
  share.reserve(order.size() / static_cast<size_t>(lanes) + 1);
  for (size_t i = static_cast<size_t>(lane); i < order.size(); i += static_cast<size_t>(lanes)) {
    share.push_back(order[i]);
  }
  return share;
}

// The number of training threads: params.threads, fewer when there are not enough sessions
// to give each thread's mini-batches at least max(batch_size, 2) of them.
int training_lanes(const SessionLog& train, const Params& params) {
  int64_t trainable = 0;
  for (int64_t s = 0; s < train.num_sessions(); ++s) {
    if (train.session_length(s) >= 2) ++trainable;
  }
  const int64_t per_lane = std::max(params.batch_size, 2);
  return static_cast<int>(std::clamp<int64_t>(trainable / per_lane, 1, params.threads));
}

void run_epochs(Model& model, const SessionLog& train, const TrainCallbacks& callbacks,
                PhaseProfile* profile, AdagradMomentum<float>& optimizer,
                const AliasSampler* sampler, TrainSummary& summary) {
  const Params& params = model.params;
  const uint64_t seed = static_cast<uint64_t>(params.seed);
  const int n_lanes = training_lanes(train, params);
  Rng order_rng(Rng::derive_seed(seed, kOrderStream));
  const int min_rows = params.n_sample == 0 ? 2 : 1;
  std::vector<int64_t> order = training_order(train, params, order_rng);
  std::vector<WorkerLane> lanes(static_cast<size_t>(n_lanes));
  for (int i = 0; i < n_lanes; ++i) {
    WorkerLane& lane = lanes[static_cast<size_t>(i)];
    lane.batcher = std::make_unique<SessionBatcher>(
        train, n_lanes == 1 ? order : lane_share(order, i, n_lanes), params.batch_size, min_rows);
    // Lane 0 uses the model's seed as is, so that threads=1 trains as it always has.
    lane.worker = std::make_unique<TrainWorker>(
        model, sampler, i == 0 ? seed : Rng::derive_seed(seed, kWorkerStreamBase + static_cast<uint64_t>(i)),
        n_lanes);
  }
  const int64_t events_total = count_transitions(train);
  const Clock::time_point training_start = Clock::now();
  for (int epoch = 1; epoch <= params.n_epochs; ++epoch) {
    if (epoch > 1 && params.train_random_order) order = training_order(train, params, order_rng);
    for (int i = 0; i < n_lanes; ++i) {
      WorkerLane& lane = lanes[static_cast<size_t>(i)];
      if (epoch > 1) {
        if (params.train_random_order)
          lane.batcher->restart(n_lanes == 1 ? order : lane_share(order, i, n_lanes));
        else
          lane.batcher->restart();
      }
      lane.worker->reset_states();
      lane.events.store(0, std::memory_order_relaxed);
      lane.steps.store(0, std::memory_order_relaxed);
      lane.weighted_loss.store(0, std::memory_order_relaxed);
    }
    const Clock::time_point epoch_start = Clock::now();
    Clock::time_point last_report = epoch_start;
    std::atomic<bool> stop{false};
    auto totals = [&] {
      int64_t events = 0, steps = 0;
      double weighted_loss = 0;
      for (const WorkerLane& lane : lanes) {
        events += lane.events.load(std::memory_order_relaxed);
        steps += lane.steps.load(std::memory_order_relaxed);
        weighted_loss += lane.weighted_loss.load(std::memory_order_relaxed);
      }
      return std::tuple{events, steps, weighted_loss};
    };
    // The lanes update the shared weights without locks (Hogwild): rows touched by two lanes at
    // once may mix their updates, which sparse, small steps make rare and harmless.
    run_parallel(n_lanes, [&](int i) {
      WorkerLane& lane = lanes[static_cast<size_t>(i)];
      // With several lanes, the profile is that of the first lane's thread.
      PhaseProfile* lane_profile = i == 0 ? profile : nullptr;
      if (lane_profile != nullptr) lane_profile->start();
      SessionBatcher::Step batch;
      int64_t events = 0, steps = 0;
      double weighted_loss = 0;
      // Any error stops the other lanes too (run_parallel rethrows it after they return).
      struct StopOnError {
        std::atomic<bool>& stop;
        ~StopOnError() {
          if (std::uncaught_exceptions() > 0) stop.store(true, std::memory_order_relaxed);
        }
      } stop_on_error{stop};
      while (!stop.load(std::memory_order_relaxed) && lane.batcher->next(batch)) {
        const auto rows = static_cast<int64_t>(batch.inputs.size());
        const float loss = lane.worker->train(batch, model.weights, optimizer, lane_profile);
        if (!std::isfinite(loss)) {
          lane.bad_loss = loss;
          lane.bad_step = steps + 1;
          stop.store(true, std::memory_order_relaxed);
          break;
        }
        // The step cost is the summed loss / batch_size; the epoch loss is its mean weighted by
        // the step's rows (as the official code prints it).
        weighted_loss += static_cast<double>(loss) / params.batch_size * static_cast<double>(rows);
        events += rows;
        ++steps;
        if (lane_profile != nullptr) lane_profile->add_step();
        lane.events.store(events, std::memory_order_relaxed);
        lane.steps.store(steps, std::memory_order_relaxed);
        lane.weighted_loss.store(weighted_loss, std::memory_order_relaxed);
        if (i == 0 && callbacks.on_progress && (steps & 15) == 0 &&
            seconds_since(last_report) >= callbacks.progress_interval_seconds) {
          last_report = Clock::now();
          const auto [all_events, all_steps, all_loss] = totals();
          callbacks.on_progress(
              TrainProgress{.epoch = epoch,
                            .n_epochs = params.n_epochs,
                            .events_done = all_events,
                            .events_total = events_total,
                            .steps = all_steps,
                            .seconds = seconds_since(epoch_start),
                            .mean_loss = all_loss / static_cast<double>(all_events)});
        }
      }
    });
    for (const WorkerLane& lane : lanes) {
      if (lane.bad_step < 0) continue;
      throw TrainingDiverged(
          fmt::format("training diverged: the loss became {} in epoch {} at mini-batch {}{}; "
                      "lower learning_rate (now {}) or momentum (now {}), or try "
                      "loss=cross-entropy",
                      std::isnan(lane.bad_loss) ? "NaN" : "infinite", epoch, lane.bad_step,
                      n_lanes > 1 ? fmt::format(" of thread {}", &lane - lanes.data() + 1) : "",
                      params.learning_rate, params.momentum));
    }
    const auto [events, steps, weighted_loss] = totals();
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
    if (callbacks.on_snapshot && callbacks.snapshot_every > 0 &&
        (epoch % callbacks.snapshot_every == 0 || epoch == params.n_epochs)) {
      Model snapshot = model;  // the item weights are the optimizer's until exported
      optimizer.export_items(snapshot.weights);
      if (!callbacks.on_snapshot(report, snapshot)) break;
    }
  }
  summary.seconds = seconds_since(training_start);
}

}  // namespace

TrainSummary train_model(Model& model, const SessionLog& train, const TrainCallbacks& callbacks,
                         PhaseProfile* profile) {
  const Params& params = model.params;
  GRU4REC_CHECK(static_cast<int32_t>(model.supports.size()) == model.num_items());
  validate_params(params);
  std::unique_ptr<AliasSampler> sampler;
  if (params.n_sample > 0)
    sampler = std::make_unique<AliasSampler>(model.supports, params.sample_alpha);
  TrainSummary summary;
  // From here until export_items(), the optimizer holds the item weights.
  AdagradMomentum<float> optimizer(model.weights, OptimizerConfig::from_params(params));
  try {
    run_epochs(model, train, callbacks, profile, optimizer, sampler.get(), summary);
  } catch (...) {
    optimizer.export_items(model.weights);
    throw;
  }
  optimizer.export_items(model.weights);
  return summary;
}

}  // namespace gru4rec
