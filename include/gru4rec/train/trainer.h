// Training loop of GRU4Rec: epochs of session-parallel mini-batches, negative sampling from a
// sample store, one TrainStep and one optimizer update per mini-batch.
//
// The weights (in Model) and the optimizer state are shared; everything a training thread
// owns (hidden states, step buffers, gradients, random streams, sample store) lives in a
// TrainWorker. With threads=T, T workers run at once, Hogwild-style: worker i trains on
// sessions i, i+T, i+2T, ... of the training order with its own session-parallel mini-batches
// and updates the shared weights without locks (as word2vec and fastText do). threads=1 is
// deterministic for a given seed; more threads are not (the interleaving of updates varies).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "gru4rec/core/phase_profile.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/model/model.h"

namespace gru4rec {

struct TrainProgress {
  int epoch = 0;  // 1-based
  int n_epochs = 0;
  int64_t events_done = 0;   // (input, target) pairs processed in this epoch
  int64_t events_total = 0;  // pairs per epoch
  int64_t steps = 0;         // mini-batches in this epoch so far
  double seconds = 0;        // since the epoch started
  double mean_loss = 0;      // mean loss of the epoch so far
};

struct EpochReport {
  int epoch = 0;
  double loss =
      0;  // step costs (summed loss / batch_size) averaged with the steps' rows as weights
  double seconds = 0;
  int64_t steps = 0;
  int64_t events = 0;
  double steps_per_second() const { return seconds > 0 ? static_cast<double>(steps) / seconds : 0; }
  double events_per_second() const {
    return seconds > 0 ? static_cast<double>(events) / seconds : 0;
  }
};

// The callbacks run on the calling thread (which is the first worker's) between its
// mini-batches; progress figures sum every worker's. They must not read the model's
// item-indexed weights (Wy, By, E): while training, the optimizer holds those.
struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_progress;  // about every progress_interval
  std::function<void(const EpochReport&)> on_epoch;
  double progress_interval_seconds = 1.0;
  // After every snapshot_every-th epoch and after the last one (0: never): a complete copy of
  // the model as trained so far (for validation). Returning false ends the training after
  // this epoch (early stopping); the trained model is then that of this epoch.
  std::function<bool(const EpochReport&, const Model&)> on_snapshot;
  int snapshot_every = 0;
};

struct TrainSummary {
  std::vector<EpochReport> epochs;
  double seconds = 0;
};

// Trains model.weights in place on `train`, whose item indices must be those of model.items.
// Throws TrainingDiverged when the loss becomes NaN or infinite (the model is then unusable).
// `profile`, when not null, receives the time spent in each phase of the steps (of the first
// worker's thread when there are several).
TrainSummary train_model(Model& model, const SessionLog& train,
                         const TrainCallbacks& callbacks = {}, PhaseProfile* profile = nullptr);

}  // namespace gru4rec
