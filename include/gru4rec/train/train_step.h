// One training step of GRU4Rec on a session-parallel mini-batch: forward through the GRU
// stack, scores against the target columns, loss, and backward into dense gradients (GRU
// weights) and sparse row gradients (item matrices). No gradient flows into the previous
// hidden state (no BPTT). Per-thread object; no allocation per step.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/core/phase_profile.h"
#include "gru4rec/core/random.h"
#include "gru4rec/model/forward.h"
#include "gru4rec/model/network.h"
#include "gru4rec/train/losses.h"
#include "gru4rec/train/sparse_rows.h"

namespace gru4rec {

template <typename T>
struct StepGradients {
  std::vector<GruLayerWeights<T>> layers;  // dense; layer 0's Wx is unused in one-hot mode
  // Output rows of the targets and samples, and in shared mode also of the inputs: the inputs'
  // rows come first (slots [0, wy_input_slots)), as they are complete only after the backward
  // pass through the GRU; the other rows are complete after the output side.
  SparseRowGrad<T> wy_rows;
  int32_t wy_input_slots = 0;
  SparseRowGrad<T> input_rows;  // rows of E (separate mode) or layer-0 Wx (one-hot mode)
  SparseRowGrad<T> by_rows;     // output biases, one column
  // Set by the optimizer when it has applied the output side early (see AdagradMomentum).
  bool output_side_applied = false;

  // Allocates the gradients of a step of up to max_rows rows and max_columns columns;
  // `input_side_only`: the GRU weights and the input rows' gradients alone (no output rows).
  void reserve(const NetworkShape& shape, Eigen::Index max_rows, Eigen::Index max_columns,
               bool input_side_only = false);

  // Sum of squares of every gradient (for grad_cap).
  double squared_norm() const;
  void scale(T factor);
};

// Copies the item rows (Wy) and biases (By) of columns [first, last) of a step into rows
// [first, last) of `out` and `bias`, the bias minus column_shift (when not empty); prefetches
// rows ahead, as they are scattered over a table far larger than the caches.
template <typename T>
void gather_columns(const ItemTables<const T>& items, std::span<const int32_t> columns,
                    std::span<const T> column_shift, Eigen::Index first, Eigen::Index last,
                    MatrixR<T>& out, RowVector<T>& bias);

struct StepConfig {
  ForwardConfig forward;
  LossConfig loss;
  int batch_size = 64;  // the loss is divided by batch_size, not by the rows of the step

  static StepConfig from_params(const Params& params);
};

template <typename T>
class TrainStep {
 public:
  // `gru_only`: for forward_gru()/backward_gru() alone (no output side: its buffers and item
  // maps are not allocated, which matters with many items and threads).
  TrainStep(const NetworkShape& shape, const StepConfig& config, int max_rows, int max_columns,
            bool gru_only = false);

  // w: the weights (its GRU layers are used); items: views of the item-indexed weights, which
  // during training live in the optimizer (w.item_tables() otherwise). inputs: the M rows'
  // input items; columns: the targets of the M rows followed by the shared negative samples;
  // column_shift: empty, or one value per column subtracted from the scores (the logQ
  // correction). hidden[l] holds the rows' previous states on entry and their new
  // states (the dropped-out outputs) on return. Returns the loss summed over rows, not
  // divided by batch_size; the gradients are of that sum divided by batch_size.
  // `profile`, when not null, gets the time of each phase.
  T run(const NetworkWeights<T>& w, const ItemTables<const T>& items,
        std::span<const int32_t> inputs, std::span<const int32_t> columns,
        std::span<const T> column_shift, std::vector<MatrixR<T>>& hidden, Rng* dropout_rng,
        PhaseProfile* profile = nullptr);

  // run() in two halves, so that the optimizer can update the output side's item rows while
  // they are still in the cache: forward_output() computes the forward pass, the loss and the
  // gradients of the output rows (all but the inputs' rows in shared mode) and biases;
  // backward_hidden() the rest. The second half reads no item row, so those rows may be updated
  // in between.
  T forward_output(const NetworkWeights<T>& w, const ItemTables<const T>& items,
                   std::span<const int32_t> inputs, std::span<const int32_t> columns,
                   std::span<const T> column_shift, const std::vector<MatrixR<T>>& hidden,
                   Rng* dropout_rng, PhaseProfile* profile = nullptr);
  void backward_hidden(const NetworkWeights<T>& w, std::span<const int32_t> inputs,
                       std::vector<MatrixR<T>>& hidden, PhaseProfile* profile = nullptr);

  // The GRU part alone, for a step whose output side (scores, loss, item-row gradients) is
  // computed elsewhere (SplitStep): forward_gru() runs the GRU stack on the rows and returns
  // their top-layer outputs; backward_gru() takes the loss's gradient with respect to those
  // outputs and computes the GRU weights' gradients and the input rows' (in shared mode in
  // gradients().wy_rows, which then holds only those), and writes the new states to `hidden`,
  // which must hold the previous states given to forward_gru(). The returned outputs are valid
  // until the next call.
  ConstMatrixRef<T> forward_gru(const NetworkWeights<T>& w, const ItemTables<const T>& items,
                                std::span<const int32_t> inputs,
                                const std::vector<MatrixR<T>>& hidden, Rng* dropout_rng);
  void backward_gru(const NetworkWeights<T>& w, std::span<const int32_t> inputs,
                    ConstMatrixRef<T> d_top, std::vector<MatrixR<T>>& hidden);

  StepGradients<T>& gradients() { return gradients_; }

 private:
  // From d_hidden_ (dL/d top output) down through the layers (see backward_hidden).
  void backward_layers(const NetworkWeights<T>& w, std::span<const int32_t> inputs,
                       std::vector<MatrixR<T>>& hidden);

  NetworkShape shape_;
  StepConfig config_;
  ForwardBuffers<T> forward_;
  LossWorkspace<T> loss_;
  MatrixR<T> out_rows_;  // Wy[columns]
  MatrixR<T> scores_, d_scores_;
  RowVector<T> column_bias_;
  MatrixR<T> d_hidden_, d_input_, d_projection_;
  Eigen::Index max_rows_;
  Eigen::Index rows_ = 0, cols_ = 0;  // of the step in progress
  StepGradients<T> gradients_;
};

}  // namespace gru4rec
