// A tree-structured Parzen estimator (TPE) sampler for hyperparameter search, written from
// the published algorithm (Bergstra, Bardenet, Bengio & Kegl, "Algorithms for Hyper-Parameter
// Optimization", NIPS 2011), in its independent form:
//   * the first `startup_trials` points are drawn at random (uniformly, or log-uniformly);
//   * after that the finished trials are split into the best gamma share ("good", at least 1,
//     at most 25) and the rest ("bad"); for each parameter a density l(x) is fitted to the good
//     values and g(x) to the bad ones (Parzen windows: a truncated Gaussian per observation,
//     its width the larger gap to its neighbours, plus a wide prior component; categorical
//     parameters get smoothed counts); `candidates` values are drawn from l and the one with
//     the largest l(x) / g(x) is proposed.
// Numeric parameters are modelled on their (log) scale and snapped to their grid.
// Deterministic for a seed. Not thread-safe (one sampler per search).
#pragma once

#include <cstdint>
#include <vector>

#include "gru4rec/core/random.h"
#include "gru4rec/tune/param_space.h"

namespace gru4rec {

struct TpeOptions {
  int startup_trials = 10;
  int candidates = 24;
  double gamma = 0.25;
  uint64_t seed = 1;
};

// One finished trial: a value per parameter of the space (numeric value, or the index of the
// choice for categorical ones) and the objective (to maximise; NaN for a failed trial).
struct Trial {
  std::vector<double> values;
  double objective = 0;
};

class TpeSampler {
 public:
  TpeSampler(ParamSpace space, TpeOptions options);

  // A new point given the finished trials (failed ones count as the worst).
  std::vector<double> propose(const std::vector<Trial>& history);
  // A point drawn at random from the space (what the start-up trials use).
  std::vector<double> random_point();

  const ParamSpace& space() const { return space_; }

 private:
  double propose_numeric(size_t p, const std::vector<double>& good, const std::vector<double>& bad);
  double propose_categorical(size_t p, const std::vector<double>& good,
                             const std::vector<double>& bad);

  ParamSpace space_;
  TpeOptions options_;
  Rng rng_;
};

}  // namespace gru4rec
