// Validation during training: snapshots of the model are evaluated on a validation log (the
// official next-item protocol), every result is kept, and training stops early after
// `patience` validations without a better stop metric, the best snapshot then replacing the
// model. Used by `gru4rec train --valid` and `GRU4Rec.fit(valid=...)`.
//
// Not thread-safe: one training at a time per Validation. Holds a copy of the best model
// (only when patience > 0).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gru4rec/data/session_log.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/model.h"
#include "gru4rec/train/trainer.h"

namespace gru4rec {

// recall@N, mrr@N or ndcg@N: the metric that decides which snapshot is best.
struct StopMetric {
  enum class Kind { kRecall, kMrr, kNdcg };
  Kind kind = Kind::kMrr;
  size_t cutoff_index = 0;  // into EvalOptions::cutoffs
  std::string name;         // as given, e.g. "mrr@20"

  double value_of(const EvalResult& result) const;
};

// Parses `text` against the cut-offs; "" means MRR at the last cut-off. Throws Error naming
// what is expected.
StopMetric parse_stop_metric(const std::string& text, const std::vector<int>& cutoffs);

struct ValidationOptions {
  EvalOptions eval;         // cut-offs, tie mode, threads (list metrics are not computed)
  std::string stop_metric;  // see parse_stop_metric
  int patience = 0;         // validations without improvement before stopping; 0: never stop
  int every = 1;            // epochs between validations (and after the last epoch)
};

struct ValidationRecord {
  int epoch = 0;
  EvalResult result;
  double value = 0;   // of the stop metric
  bool best = false;  // better than every earlier one
};

class Validation {
 public:
  // `valid` must outlive the Validation. Throws Error for a bad stop metric.
  Validation(const SessionLog& valid, ValidationOptions options);

  // Evaluates `snapshot` after `epoch`, records it; false when training should stop.
  bool check(int epoch, const Model& snapshot);

  const StopMetric& metric() const { return metric_; }
  const ValidationOptions& options() const { return options_; }
  const std::vector<ValidationRecord>& history() const { return history_; }
  const Model* best_model() const { return best_.get(); }  // null unless patience > 0
  const ValidationRecord* best() const;                    // null before the first check
  bool stopped_early() const { return stopped_early_; }

 private:
  const SessionLog& valid_;
  ValidationOptions options_;
  StopMetric metric_;
  int since_best_ = 0;
  bool stopped_early_ = false;
  std::vector<ValidationRecord> history_;
  std::unique_ptr<Model> best_;
};

// train_model() with `validation` checking snapshots; `on_validated` (may be empty) sees each
// record as it is made. With patience > 0 the model ends as the best snapshot.
TrainSummary train_with_validation(
    Model& model, const SessionLog& train, Validation& validation, TrainCallbacks callbacks = {},
    const std::function<void(const ValidationRecord&)>& on_validated = {},
    PhaseProfile* profile = nullptr);

}  // namespace gru4rec
