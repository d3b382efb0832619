// Adagrad with heavy-ball momentum, as in the official GRU4Rec:
//   acc += g^2;  step = g / sqrt(acc + 1e-6)
//   momentum > 0:  v = momentum * v - lr * (step + lmbd * p);  p += v
//   otherwise:     p = p * (1 - lr * lmbd) - lr * step
// Item-indexed matrices (Wy, By, E, one-hot input weights) are updated sparsely: only the
// rows touched by the step are read and written, in the parameters, the accumulators and the
// velocities alike (untouched rows keep their velocity: "lazy" momentum). lmbd applies to the
// dense GRU weights only, as in the official code.
//
// The optimizer state is shared like the weights; update() must not run concurrently on the
// same rows from several threads unless the caller accepts Hogwild-style races.
#pragma once

#include "gru4rec/core/phase_profile.h"
#include "gru4rec/model/network.h"
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
  AdagradMomentum(const NetworkShape& shape, const OptimizerConfig& config);

  // Applies the whole step, or what update_output_side() has not applied yet.
  void update(NetworkWeights<T>& weights, const StepGradients<T>& gradients,
              PhaseProfile* profile = nullptr);

  // Applies the output side of a step early (the rows of Wy that are complete after
  // TrainStep::forward_output, and By), while those rows are still in the cache; marks the
  // gradients so that update() skips them. Not with gradient clipping, which needs the whole
  // gradient first.
  void update_output_side(NetworkWeights<T>& weights, StepGradients<T>& gradients,
                          PhaseProfile* profile = nullptr);

  const NetworkWeights<T>& accumulators() const { return accumulators_; }

 private:
  OptimizerConfig config_;
  NetworkWeights<T> accumulators_;
  NetworkWeights<T> velocities_;  // empty tensors when momentum == 0
};

}  // namespace gru4rec
