#include "gru4rec/train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/core/random.h"
#include "gru4rec/data/holdout.h"
#include "gru4rec/data/session_batcher.h"
#include "gru4rec/train/optimizer.h"
#include "gru4rec/train/sampler.h"
#include "gru4rec/train/train_step.h"
#include "gru4rec/train/train_worker.h"

namespace gru4rec {
namespace {

// A copy of the optimizer's state, to keep with the model.
std::shared_ptr<const OptimizerState> state_of(const AdagradMomentum<float>& optimizer,
                                               const NetworkShape& shape) {
  auto state = std::make_shared<OptimizerState>();
  state->accumulators = NetworkWeights<float>::zeros(shape);
  if (optimizer.has_momentum()) state->velocities = NetworkWeights<float>::zeros(shape);
  optimizer.export_state(state->accumulators, state->velocities ? &*state->velocities : nullptr);
  return state;
}

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
  // The divergence guard's window: summed losses and rows (lane's thread only).
  double window_loss = 0;
  int64_t window_rows = 0, window_first_step = 0;
};

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

void notify(const TrainCallbacks& callbacks, const std::string& message) {
  if (callbacks.on_notice) callbacks.on_notice(message);
}

// The divergence guard of the parallel mode (trainer.h): consecutive mini-batches of one
// worker holding at least kGuardWindow x batch_size rows (so that the small batches at the end
// of an epoch are not judged alone) whose loss per row exceeds kDivergedFactor times the
// untrained model's. Blown-up runs are 10-30 times above it; sound runs stay below 1.5 times
// (cross-entropy's noisiest mini-batches).
constexpr int kGuardWindow = 8;
constexpr double kDivergedFactor = 3.0;

enum class RunOutcome { kDone, kParallelRunDiverged };

// params.average_epochs: the sum of the weights after each of the last epochs (two copies of
// the weights, once per averaged epoch, never per step).
class EpochAverage {
 public:
  explicit EpochAverage(const Params& params)
      : averaged_(std::min(params.average_epochs, params.n_epochs)),
        first_epoch_(params.n_epochs - averaged_ + 1) {}

  // After epoch `epoch`: adds the model's weights (the item rows as the optimizer holds them).
  void add(int epoch, const Model& model, const AdagradMomentum<float>& optimizer) {
    if (averaged_ < 2 || epoch < first_epoch_) return;
    epoch_weights_ = model.weights;
    optimizer.export_items(*epoch_weights_);
    if (!sum_) {
      sum_ = *epoch_weights_;
    } else {
      std::vector<float*> sums;
      sum_->for_each_tensor([&](const std::string&, auto& t) { sums.push_back(t.data()); });
      size_t k = 0;
      epoch_weights_->for_each_tensor([&](const std::string&, const auto& t) {
        // In memory order (some tensors are row-major).
        Eigen::Map<Eigen::ArrayXf>(sums[k++], t.size()) +=
            Eigen::Map<const Eigen::ArrayXf>(t.data(), t.size());
      });
    }
    ++count_;
  }

  // The mean replaces the model's weights when two or more epochs were added.
  void apply(Model& model) {
    if (count_ < 2) return;
    const float scale = 1.0F / static_cast<float>(count_);
    sum_->for_each_tensor([&](const std::string&, auto& t) { t *= scale; });
    model.weights = std::move(*sum_);
  }

