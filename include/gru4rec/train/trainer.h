// Training loop of GRU4Rec: epochs of session-parallel mini-batches, negative sampling from a
// sample store, one TrainStep and one optimizer update per mini-batch.
//
// The weights (in Model) and the optimizer state are shared; everything a training lane
// owns (hidden states, step buffers, gradients, random streams, sample store) lives in a
// TrainWorker. threads=T trains in one of two ways (Params::parallel), on at most T threads:
//
// - sync (the default): one lane, every mini-batch split into step_shares shares (its rows for
//   the GRU, its columns for the scores) that min(T, step_shares) threads run, the gradients
//   summed in share order, one update (split_step.h). The model depends on the seed and
//   step_shares only: the same to the last bit on any number of threads (on one CPU and library
//   copy). Against the unsplit
//   step (step_shares=1): same mini-batches, same negative samples, same number of updates;
//   only the order of floating-point sums and the dropout masks' random streams differ.
// - hogwild: T lanes, each with its own session-parallel mini-batches (the sessions of the
//   training order shared out on demand), updating the shared weights without locks (as
//   word2vec and fastText do). Faster, but not the same training, and not deterministic:
//   each lane's step is computed from weights that lack the steps the others are taking.
//   Adagrad's first steps move every weight by about learning_rate (the accumulator holds
//   little more than the step's own squared gradient); several such full-size steps from the
//   same point add up, and on some settings (the Yoochoose bpr-max setting: linear scores, 448
//   units, learning rate 0.075) the scores explode within 5 mini-batches; the accumulators keep
//   those huge gradients for good, so the rest of the training crawls (docs/performance.md).
//   So the lanes first train parallel_warmup x (T - 1) mini-batches one after another, round
//   robin (exactly serial training), and only then at once. As a safety net, during the first
//   epoch that runs in parallel a copy of the initial weights is kept: if a lane's loss over 8
//   mini-batches averages more than three times the untrained model's (or is not finite), the
//   training restarts from those weights with parallel=sync, which then gives exactly the
//   threads=1 model, and says so (TrainCallbacks::on_notice). Even so, hogwild can cost a few
//   percent of accuracy on some settings (docs/performance.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gru4rec/core/phase_profile.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/model/model.h"
#include "gru4rec/train/repeat_fit.h"

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
  // the model as trained so far (for validation; that epoch's weights, not the mean that
  // params.average_epochs makes the trained model). Returning false ends the training after
  // this epoch (early stopping); the trained model is then that of this epoch.
  std::function<bool(const EpochReport&, const Model&)> on_snapshot;
  int snapshot_every = 0;
  // How the training runs, for the log: the threads and their warm-up, a fall back to one
  // thread.
  std::function<void(const std::string&)> on_notice;
};

struct TrainSummary {
  std::vector<EpochReport> epochs;
  double seconds = 0;        // of the whole training, a restart included
  int threads = 1;           // threads that trained the returned model
  int64_t serial_steps = 0;  // mini-batches trained one at a time before the threads ran at once
  // The hogwild training diverged and the model was trained again with parallel=sync (the
  // model of threads=1; the name is kept for the JSON report's readers).
  bool fell_back_to_one_thread = false;
  // With the repeat head (params.repeat_window > 0): its fit after the GRU's training.
  std::optional<RepeatFitReport> repeat_head;
};

// Trains model.weights in place on `train`, whose item indices must be those of model.items.
// With params.average_epochs = K > 1 the trained weights are the mean of the weights after each
// of the last min(K, n_epochs) epochs (two more copies of the weights while training); the
// optimizer's state is the last epoch's. With params.repeat_window > 0 the repeat head is fitted
// afterwards (train/repeat_fit.h), on `train` too.
// Throws TrainingDiverged when the loss becomes NaN or infinite on one thread (the model is
// then unusable); with several threads, see above.
// `profile`, when not null, receives the time spent in each phase of the steps (of the first
// worker's thread when there are several).
TrainSummary train_model(Model& model, const SessionLog& train,
                         const TrainCallbacks& callbacks = {}, PhaseProfile* profile = nullptr);

}  // namespace gru4rec
