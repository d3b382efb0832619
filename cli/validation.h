// Validation during training (gru4rec train --valid): evaluates snapshots of the model, prints
// and records the metrics, and decides on early stopping, keeping the best snapshot.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "cli_common.h"
#include "gru4rec/train/trainer.h"

namespace gru4rec::cli {

class Validation {
 public:
  // `stop_metric`: recall@N, mrr@N or ndcg@N with N among measure.cutoffs (else throws Error);
  // patience: validations without improvement before stopping (0: never stop, keep no copy).
  Validation(TestSet valid, const MeasureOptions& measure, const std::string& stop_metric,
             int patience, std::FILE* log);

  // Evaluates `snapshot`; returns false when training should stop.
  bool check(const EpochReport& epoch, const Model& snapshot);

  const Model* best() const { return best_.get(); }
  double best_value() const { return best_value_; }
  const Json& history() const { return history_; }

 private:
  TestSet valid_;
  EvalOptions options_;
  std::string metric_name_;
  size_t metric_cutoff_ = 0;  // index into options_.cutoffs
  char metric_kind_ = 'm';    // r(ecall), m(rr), n(dcg)
  int patience_ = 0;
  int since_best_ = 0;
  std::FILE* log_;
  std::unique_ptr<Model> best_;
  double best_value_ = -1;
  Json history_ = Json::array();
};

}  // namespace gru4rec::cli
