// TrainWorker: everything one training lane owns (hidden states of its session-parallel rows,
// the step's buffers and gradients, its random streams and sample store), separate from the
// shared weights and optimizer. One per lane; not thread-safe.
//
// A worker may split every step into shares run by a team of threads (step_shares > 1;
// parallel=sync; see split_step.h): the same weights on any number of threads for a given number
// of shares; against one share, only the order of floating-point sums and the dropout masks'
// random streams differ.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/core/phase_profile.h"
#include "gru4rec/core/random.h"
#include "gru4rec/data/session_batcher.h"
#include "gru4rec/model/model.h"
#include "gru4rec/train/optimizer.h"
#include "gru4rec/train/sampler.h"
#include "gru4rec/train/split_step.h"
#include "gru4rec/train/train_step.h"

namespace gru4rec {

// The logQ correction of the scores, per column of a step (reference section 2.3):
// logq * log(support) for the in-batch target columns, which are drawn by popularity, and
// logq * alpha * log(support) for the sampled columns, drawn by support^alpha.
class LogQShift {
 public:
  LogQShift(const Params& params, const std::vector<int64_t>& supports);

  bool enabled() const { return !in_batch_.empty(); }
  // Fills shift[j] for the columns of a step whose first `rows` columns are the targets.
  void fill(std::span<const int32_t> columns, size_t rows, std::span<float> shift) const;

 private:
  std::vector<float> in_batch_, sampled_;
};

class TrainWorker {
 public:
  // `sampler` (null when n_sample == 0) must outlive the worker; so must `model`. With
  // `workers` workers training at once, each keeps 1/workers of sample_store_size samples, so
  // that the stores take the same memory in all (their samples are independent draws either
  // way). `step_shares` > 1 splits every step into that many shares (at most batch_size), run
  // by `step_threads` threads (at most the shares; the result does not depend on them).
  TrainWorker(const Model& model, const AliasSampler* sampler, uint64_t seed, int workers = 1,
              int step_shares = 1, int step_threads = 1);
  ~TrainWorker();

  // Zeroes every row's state (at the start of an epoch).
  void reset_states();

  // Trains on one mini-batch: compacts the states after a shrink, draws the negatives, runs
  // the step, updates the weights, then zeroes the states of rows whose session ended.
  // Returns the summed row loss (before dividing by batch_size); NaN or Inf is returned without
  // updating anything.
  float train(const SessionBatcher::Step& batch, NetworkWeights<float>& weights,
              AdagradMomentum<float>& optimizer, PhaseProfile* profile = nullptr);

  // The rows' states, one matrix per layer (for tests).
  const std::vector<MatrixR<float>>& hidden_states() const { return hidden_; }

  // The threads that share each step (1: the calling thread alone).
  int step_threads() const { return team_ ? team_->size() : 1; }

 private:
  void reset_ended_sessions(const SessionBatcher::Step& batch);

  const Params& params_;
  TrainStep<float> step_;
  SampleStore samples_;
  Rng dropout_rng_;
  LogQShift logq_;
  std::vector<MatrixR<float>> hidden_;
  std::vector<int32_t> columns_;
  std::vector<float> shift_;
  std::unique_ptr<ThreadTeam> team_;  // with step_shares > 1
  std::unique_ptr<SplitStep> split_;
};

// Random stream ids derived from the seed (initialization uses stream 0).
inline constexpr uint64_t kSamplerStream = 1;
inline constexpr uint64_t kDropoutStream = 2;
inline constexpr uint64_t kOrderStream = 3;
// Training thread i > 0 derives its worker seed from stream kWorkerStreamBase + i.
inline constexpr uint64_t kWorkerStreamBase = 16;

}  // namespace gru4rec