 private:
  int averaged_;  // epochs averaged: min(average_epochs, n_epochs)
  int first_epoch_;
  int count_ = 0;
  std::optional<NetworkWeights<float>> epoch_weights_, sum_;
};

// The epochs of one training run with a fixed number of lanes.
class TrainingRun {
 public:
  // `initial_weights`: with several lanes, the copy of the initial weights that a fall back to
  // one thread restarts from; released (reset) once the first parallel epoch went well.
  TrainingRun(Model& model, const SessionLog& train, const TrainCallbacks& callbacks,
              PhaseProfile* profile, AdagradMomentum<float>& optimizer, const AliasSampler* sampler,
              int n_lanes, int step_shares, int step_threads,
              std::optional<NetworkWeights<float>>* initial_weights, EpochAverage& average)
      : model_(model),
        params_(model.params),
        train_(train),
        callbacks_(callbacks),
        profile_(profile),
        optimizer_(optimizer),
        initial_weights_(initial_weights),
        average_(average),
        n_lanes_(n_lanes) {
    const uint64_t seed = static_cast<uint64_t>(params_.seed);
    order_rng_ = Rng(Rng::derive_seed(seed, kOrderStream));
    const int min_rows = params_.n_sample == 0 ? 2 : 1;
    order_ = training_order(train, params_, order_rng_);
    // One thread follows the order itself (deterministic); several share it out on demand.
    if (n_lanes > 1) queue_ = std::make_unique<SessionQueue>(order_);
    lanes_ = std::vector<WorkerLane>(static_cast<size_t>(n_lanes));
    for (int i = 0; i < n_lanes; ++i) {
      WorkerLane& lane = lanes_[static_cast<size_t>(i)];
      lane.batcher =
          queue_ ? std::make_unique<SessionBatcher>(train, *queue_, params_.batch_size, min_rows)
                 : std::make_unique<SessionBatcher>(train, order_, params_.batch_size, min_rows);
      // Lane 0 uses the model's seed as is, so that threads=1 trains as it always has.
      lane.worker = std::make_unique<TrainWorker>(
          model, sampler,
          i == 0 ? seed : Rng::derive_seed(seed, kWorkerStreamBase + static_cast<uint64_t>(i)),
          n_lanes, step_shares, step_threads);
    }
    serial_steps_left_ = n_lanes > 1 ? int64_t{params_.parallel_warmup} * (n_lanes - 1) : 0;
  }

