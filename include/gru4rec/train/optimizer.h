// Adagrad with heavy-ball momentum, as in the official GRU4Rec:
//   acc += g^2;  step = g / sqrt(acc + 1e-6)
//   momentum > 0:  v = momentum * v - lr * (step + lmbd * p);  p += v
//   otherwise:     p = p * (1 - lr * lmbd) - lr * step
// Item-indexed matrices (Wy, By, E, one-hot input weights) are updated sparsely: only the
// rows touched by the step are read and written, in the weights, the accumulators and the
// velocities alike (untouched rows keep their velocity: "lazy" momentum). lmbd applies to the
// dense GRU weights only, as in the official code.
//
// While training, the optimizer holds the item-indexed weights, interleaved with their state
// (see interleaved_table.h): the constructor takes them over from the NetworkWeights (which
// then hold empty item matrices) and export_items() writes them back. Not thread-safe, except
// update_share(), which several threads call at once for one step (with disjoint slots), and
// item_tables() (Hogwild threads read and update without locks, by design).
#pragma once

#include <vector>

#include "gru4rec/core/phase_profile.h"
#include "gru4rec/model/network.h"
#include "gru4rec/train/interleaved_table.h"
#include "gru4rec/train/train_step.h"

namespace gru4rec {

struct OptimizerConfig {
  double learning_rate = 0.05;
  double momentum = 0;
  double lmbd = 0;

  static OptimizerConfig from_params(const Params& params);
};

template <typename T>
class AdagradMomentum {
 public:
  AdagradMomentum(NetworkWeights<T>& weights, const OptimizerConfig& config);

  // The item-indexed weights being trained (for TrainStep).
  ItemTables<const T> item_tables() const;

  // Applies the whole step, or what update_output_side() has not applied yet.
  void update(NetworkWeights<T>& weights, const StepGradients<T>& gradients,
              PhaseProfile* profile = nullptr);

  // Slots [first, last) of an item-row gradient (SparseRowGrad) of a step.
  struct SlotRange {
    int32_t first = 0, last = 0;
  };
  // The item rows that one thread updates in update_share().
  struct ItemSlots {
    SlotRange wy[2];  // two ranges of Wy's slots (in shared mode: inputs' and columns')
    SlotRange by, input;
  };

  // One thread's part of update(), so that several threads apply one step together: share
  // `share` of `shares` of every dense GRU tensor (its values [n * share / shares,
  // n * (share + 1) / shares)) and the item rows of `slots`. The threads' slots must hold
  // different items (merged gradients: each item has one slot). Not after update_output_side().
  void update_share(NetworkWeights<T>& weights, const StepGradients<T>& gradients, int share,
                    int shares, const ItemSlots& slots);

  // Applies the output side of a step early (the rows of Wy that are complete after
  // TrainStep::forward_output, and By), while those rows are still in the cache; marks the
  // gradients so that update() skips them. Not with gradient clipping, which needs the whole
  // gradient first.
  void update_output_side(StepGradients<T>& gradients, PhaseProfile* profile = nullptr);

  // Writes the item-indexed weights back into `weights` (allocating them).
  void export_items(NetworkWeights<T>& weights) const;

  // The optimizer's state, tensor by tensor as the weights (same shape): the Adagrad
  // accumulators and, with momentum, the velocities. import_state() replaces the zeros a new
  // optimizer starts from (`velocities` null, or without momentum: they stay zero);
  // export_state() writes them (velocities only with momentum).
  void import_state(const NetworkWeights<T>& accumulators, const NetworkWeights<T>* velocities);
  void export_state(NetworkWeights<T>& accumulators, NetworkWeights<T>* velocities) const;
  bool has_momentum() const { return config_.momentum > 0; }

  // True when every weight (the dense ones of `weights` and the item-indexed ones held here) is
  // finite. A pass over all weights.
  bool weights_finite(const NetworkWeights<T>& weights) const;

  // The Adagrad accumulators of the rows of Wy (for tests).
  ItemRows<const T> wy_accumulators() const { return wy_.accumulators(); }

 private:
  // Copies the accumulators (or the velocities) between the optimizer and `state`, a tensor
  // set of the weights' shape: into the optimizer, or out of it into `state`.
  void transfer_state(NetworkWeights<T>& state, bool velocities, bool into_optimizer);

  // The dense GRU tensors' share `share` of `shares` (see update_share; 0 of 1: all).
  void update_dense_layers(NetworkWeights<T>& w, const StepGradients<T>& g, int share, int shares);

  OptimizerConfig config_;
  EmbeddingMode mode_;
  std::vector<GruLayerWeights<T>> accumulators_, velocities_;  // of the dense GRU weights
  InterleavedTable<T> wy_, by_, input_;  // input_: E or the one-hot layer-0 Wx
};

}  // namespace gru4rec
