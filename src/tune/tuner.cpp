#include "gru4rec/tune/tuner.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"
#include "gru4rec/tune/tpe.h"

namespace gru4rec {
namespace {

constexpr int kFailuresBeforeGivingUp = 5;

// The names set by a "name=value,..." string.
std::set<std::string, std::less<>> fixed_names(std::string_view fixed) {
  std::set<std::string, std::less<>> names;
  if (trim(fixed).empty()) return names;
  for (std::string_view pair : split(fixed, ','))
    names.insert(std::string(trim(pair.substr(0, pair.find('=')))));
  return names;
}

double objective_of(const EvalResult& result, const TuneOptions& options) {
  return options.metric == "recall" ? result.recall[0]
         : options.metric == "mrr"  ? result.mrr[0]
                                    : result.ndcg[0];
}

// `done`: the curves of the trials finished before this one (early stopping).
TrialRecord run_trial(const Params& base, const ParamSpace& space,
                      const std::vector<double>& values, const ItemIndex& items,
                      const SessionLog& train, const SessionLog& valid, const TuneOptions& options,
                      int threads, const std::vector<std::vector<double>>& done) {
  const auto start = std::chrono::steady_clock::now();
  TrialRecord record;
  record.trial.values = values;
  record.trial.objective = std::nan("");
  try {
    Params params = base;
    apply_param_string(params, trial_params(space, values));
    if (!fixed_names(options.fixed).contains("threads")) params.threads = threads;
    validate_params(params);
    Model model = Model::initialize(params, ItemIndex(items), train, "tuning data");
    EvalOptions eval;
    eval.cutoffs = {options.cutoff};
    eval.mode = options.mode;
    eval.threads = threads;
    eval.list_metrics = false;
    TrainCallbacks callbacks;
    if (options.stop_early) {
      // The metric after every epoch (of that epoch's weights); the rule may end the training.
      callbacks.snapshot_every = 1;
      callbacks.on_snapshot = [&](const EpochReport& epoch, const Model& snapshot) {
        record.curve.push_back(objective_of(evaluate(snapshot, valid, eval), options));
        if (epoch.epoch >= params.n_epochs) return true;
        if (record.would_stop_epoch == 0 &&
            median_rule_stops(record.curve, done, options.stop_margin, options.stop_min_trials)) {
          record.would_stop_epoch = epoch.epoch;
          if (!options.audit_stopping) {
            record.stopped_epoch = epoch.epoch;
            return false;
          }
        }
        return true;
      };
    }
    train_model(model, train, callbacks);
    if (record.stopped_epoch > 0) {
      record.trial.objective = *std::max_element(record.curve.begin(), record.curve.end());
      record.status =
          fmt::format("stopped at epoch {} of {}", record.stopped_epoch, params.n_epochs);
    } else {
      record.trial.objective = objective_of(evaluate(model, valid, eval), options);
      if (record.would_stop_epoch > 0) {
        record.status = fmt::format("ok (would have stopped at epoch {} of {})",
                                    record.would_stop_epoch, params.n_epochs);
      }
    }
  } catch (const std::exception& e) {  // a failed trial (diverged, bad combination, memory)
    record.status = std::string("failed: ") + e.what();
  }
  record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return record;
}

}  // namespace

bool median_rule_stops(std::span<const double> curve, const std::vector<std::vector<double>>& done,
                       double margin, int min_trials) {
  if (curve.empty()) return false;
  const size_t epochs = curve.size();
  std::vector<double> best_of_others;
  for (const std::vector<double>& other : done) {
    if (other.size() < epochs) continue;  // stopped earlier, or a trial without a curve
    best_of_others.push_back(
        *std::max_element(other.begin(), other.begin() + static_cast<ptrdiff_t>(epochs)));
  }
  if (static_cast<int>(best_of_others.size()) < std::max(min_trials, 1)) return false;
  const size_t middle = best_of_others.size() / 2;
  std::nth_element(best_of_others.begin(), best_of_others.begin() + static_cast<ptrdiff_t>(middle),
                   best_of_others.end());
  double median = best_of_others[middle];
  if (best_of_others.size() % 2 == 0) {
    median = (median + *std::max_element(best_of_others.begin(),
                                         best_of_others.begin() + static_cast<ptrdiff_t>(middle))) /
             2;
  }
  const double best = *std::max_element(curve.begin(), curve.end());
  return best < (1 - margin) * median;
}

std::vector<double> point_from_params(const ParamSpace& space, std::string_view text) {
  std::vector<double> point(space.params.size());
  std::vector<bool> set(space.params.size(), false);
  for (std::string_view pair : split(text, ',')) {
    if (trim(pair).empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      throw Error(fmt::format("first point {}: expected name=value, got {}",
                              quote_for_message(text), quote_for_message(pair)));
    }
    const std::string_view name = trim(pair.substr(0, eq));
    const std::string_view value = trim(pair.substr(eq + 1));
    const auto found = std::find_if(space.params.begin(), space.params.end(),
                                    [&](const SpaceParam& p) { return p.name == name; });
    if (found == space.params.end()) {
      throw Error(
          fmt::format("first point: {} is not a parameter of the space (fix it with "
                      "--fixed instead)",
                      quote_for_message(name)));
    }
    const auto index = static_cast<size_t>(found - space.params.begin());
    if (found->type == SpaceParam::Type::kCategorical) {
      const auto choice = std::find(found->choices.begin(), found->choices.end(), value);
      if (choice == found->choices.end()) {
        throw Error(fmt::format("first point: {} {} is not one of its choices ({})", name,
                                quote_for_message(value), join(found->choices, ", ")));
      }
      point[index] = static_cast<double>(choice - found->choices.begin());
    } else {
      const std::optional<double> number = parse_double(value);
      if (!number || *number < found->low || *number > found->high) {
        throw Error(fmt::format("first point: {} {}: expected a number from {} to {}", name,
                                quote_for_message(value), format_double(found->low),
                                format_double(found->high)));
      }
      point[index] = found->snap(*number);
    }
    set[index] = true;
  }
  for (size_t i = 0; i < set.size(); ++i) {
    if (!set[i]) {
      throw Error(fmt::format("first point {} does not set {}, a parameter of the space",
                              quote_for_message(text), space.params[i].name));
    }
  }
  return point;
}

void check_tune_options(const ParamSpace& space, const TuneOptions& options) {
  const auto fixed = fixed_names(options.fixed);
  for (const SpaceParam& p : space.params) {
    if (fixed.contains(p.name))
      throw Error(fmt::format("{} is both fixed and searched (in the space)", p.name));
  }
  if (options.metric != "mrr" && options.metric != "recall" && options.metric != "ndcg") {
    throw Error(fmt::format("tuning metric {}: expected mrr, recall or ndcg",
                            quote_for_message(options.metric)));
  }
  if (options.cutoff < 1) throw Error("the cut-off of the tuning metric must be at least 1");
  if (options.trials < 1 || options.jobs < 1) throw Error("trials and jobs must be at least 1");
  if (!(options.stop_margin >= 0 && options.stop_margin < 1))
    throw Error("the stopping margin must be in [0, 1)");
  if (!(options.budget_seconds >= 0)) throw Error("the budget must not be negative");
  Params base;
  if (!options.fixed.empty()) apply_param_string(base, options.fixed);  // throws for bad ones
  for (const std::string& point : options.first_points) point_from_params(space, point);
}

void run_tuning(const ParamSpace& space, const TuneOptions& options, const ItemIndex& items,
                const SessionLog& train, const SessionLog& valid, std::vector<TrialRecord>& records,
                const TuneCallbacks& callbacks) {
  check_tune_options(space, options);
  std::vector<std::vector<double>> first_points;
  for (const std::string& text : options.first_points)
    first_points.push_back(point_from_params(space, text));
  Params base;
  if (!options.fixed.empty()) apply_param_string(base, options.fixed);
  TpeOptions tpe;
  tpe.seed = options.seed + records.size();  // a resumed search does not repeat its draws
  TpeSampler sampler(space, tpe);
  const int jobs = std::max(1, std::min(options.jobs, options.trials));
  const int threads_per_trial = std::max(1, available_cores() / jobs);
  const auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(records.size()) < options.trials) {
    if (options.budget_seconds > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
            options.budget_seconds)
      break;
    // The finished trials' curves (a trial that was stopped counts with its curve so far).
    std::vector<std::vector<double>> done;
    for (const TrialRecord& r : records) {
      if (!r.curve.empty() && !std::isnan(r.trial.objective)) done.push_back(r.curve);
    }
    const int round = std::min(jobs, options.trials - static_cast<int>(records.size()));
    std::vector<Trial> history;
    for (const TrialRecord& r : records) history.push_back(r.trial);
    std::vector<std::vector<double>> points;
    for (int j = 0; j < round; ++j) {
      const size_t k = records.size() + static_cast<size_t>(j);
      points.push_back(k < first_points.size() ? first_points[k] : sampler.propose(history));
    }
    std::vector<TrialRecord> outcomes(static_cast<size_t>(round));
    run_parallel(round, [&](int j) {
      outcomes[static_cast<size_t>(j)] =
          run_trial(base, space, points[static_cast<size_t>(j)], items, train, valid, options,
                    threads_per_trial, done);
    });
    for (TrialRecord& outcome : outcomes) {
      records.push_back(std::move(outcome));
      if (callbacks.on_trial) callbacks.on_trial(records);
    }
    if (callbacks.on_round) callbacks.on_round(records);
    // Every trial failing is a broken setup (data, fixed parameters), not bad luck: stop
    // rather than fail until the budget or the trial count runs out.
    if (static_cast<int>(records.size()) >= kFailuresBeforeGivingUp && best_trial(records) < 0) {
      throw Error(fmt::format("the first {} trials all failed; the last one: {}", records.size(),
                              records.back().status));
    }
  }
}

int best_trial(const std::vector<TrialRecord>& records) {
  int best = -1;
  for (size_t r = 0; r < records.size(); ++r) {
    const double v = records[r].trial.objective;
    if (!std::isnan(v) && (best < 0 || v > records[static_cast<size_t>(best)].trial.objective))
      best = static_cast<int>(r);
  }
  return best;
}

std::string all_trial_params(const ParamSpace& space, const TuneOptions& options,
                             const TrialRecord& record) {
  const std::string tuned = trial_params(space, record.trial.values);
  return options.fixed.empty() ? tuned : options.fixed + "," + tuned;
}

}  // namespace gru4rec