  RunOutcome run(TrainSummary& summary) {
    const int64_t events_total = count_transitions(train_);
    for (int epoch = 1; epoch <= params_.n_epochs; ++epoch) {
      start_epoch(epoch);
      int64_t parallel_steps = 0;
      // Round robin on this thread: exactly serial training, while the optimizer warms up.
      while (serial_steps_left_ > 0 && !stop_.load(std::memory_order_relaxed)) {
        bool any = false;
        for (int i = 0; i < n_lanes_ && serial_steps_left_ > 0; ++i) {
          SessionBatcher::Step batch;
          if (stop_.load(std::memory_order_relaxed)) break;
          if (!lanes_[static_cast<size_t>(i)].batcher->next(batch)) continue;
          any = true;
          --serial_steps_left_;
          ++summary.serial_steps;
          train_one(i, batch, /*parallel=*/false, epoch, events_total);
        }
        if (!any) break;
      }
      // Then every lane at once, sharing the weights without locks (Hogwild): rows touched by
      // two lanes at once may mix their updates, which sparse, small steps make rare and
      // harmless.
      std::atomic<int64_t> lane_parallel_steps{0};
      run_parallel(n_lanes_, [&](int i) {
        WorkerLane& lane = lanes_[static_cast<size_t>(i)];
        SessionBatcher::Step batch;
        int64_t steps = 0;
        // Any error stops the other lanes too (run_parallel rethrows it after they return).
        struct StopOnError {
          std::atomic<bool>& stop;
          ~StopOnError() {
            if (std::uncaught_exceptions() > 0) stop.store(true, std::memory_order_relaxed);
          }
        } stop_on_error{stop_};
        while (!stop_.load(std::memory_order_relaxed) && lane.batcher->next(batch)) {
          ++steps;
          if (!train_one(i, batch, /*parallel=*/n_lanes_ > 1, epoch, events_total)) break;
        }
        lane_parallel_steps.fetch_add(steps, std::memory_order_relaxed);
      });
      parallel_steps = lane_parallel_steps.load();
      if (parallel_diverged_.load()) return RunOutcome::kParallelRunDiverged;
      for (const WorkerLane& lane : lanes_) {
        if (lane.bad_step < 0) continue;
        throw TrainingDiverged(fmt::format(
            "training diverged: the loss became {} in epoch {} at mini-batch {}{}; {}",
            std::isnan(lane.bad_loss) ? "NaN" : "infinite", epoch, lane.bad_step,
            n_lanes_ > 1 ? fmt::format(" of thread {}", &lane - lanes_.data() + 1) : "", advice()));
      }
      // A loss can stay finite while weights overflow (saturated sigmoids and softmaxes hide
      // them): no model with NaN or infinite weights leaves the training.
      if (!optimizer_.weights_finite(model_.weights)) {
        if (n_lanes_ > 1 && parallel_steps > 0 && initial_weights_ != nullptr) {
          abandon_parallel_run(fmt::format("weights became NaN or infinite in epoch {}", epoch));
          return RunOutcome::kParallelRunDiverged;
        }
        throw TrainingDiverged(fmt::format(
            "training diverged: the weights became NaN or infinite in epoch {} (the loss stayed "
            "finite, at {:.4g}); {}",
            epoch, std::get<2>(totals()) / std::max<double>(1, std::get<0>(totals())), advice()));
      }
      // The first epoch with parallel steps went well: the optimizer's steps are now small,
      // and the copy for a restart is no longer needed.
      if (n_lanes_ > 1 && parallel_steps > 0 && initial_weights_ != nullptr) {
        initial_weights_->reset();
        initial_weights_ = nullptr;
      }
      const auto [events, steps, weighted_loss] = totals();
      GRU4REC_CHECK(steps > 0, "an epoch without a training step");
      EpochReport report{.epoch = epoch,
                         .loss = events > 0 ? weighted_loss / static_cast<double>(events) : 0.0,
                         .seconds = seconds_since(epoch_start_),
                         .steps = steps,
                         .events = events};
      summary.epochs.push_back(report);
      model_.stats.epochs = epoch;
      model_.stats.final_loss = report.loss;
      if (callbacks_.on_epoch) callbacks_.on_epoch(report);
      average_.add(epoch, model_, optimizer_);
      if (callbacks_.on_snapshot && callbacks_.snapshot_every > 0 &&
          (epoch % callbacks_.snapshot_every == 0 || epoch == params_.n_epochs)) {
        Model snapshot = model_;  // the item weights are the optimizer's until exported
        optimizer_.export_items(snapshot.weights);
        snapshot.optimizer_state = state_of(optimizer_, snapshot.weights.shape);
        if (!callbacks_.on_snapshot(report, snapshot)) break;
      }
    }
    return RunOutcome::kDone;
  }

  // The threads that train: every lane's, each maybe splitting its steps (a team can be
  // smaller than asked when the system refuses threads).
  int threads() const {
    int total = 0;
    for (const WorkerLane& lane : lanes_) total += lane.worker->step_threads();
    return total;
  }

  std::string advice() const {
    return fmt::format(
        "lower learning_rate (now {}) or momentum (now {}), or try "
        "loss=cross-entropy",
        params_.learning_rate, params_.momentum);
  }

  // Why the parallel run was abandoned (after run() returned kParallelRunDiverged).
  const std::string& divergence() const { return divergence_; }

 private:
  void start_epoch(int epoch) {
    const bool new_order = epoch > 1 && params_.train_random_order;
    if (new_order) order_ = training_order(train_, params_, order_rng_);
    if (queue_ && epoch > 1) new_order ? queue_->restart(order_) : queue_->restart();
    for (int i = 0; i < n_lanes_; ++i) {
      WorkerLane& lane = lanes_[static_cast<size_t>(i)];
      if (epoch > 1) {
        if (new_order && !queue_)
          lane.batcher->restart(order_);
        else
          lane.batcher->restart();
      }
      lane.worker->reset_states();
      lane.events.store(0, std::memory_order_relaxed);
      lane.steps.store(0, std::memory_order_relaxed);
      lane.weighted_loss.store(0, std::memory_order_relaxed);
      lane.window_loss = 0;
      lane.window_rows = 0;
    }
    epoch_start_ = Clock::now();
    last_report_ = epoch_start_;
  }

