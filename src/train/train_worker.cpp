#include "gru4rec/train/train_worker.h"

#include <algorithm>
#include <cmath>

#include "gru4rec/core/error.h"

namespace gru4rec {

LogQShift::LogQShift(const Params& params, const std::vector<int64_t>& supports) {
  if (params.logq <= 0) return;
  in_batch_.resize(supports.size());
  sampled_.resize(supports.size());
  for (size_t i = 0; i < supports.size(); ++i) {
    const double log_support = std::log(static_cast<double>(supports[i]));
    in_batch_[i] = static_cast<float>(params.logq * log_support);
    sampled_[i] = static_cast<float>(params.logq * params.sample_alpha * log_support);
  }
}

void LogQShift::fill(std::span<const int32_t> columns, size_t rows, std::span<float> shift) const {
  GRU4REC_CHECK(enabled() && shift.size() >= columns.size() && rows <= columns.size());
  for (size_t j = 0; j < columns.size(); ++j) {
    const auto item = static_cast<size_t>(columns[j]);
    shift[j] = j < rows ? in_batch_[item] : sampled_[item];
  }
}

namespace {

// The shares a step is split into: each needs a row of the mini-batch.
int split_shares(const Params& params, int step_shares) {
  return std::clamp(step_shares, 1, params.batch_size);
}

}  // namespace

TrainWorker::TrainWorker(const Model& model, const AliasSampler* sampler, uint64_t seed,
                         int workers, int step_shares, int step_threads)
    : params_(model.params),
      // A split step has buffers of its own: then this one is never used and kept minimal.
      step_(model.weights.shape, StepConfig::from_params(model.params),
            split_shares(model.params, step_shares) > 1 ? 1 : model.params.batch_size,
            split_shares(model.params, step_shares) > 1
                ? 1
                : model.params.batch_size + model.params.n_sample,
            /*gru_only=*/split_shares(model.params, step_shares) > 1),
      samples_(sampler, model.params.n_sample,
               (model.params.sample_store_size + workers - 1) / workers,
               Rng::derive_seed(seed, kSamplerStream)),
      dropout_rng_(Rng::derive_seed(seed, kDropoutStream)),
      logq_(model.params, model.supports) {
  for (int size : model.params.layers) {
    hidden_.push_back(MatrixR<float>::Zero(model.params.batch_size, size));
  }
  columns_.resize(static_cast<size_t>(params_.batch_size + params_.n_sample));
  shift_.resize(logq_.enabled() ? columns_.size() : 0);
  const int shares = split_shares(params_, step_shares);
  if (shares == 1) return;
  team_ = std::make_unique<ThreadTeam>(std::clamp(step_threads, 1, shares));
  split_ = std::make_unique<SplitStep>(model.weights.shape, StepConfig::from_params(model.params),
                                       params_.batch_size, static_cast<int>(columns_.size()),
                                       params_.grad_cap, seed, shares, *team_);
}

TrainWorker::~TrainWorker() = default;

void TrainWorker::reset_states() {
  for (auto& h : hidden_) h.setZero();
}

void TrainWorker::reset_ended_sessions(const SessionBatcher::Step& batch) {
  // A row whose target ended its session takes a new session: it starts from a zero state.
  for (size_t row = 0; row < batch.session_ends.size(); ++row) {
    if (batch.session_ends[row] != 0) {
      for (auto& h : hidden_) h.row(static_cast<Eigen::Index>(row)).setZero();
    }
  }
}

float TrainWorker::train(const SessionBatcher::Step& batch, NetworkWeights<float>& weights,
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
  const std::span<const int32_t> columns(columns_.data(), rows + sampled.size());
  std::span<const float> shift;
  if (logq_.enabled()) {
    logq_.fill(columns, rows, shift_);
    shift = std::span<const float>(shift_.data(), columns.size());
  }
  mark_phase(profile, Phase::kSampling);
  if (split_) {
    const float loss = split_->train(weights, optimizer, batch.inputs, columns, shift, hidden_,
                                     &dropout_rng_, profile);
    if (!std::isfinite(loss)) return loss;
    reset_ended_sessions(batch);
    mark_phase(profile, Phase::kBatch);
    return loss;
  }
  const float loss = step_.forward_output(weights, optimizer.item_tables(), batch.inputs, columns,
                                          shift, hidden_, &dropout_rng_, profile);
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
  reset_ended_sessions(batch);
  mark_phase(profile, Phase::kBatch);
  return loss;
}

}  // namespace gru4rec
