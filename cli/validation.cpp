#include "validation.h"

#include <fmt/format.h>

#include <algorithm>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"

namespace gru4rec::cli {

Validation::Validation(TestSet valid, const MeasureOptions& measure, const std::string& stop_metric,
                       int patience, std::FILE* log)
    : valid_(std::move(valid)),
      options_(measure.eval_options()),
      metric_name_(stop_metric),
      patience_(patience),
      log_(log) {
  options_.list_metrics = false;  // only the accuracy metrics are printed per epoch
  const size_t at = stop_metric.find('@');
  const std::string kind = stop_metric.substr(0, at);
  const std::optional<int64_t> cutoff =
      at == std::string::npos ? std::nullopt : parse_int(stop_metric.substr(at + 1));
  const auto found = cutoff ? std::find(options_.cutoffs.begin(), options_.cutoffs.end(), *cutoff)
                            : options_.cutoffs.end();
  if ((kind != "recall" && kind != "mrr" && kind != "ndcg") || found == options_.cutoffs.end()) {
    throw Error(fmt::format(
        "--stop-metric {}: expected recall@N, mrr@N or ndcg@N with N one of the cut-offs (-m): {}",
        quote_for_message(stop_metric), fmt::join(options_.cutoffs, " ")));
  }
  metric_kind_ = kind[0];
  metric_cutoff_ = static_cast<size_t>(found - options_.cutoffs.begin());
}

bool Validation::check(const EpochReport& epoch, const Model& snapshot) {
  const EvalResult result = evaluate(snapshot, valid_.log, options_);
  const size_t k = metric_cutoff_;
  const double value = metric_kind_ == 'r'   ? result.recall[k]
                       : metric_kind_ == 'm' ? result.mrr[k]
                                             : result.ndcg[k];
  const bool better = value > best_value_;
  if (better) {
    best_value_ = value;
    since_best_ = 0;
    if (patience_ > 0) best_ = std::make_unique<Model>(snapshot);
  } else {
    ++since_best_;
  }
  Json metrics = Json::object();
  std::string line = fmt::format("Validation after epoch {}:", epoch.epoch);
  for (size_t c = 0; c < result.cutoffs.size(); ++c) {
    const int n = result.cutoffs[c];
    metrics[fmt::format("recall@{}", n)] = result.recall[c];
    metrics[fmt::format("mrr@{}", n)] = result.mrr[c];
    metrics[fmt::format("ndcg@{}", n)] = result.ndcg[c];
    line += fmt::format(" Recall@{} {:.4f} MRR@{} {:.4f}", n, result.recall[c], n, result.mrr[c]);
  }
  fmt::print(log_, "{}{} ({:.1f} s)\n", line, better ? " *" : "", result.seconds);
  std::fflush(log_);
  history_.push_back(Json{{"epoch", epoch.epoch}, {"metrics", metrics}, {"best", better}});
  if (patience_ > 0 && since_best_ >= patience_) {
    fmt::print(log_, "Early stop: no better {} in {} validations\n", metric_name_, patience_);
    return false;
  }
  return true;
}

}  // namespace gru4rec::cli
