#include "gru4rec/train/validation.h"

#include <fmt/format.h>

#include <algorithm>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"

namespace gru4rec {

double StopMetric::value_of(const EvalResult& result) const {
  switch (kind) {
    case Kind::kRecall: return result.recall[cutoff_index];
    case Kind::kMrr: return result.mrr[cutoff_index];
    case Kind::kNdcg: return result.ndcg[cutoff_index];
  }
  return 0;
}

StopMetric parse_stop_metric(const std::string& text, const std::vector<int>& cutoffs) {
  GRU4REC_CHECK(!cutoffs.empty());
  const std::string name = text.empty() ? fmt::format("mrr@{}", cutoffs.back()) : text;
  const size_t at = name.find('@');
  const std::string kind = name.substr(0, at);
  const std::optional<int64_t> cutoff =
      at == std::string::npos ? std::nullopt : parse_int(name.substr(at + 1));
  const auto found = cutoff ? std::find(cutoffs.begin(), cutoffs.end(), *cutoff) : cutoffs.end();
  if ((kind != "recall" && kind != "mrr" && kind != "ndcg") || found == cutoffs.end()) {
    throw Error(fmt::format(
        "stop metric {}: expected recall@N, mrr@N or ndcg@N with N one of the cut-offs: {}",
        quote_for_message(name), fmt::join(cutoffs, " ")));
  }
  StopMetric metric;
  metric.kind = kind == "recall" ? StopMetric::Kind::kRecall
                : kind == "mrr"  ? StopMetric::Kind::kMrr
                                 : StopMetric::Kind::kNdcg;
  metric.cutoff_index = static_cast<size_t>(found - cutoffs.begin());
  metric.name = name;
  return metric;
}

Validation::Validation(const SessionLog& valid, ValidationOptions options)
    : valid_(valid), options_(std::move(options)) {
  if (options_.patience < 0) throw Error("patience (early stopping) must be 0 or more");
  if (options_.every < 1) throw Error("validations must be at least 1 epoch apart");
  options_.eval.list_metrics = false;  // only the accuracy metrics decide
  metric_ = parse_stop_metric(options_.stop_metric, options_.eval.cutoffs);
  options_.stop_metric = metric_.name;
}

const ValidationRecord* Validation::best() const {
  const ValidationRecord* best = nullptr;
  for (const ValidationRecord& r : history_)
    if (r.best) best = &r;
  return best;
}

bool Validation::check(int epoch, const Model& snapshot) {
  ValidationRecord record;
  record.epoch = epoch;
  record.result = evaluate(snapshot, valid_, options_.eval);
  record.value = metric_.value_of(record.result);
  const ValidationRecord* previous = best();
  record.best = previous == nullptr || record.value > previous->value;
  if (record.best) {
    since_best_ = 0;
    if (options_.patience > 0) best_ = std::make_unique<Model>(snapshot);
  } else {
    ++since_best_;
  }
  history_.push_back(std::move(record));
  stopped_early_ = options_.patience > 0 && since_best_ >= options_.patience;
  return !stopped_early_;
}

TrainSummary train_with_validation(Model& model, const SessionLog& train, Validation& validation,
                                   TrainCallbacks callbacks,
                                   const std::function<void(const ValidationRecord&)>& on_validated,
                                   PhaseProfile* profile) {
  // Early stopping keeps one epoch's weights, which averaging would replace.
  if (model.params.average_epochs > 1 && validation.options().patience > 0) {
    throw Error(fmt::format(
        "average_epochs={} and early stopping (patience {}) do not go together: early stopping "
        "keeps the best epoch's weights, average_epochs the mean of the last epochs'; use one "
        "of them",
        model.params.average_epochs, validation.options().patience));
  }
  callbacks.snapshot_every = validation.options().every;
  callbacks.on_snapshot = [&](const EpochReport& epoch, const Model& snapshot) {
    const bool go_on = validation.check(epoch.epoch, snapshot);
    if (on_validated) on_validated(validation.history().back());
    return go_on;
  };
  TrainSummary summary = train_model(model, train, callbacks, profile);
  if (validation.best_model() != nullptr) model = *validation.best_model();
  return summary;
}

}  // namespace gru4rec
