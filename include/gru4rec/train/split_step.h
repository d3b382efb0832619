// SplitStep: one training step and its update split into a fixed number of shares, run by the
// threads of a team (parallel=sync). It computes what TrainStep followed by
// AdagradMomentum::update computes, on the same mini-batch, split so that no share repeats
// another's work:
//
//   A  rows:    each share the GRU forward pass of its part of the rows (own TrainStep),
//    + columns: and the gather of its part of the columns' item rows into one shared matrix
//   B  columns: scores = top outputs of all rows x (its columns' item rows)^T
//   C  rows:    the loss of its rows (the positive of row i is column i)
//   D  columns: its columns' item-row and bias gradients (d_scores^T x top outputs), and
//      hidden units: its part of dL/d(top outputs) = d_scores x item rows
//   E  rows:    the GRU backward pass of its rows: partial GRU weight gradients and input-row
//      gradients per share
//   F  slices:  each share sums a slice of every partial GRU gradient (in share order) and of
//      the input rows' slots, then updates that slice, those rows and the rows of its columns
//
// Phases that read a whole matrix that another phase splits wait for the team between them.
// The products that scale with the columns (2048 samples and more) are split by columns, so
// each item row is read, gathered and packed once per step, not once per share.
//
// The shares, not the threads, decide what is computed: every share's products have the same
// operands and shapes, and every sum adds the shares in the same order, whichever thread runs
// them (thread t runs shares t, t + threads, ...). So the weights after a step are the same to
// the last bit on any number of threads from 1 to the number of shares (on one CPU and library
// copy: another instruction set rounds differently). Against the unsplit
// step (one share) they differ in the order of floating-point sums and in the dropout masks of
// shares 1 and up, which come from one random stream per share.
//
// One per training lane; not thread-safe. No allocation per step.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/core/phase_profile.h"
#include "gru4rec/core/random.h"
#include "gru4rec/train/optimizer.h"
#include "gru4rec/train/train_step.h"

namespace gru4rec {

// Share p of a split step draws its dropout masks from stream kShareDropoutStreamBase + p of the
// worker's seed (share 0 uses the worker's own dropout stream instead).
inline constexpr uint64_t kShareDropoutStreamBase = 1024;

class SplitStep {
 public:
  // `team` must outlive the step and have at most `shares` threads; max_rows >= shares.
  SplitStep(const NetworkShape& shape, const StepConfig& config, int max_rows, int max_columns,
            double grad_cap, uint64_t seed, int shares, ThreadTeam& team);
  ~SplitStep();

  // Trains on one mini-batch and updates the weights, as TrainWorker::train does with one
  // thread: inputs, columns (the rows' targets, then the negative samples) and column_shift as
  // for TrainStep::run; hidden[l] holds the rows' states and gets their new ones. The first
  // share's dropout masks come from `dropout_rng`. Returns the summed row loss; when it is NaN
  // or infinite nothing is updated.
  float train(NetworkWeights<float>& w, AdagradMomentum<float>& optimizer,
              std::span<const int32_t> inputs, std::span<const int32_t> columns,
              std::span<const float> column_shift, std::vector<MatrixR<float>>& hidden,
              Rng* dropout_rng, PhaseProfile* profile);

 private:
  struct Share;
  // Runs body(share) for every share, spread over the team's threads; returns when all ran.
  template <typename Body>
  void for_each_share(Body&& body);

  NetworkShape shape_;
  StepConfig config_;
  double grad_cap_;
  ThreadTeam& team_;
  std::vector<std::unique_ptr<Share>> shares_;
  // Shared by the threads, each writing its own rows or columns.
  MatrixR<float> out_rows_;  // item rows of the columns
  RowVector<float> column_bias_;
  MatrixR<float> top_, d_top_;  // top-layer outputs of all rows, and their gradient
  MatrixR<float> scores_, d_scores_;
  StepGradients<float> total_;  // the summed gradients that the update applies
};

}  // namespace gru4rec