  std::tuple<int64_t, int64_t, double> totals() const {
    int64_t events = 0, steps = 0;
    double weighted_loss = 0;
    for (const WorkerLane& lane : lanes_) {
      events += lane.events.load(std::memory_order_relaxed);
      steps += lane.steps.load(std::memory_order_relaxed);
      weighted_loss += lane.weighted_loss.load(std::memory_order_relaxed);
    }
    return {events, steps, weighted_loss};
  }

  // Trains lane i on one mini-batch, on the lane's thread (or on the calling thread while the
  // lanes take turns). False when the lane must stop.
  bool train_one(int i, const SessionBatcher::Step& batch, bool parallel, int epoch,
                 int64_t events_total) {
    WorkerLane& lane = lanes_[static_cast<size_t>(i)];
    // With several lanes, the profile is that of the first lane.
    PhaseProfile* lane_profile = i == 0 ? profile_ : nullptr;
    if (lane_profile != nullptr) lane_profile->start();
    const auto rows = static_cast<int64_t>(batch.inputs.size());
    const float loss = lane.worker->train(batch, model_.weights, optimizer_, lane_profile);
    const bool guarded = parallel && initial_weights_ != nullptr;
    const int64_t steps = lane.steps.load(std::memory_order_relaxed) + 1;
    if (!std::isfinite(loss)) {
      if (guarded) {
        abandon_parallel_run(
            fmt::format("the loss of thread {} became {} at its mini-batch {} "
                        "of epoch {}",
                        i + 1, std::isnan(loss) ? "NaN" : "infinite", steps, epoch));
      } else {
        lane.bad_loss = loss;
        lane.bad_step = steps;
        stop_.store(true, std::memory_order_relaxed);
      }
      return false;
    }
    const double row_loss = static_cast<double>(loss) / static_cast<double>(rows);
    double expected = 0;
    untrained_loss_.compare_exchange_strong(expected, row_loss);
    if (guarded) {
      if (lane.window_rows == 0) lane.window_first_step = steps;
      lane.window_loss += static_cast<double>(loss);
      lane.window_rows += rows;
      if (lane.window_rows >= int64_t{kGuardWindow} * params_.batch_size) {
        const double mean = lane.window_loss / static_cast<double>(lane.window_rows);
        const double untrained = untrained_loss_.load();
        const int64_t first = lane.window_first_step;
        lane.window_loss = 0;
        lane.window_rows = 0;
        if (mean > kDivergedFactor * untrained) {
          abandon_parallel_run(fmt::format(
              "thread {} averaged a loss of {:.4g} per row over its mini-batches {} to {} of "
              "epoch {}, more than {} times the untrained model's {:.4g}",
              i + 1, mean, first, steps, epoch, kDivergedFactor, untrained));
          return false;
        }
      }
    }
    // The step cost is the summed loss / batch_size; the epoch loss is its mean weighted by
    // the step's rows (as the official code prints it).
    const double weighted =
        static_cast<double>(loss) / params_.batch_size * static_cast<double>(rows);
    lane.weighted_loss.store(lane.weighted_loss.load(std::memory_order_relaxed) + weighted,
                             std::memory_order_relaxed);
    lane.events.store(lane.events.load(std::memory_order_relaxed) + rows,
                      std::memory_order_relaxed);
    lane.steps.store(steps, std::memory_order_relaxed);
    if (lane_profile != nullptr) lane_profile->add_step();
    // Progress is reported from the calling thread only: lane 0's, which also runs the turns.
    if ((i == 0 || !parallel) && callbacks_.on_progress && (steps & 15) == 0 &&
        seconds_since(last_report_) >= callbacks_.progress_interval_seconds) {
      last_report_ = Clock::now();
      const auto [all_events, all_steps, all_loss] = totals();
      callbacks_.on_progress(
          TrainProgress{.epoch = epoch,
                        .n_epochs = params_.n_epochs,
                        .events_done = all_events,
                        .events_total = events_total,
                        .steps = all_steps,
                        .seconds = seconds_since(epoch_start_),
                        .mean_loss = all_loss / static_cast<double>(all_events)});
    }
    return true;
  }

