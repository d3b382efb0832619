// The hyperparameter search of `gru4rec tune` (the official paropt.py): the TPE sampler
// proposes points of the parameter space, each trial trains a model on the training log and
// evaluates it on the validation log, and the objective (MRR, Recall or NDCG at one cut-off)
// is maximised. Trials run `jobs` at a time, each with cores / jobs training threads. A failed
// trial (diverged, a bad combination, memory) is recorded with its error and never wins.
//
// Early stopping (the median rule of Google Vizier, Golovin et al., KDD 2017): with
// stop_early, every trial is evaluated on the validation log after each epoch, and stopped
// after epoch e when its best value so far is below (1 - stop_margin) times the median of the
// best values up to epoch e of the trials finished before it (at least stop_min_trials of them
// reached epoch e). A stopped trial's objective is its best value so far. With audit_stopping the
// rule only marks the trials it would stop, which train to the end, so that a search can count
// how often the rule would have stopped the winner. budget_seconds > 0: no new round of trials
// starts once the search has run that long. first_points: settings tried before the sampler's
// draws.
//
// Not thread-safe: one search at a time per call; the callbacks run on the calling thread.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gru4rec/core/parallel.h"
#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/eval/metrics.h"
#include "gru4rec/tune/param_space.h"
#include "gru4rec/tune/trial_log.h"

namespace gru4rec {

struct TuneOptions {
  std::string fixed;  // fixed parameters "name=value,..." (never also in the space)
  int trials = 50;    // in all, the resumed ones included
  int cutoff = 20;
  std::string metric = "mrr";  // mrr, recall or ndcg
  TieMode mode = TieMode::kStandard;
  int jobs = available_cores();  // trials at once
  uint64_t seed = 1;             // of the sampler (offset by the trials already done)
  bool stop_early = false;
  double stop_margin = 0.02;
  int stop_min_trials = 3;
  bool audit_stopping = false;
  double budget_seconds = 0;
  // The first trials' points, each a parameter string naming every parameter of the space
  // ("layers=192,learning_rate=0.1,..."; values snapped to the space's grid): a known good
  // setting (the published one) is tried before the sampler's draws, so that even a small
  // budget does not do worse than it. Resumed trials count: the k-th trial of a search is the
  // k-th point whether it runs now or ran before.
  std::vector<std::string> first_points = {};
};

// The point of a parameter string in `space` (the values TrialRecord holds: numbers snapped to
// the grid, the index of the choice for categorical ones). Throws Error for a parameter of the
// space the string does not set, one the space does not have, or a value it cannot take.
std::vector<double> point_from_params(const ParamSpace& space, std::string_view text);

// The median rule above: true when `curve` (the trial's values after epochs 1 .. e) should stop
// after its last epoch, given the curves of the finished trials.
bool median_rule_stops(std::span<const double> curve, const std::vector<std::vector<double>>& done,
                       double margin, int min_trials);

struct TuneCallbacks {
  // After each trial, with every record so far (the new one last).
  std::function<void(const std::vector<TrialRecord>&)> on_trial;
  // After each round of `jobs` trials: the moment to save the log.
  std::function<void(const std::vector<TrialRecord>&)> on_round;
};

// Throws Error when `options` contradict the space (a parameter both fixed and searched) or
// hold a bad value.
void check_tune_options(const ParamSpace& space, const TuneOptions& options);

// Runs trials until `records` (the resumed ones first) holds options.trials of them. `train`
// and `valid` hold indices of `items`. Throws Error once 5 trials have run and every one
// failed (the records are kept, and the callbacks have seen them).
void run_tuning(const ParamSpace& space, const TuneOptions& options, const ItemIndex& items,
                const SessionLog& train, const SessionLog& valid, std::vector<TrialRecord>& records,
                const TuneCallbacks& callbacks = {});

// The index of the record with the highest objective (the first of equal ones), or -1 when
// every trial failed.
int best_trial(const std::vector<TrialRecord>& records);

// Every parameter of a trial: the fixed ones, then the searched ones.
std::string all_trial_params(const ParamSpace& space, const TuneOptions& options,
                             const TrialRecord& record);

}  // namespace gru4rec
