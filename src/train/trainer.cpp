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

namespace gru4rec {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Random stream ids derived from the seed (initialization uses stream 0).
constexpr uint64_t kSamplerStream = 1;
constexpr uint64_t kDropoutStream = 2;
constexpr uint64_t kOrderStream = 3;

// The logQ correction per item: logq * log(support) for the in-batch target columns (they
// are drawn by popularity) and logq * alpha * log(support) for the sampled columns.
struct LogQShift {
  std::vector<float> in_batch, sampled;

  LogQShift(const Params& params, const std::vector<int64_t>& supports) {
    if (params.logq <= 0) return;
    in_batch.resize(supports.size());
    sampled.resize(supports.size());
    for (size_t i = 0; i < supports.size(); ++i) {
      const double log_support = std::log(static_cast<double>(supports[i]));
      in_batch[i] = static_cast<float>(params.logq * log_support);
      sampled[i] = static_cast<float>(params.logq * params.sample_alpha * log_support);
    }
  }
  bool enabled() const { return !in_batch.empty(); }
};

// Everything one training thread owns.
class TrainWorker {
 public:
  TrainWorker(const Model& model, const AliasSampler* sampler, uint64_t seed)
      : params_(model.params),
        step_(model.weights.shape, StepConfig::from_params(model.params), model.params.batch_size,
              model.params.batch_size + model.params.n_sample),
        samples_(sampler, model.params.n_sample, model.params.sample_store_size,
                 Rng::derive_seed(seed, kSamplerStream)),
        dropout_rng_(Rng::derive_seed(seed, kDropoutStream)),
        logq_(model.params, model.supports) {
    for (int size : model.params.layers) {
      hidden_.push_back(MatrixR<float>::Zero(model.params.batch_size, size));
    }
    columns_.resize(static_cast<size_t>(params_.batch_size + params_.n_sample));
    shift_.resize(logq_.enabled() ? columns_.size() : 0);
  }

  void reset_states() {
    for (auto& h : hidden_) h.setZero();
  }

  // One mini-batch: returns the summed row loss (before dividing by batch_size).
  float train(const SessionBatcher::Step& batch, NetworkWeights<float>& weights,
              AdagradMomentum<float>& optimizer, PhaseProfile* profile) {
    const size_t rows = batch.inputs.size();
    if (!batch.kept_rows.empty()) {
      for (auto& h : hidden_) {
        for (size_t k = 0; k < batch.kept_rows.size(); ++k) {
          h.row(static_cast<Eigen::Index>(k)) = h.row(batch.kept_rows[k]);
        }
      }
    }
    mark_phase(profile, Phase::kBatch);
    const std::span<const int32_t> sampled = samples_.next();
    std::copy(batch.targets.begin(), batch.targets.end(), columns_.begin());
    std::copy(sampled.begin(), sampled.end(), columns_.begin() + static_cast<ptrdiff_t>(rows));
    const size_t num_columns = rows + sampled.size();
    std::span<const float> shift;
    if (logq_.enabled()) {
      for (size_t j = 0; j < num_columns; ++j) {
        const auto item = static_cast<size_t>(columns_[j]);
        shift_[j] = j < rows ? logq_.in_batch[item] : logq_.sampled[item];
      }
      shift = std::span<const float>(shift_.data(), num_columns);
    }
    mark_phase(profile, Phase::kSampling);
    const std::span<const int32_t> columns(columns_.data(), num_columns);
    const float loss = step_.forward_output(weights, optimizer.item_tables(), batch.inputs,
                                            columns, shift, hidden_, &dropout_rng_, profile);
    if (!std::isfinite(loss)) return loss;
    // The output side's rows are updated while they are still in the cache, unless clipping
    // needs the norm of the whole gradient first.
    if (params_.grad_cap <= 0) optimizer.update_output_side(step_.gradients(), profile);
    step_.backward_hidden(weights, batch.inputs, hidden_, profile);
    if (params_.grad_cap > 0) {
      const double norm = std::sqrt(step_.gradients().squared_norm());
      if (norm >= params_.grad_cap) {
        step_.gradients().scale(static_cast<float>(params_.grad_cap / norm));
      }
      mark_phase(profile, Phase::kBackward);
    }
    optimizer.update(weights, step_.gradients(), profile);
    // A row whose target ended its session takes a new session: it starts from a zero state.
    for (size_t row = 0; row < rows; ++row) {
      if (batch.session_ends[row] != 0) {
        for (auto& h : hidden_) h.row(static_cast<Eigen::Index>(row)).setZero();
      }
    }
    mark_phase(profile, Phase::kBatch);
    return loss;
  }

 private:
  const Params& params_;
  TrainStep<float> step_;
  SampleStore samples_;
  Rng dropout_rng_;
  LogQShift logq_;
  std::vector<MatrixR<float>> hidden_;
  std::vector<int32_t> columns_;
  std::vector<float> shift_;
};

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