  void abandon_parallel_run(std::string why) {
    std::lock_guard<std::mutex> lock(divergence_mutex_);
    if (!parallel_diverged_.exchange(true)) divergence_ = std::move(why);
    stop_.store(true, std::memory_order_relaxed);
  }

  Model& model_;
  const Params& params_;
  const SessionLog& train_;
  const TrainCallbacks& callbacks_;
  PhaseProfile* profile_;
  AdagradMomentum<float>& optimizer_;
  std::optional<NetworkWeights<float>>* initial_weights_;
  EpochAverage& average_;
  const int n_lanes_;
  Rng order_rng_{0};
  std::vector<int64_t> order_;
  std::unique_ptr<SessionQueue> queue_;  // with several lanes
  std::vector<WorkerLane> lanes_;
  int64_t serial_steps_left_ = 0;
  Clock::time_point epoch_start_, last_report_;
  std::atomic<bool> stop_{false};
  // The loss per row of the first mini-batch, before any update: the untrained level.
  std::atomic<double> untrained_loss_{0};
  std::atomic<bool> parallel_diverged_{false};
  std::mutex divergence_mutex_;
  std::string divergence_;
};

}  // namespace

TrainSummary train_model(Model& model, const SessionLog& all_data, const TrainCallbacks& callbacks,
                         PhaseProfile* profile) {
  const Params& params = model.params;
  GRU4REC_CHECK(static_cast<int32_t>(model.supports.size()) == model.num_items());
  validate_params(params);
  // With the repeat head: the last sessions are left to its fit (see Params::repeat_holdout).
  const bool repeat_head = model.weights.shape.repeat_features > 0;
  HoldoutSplit split;
  if (repeat_head) {
    split = split_last_sessions(all_data, params.repeat_holdout, /*drop_unknown_items=*/false);
  }
  const SessionLog& train = repeat_head ? split.train : all_data;
  std::unique_ptr<AliasSampler> sampler;
  if (params.n_sample > 0)
    sampler = std::make_unique<AliasSampler>(model.supports, params.sample_alpha);
  bool hogwild = params.parallel == ParallelMode::kHogwild && params.threads > 1;
  int n_lanes = hogwild ? training_lanes(train, params) : 1;
  if (hogwild && n_lanes < params.threads) {
    notify(callbacks,
           n_lanes > 1
               ? fmt::format("training on {} threads instead of {}: each thread needs at least "
                             "batch_size ({}) sessions of 2 or more events",
                             n_lanes, params.threads, params.batch_size)
               : fmt::format("training with parallel=sync instead of hogwild: each hogwild "
                             "thread needs at least batch_size ({}) sessions of 2 or more events",
                             params.batch_size));
    hogwild = n_lanes > 1;
  }
  // parallel=sync: one lane whose steps are split into step_shares shares (at most batch_size:
  // each needs a row), run by as many of the threads as there are shares. Hogwild lanes do not
  // split their steps.
  const int sync_shares = std::clamp(params.step_shares, 1, params.batch_size);
  const int sync_threads = std::min(params.threads, sync_shares);
  int step_shares = hogwild ? 1 : sync_shares;
  int step_threads = hogwild ? 1 : sync_threads;
  if (!hogwild && params.threads > sync_threads) {
    notify(callbacks,
           sync_shares == 1
               ? fmt::format("training on 1 thread instead of {}: step_shares={} trains the "
                             "unsplit step",
                             params.threads, params.step_shares)
               : fmt::format("training on {} threads instead of {}: parallel=sync splits every "
                             "mini-batch into {} shares (step_shares={}, at most batch_size={})",
                             sync_threads, params.threads, sync_shares, params.step_shares,
                             params.batch_size));
  }
  if (!hogwild && sync_threads < sync_shares) {
    notify(callbacks,
           fmt::format("parallel=sync: every mini-batch split into {} shares on {} thread{}: the "
                       "same model as on any number of threads{}",
                       sync_shares, sync_threads, sync_threads == 1 ? "" : "s",
                       sync_threads == 1 ? " (step_shares=1 trains the unsplit step, faster on "
                                           "one thread, rounded differently)"
                                         : ""));
  }
  // With several threads: the weights to restart from if the parallel run diverges.
  std::optional<NetworkWeights<float>> initial_weights;
  if (n_lanes > 1) {
    initial_weights = model.weights;
    const int64_t warmup = int64_t{params.parallel_warmup} * (n_lanes - 1);
    notify(callbacks,
           warmup > 0 ? fmt::format("training on {} threads, parallel=hogwild: the first {} "
                                    "mini-batches one at a time (parallel_warmup={} per further "
                                    "thread), then all threads at once",
                                    n_lanes, warmup, params.parallel_warmup)
                      : fmt::format("training on {} threads, parallel=hogwild, all at once "
                                    "(parallel_warmup=0)",
                                    n_lanes));
  }
  const Clock::time_point start = Clock::now();
  TrainSummary summary;
  bool fell_back = false;
  for (;;) {
    summary = TrainSummary{};
    // From here until export_items(), the optimizer holds the item weights.
    AdagradMomentum<float> optimizer(model.weights, OptimizerConfig::from_params(params));
    if (model.optimizer_state) {  // continue where the last training stopped (also on a restart)
      const OptimizerState& state = *model.optimizer_state;
      GRU4REC_CHECK(state.accumulators.shape.num_items == model.num_items() &&
                    state.accumulators.shape.layers == model.weights.shape.layers);
      optimizer.import_state(state.accumulators, state.velocities ? &*state.velocities : nullptr);
    }
    RunOutcome outcome;
    std::string divergence;
    EpochAverage average(params);
    try {
      TrainingRun run(model, train, callbacks, profile, optimizer, sampler.get(), n_lanes,
                      step_shares, step_threads, n_lanes > 1 ? &initial_weights : nullptr, average);
      summary.threads = run.threads();
      outcome = run.run(summary);
      divergence = run.divergence();
    } catch (...) {
      optimizer.export_items(model.weights);
      throw;
    }
    if (outcome == RunOutcome::kParallelRunDiverged) {
      GRU4REC_CHECK(initial_weights.has_value());
      notify(callbacks, fmt::format("the parallel training diverged ({}); training again from "
                                    "the initial weights with parallel=sync, whose model is "
                                    "that of threads=1",
                                    divergence));
      model.weights = std::move(*initial_weights);
      initial_weights.reset();
      model.stats.epochs = 0;
      model.stats.final_loss = 0;
      n_lanes = 1;
      step_shares = sync_shares;
      step_threads = sync_threads;
      fell_back = true;
      continue;
    }
    optimizer.export_items(model.weights);
    model.optimizer_state = state_of(optimizer, model.weights.shape);
    average.apply(model);  // the optimizer's state goes on from the last epoch's
    break;
  }
  summary.fell_back_to_one_thread = fell_back;
  if (model.weights.shape.repeat_features > 0) {
    summary.repeat_head = fit_repeat_head(model, split.valid, params.threads);
    const RepeatFitReport& r = *summary.repeat_head;
    notify(callbacks,
           fmt::format("repeat head fitted on {} predictions of the last {:g}% of the sessions, "
                       "which the GRU did not train on ({:.1f}% repeats) in {:.1f} s: "
                       "held-out MRR@20 {:.4f} -> {:.4f}, cross-entropy {:.4f} -> {:.4f} (scale "
                       "of the scores {}, epoch {})",
                       r.predictions, 100 * params.repeat_holdout,
                       r.predictions > 0 ? 100.0 * static_cast<double>(r.repeat_targets) /
                                               static_cast<double>(r.predictions)
                                         : 0.0,
                       r.seconds, r.held_out_mrr_before, r.held_out_mrr_after,
                       r.held_out_loss_before, r.held_out_loss_after, r.scale, r.best_epoch));
  }
  summary.seconds = seconds_since(start);
  return summary;
}

}  // namespace gru4rec
