// gru4rec tune: hyperparameter search with a TPE sampler over a parameter space in the official
// JSON-lines format; every trial trains on TRAIN and is evaluated on VALID. The trial log
// (CSV) is rewritten atomically after every trial and resumed when it exists.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/tune/trial_log.h"
#include "gru4rec/tune/tuner.h"

namespace gru4rec::cli {
namespace {

struct TuneCommandOptions {
  std::string train_path, valid_path, space_path, log_path;
  std::string mode = "standard";
  double budget_hours = 0;
  TuneOptions tune;
  bool json = false;
  DataOptions data;
};

void run_tune(const TuneCommandOptions& o) {
  const Output out{.json = o.json};
  std::FILE* log = out.log();
  TuneOptions options = o.tune;
  options.mode = parse_tie_mode(o.mode);
  options.budget_seconds = o.budget_hours * 3600;
  if (options.audit_stopping) options.stop_early = true;
  const ParamSpace space = read_param_space(o.space_path);
  check_tune_options(space, options);
  const std::string log_path = o.log_path.empty() ? "tune-log.csv" : o.log_path;
  check_writable(log_path);  // creates and removes a temporary file next to it
  std::vector<TrialRecord> records;
  if (std::filesystem::exists(log_path)) {
    records = parse_trial_log(space, read_file(log_path), log_path);
    fmt::print(log, "Resuming {}: {} trials done\n", log_path, records.size());
  }
  ItemIndex items;
  const SessionLog train = read_training_log(o.train_path, o.data.read_options(), items);
  ReadReport valid_report;
  const SessionLog valid = read_test_log(o.valid_path, o.data.read_options(), items, &valid_report);
  const std::string metric = fmt::format("{}@{}", options.metric, options.cutoff);
  fmt::print(log, "Tuning on {} ({} events, {} items), validating on {} ({} events); {}\n",
             o.train_path, with_thousands(train.num_events()), with_thousands(items.size()),
             o.valid_path, with_thousands(valid.num_events()), metric);
  TuneCallbacks callbacks;
  callbacks.on_trial = [&](const std::vector<TrialRecord>& done) {
    const TrialRecord& r = done.back();
    const bool best = best_trial(done) == static_cast<int>(done.size()) - 1;
    fmt::print(log, "trial {}/{}: {} {} ({:.1f} s){} {}\n", done.size(), options.trials, metric,
               std::isnan(r.trial.objective) ? r.status : fmt::format("{:.4f}", r.trial.objective),
               r.seconds, best ? " *" : "", trial_params(space, r.trial.values));
  };
  callbacks.on_round = [&](const std::vector<TrialRecord>& done) {
    write_file_atomically(log_path, [&](std::ostream& s) { s << format_trial_log(space, done); });
    std::fflush(log);
  };
  const auto start = std::chrono::steady_clock::now();
  run_tuning(space, options, items, train, valid, records, callbacks);
  const double hours =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 3600;
  if (static_cast<int>(records.size()) < options.trials) {
    fmt::print(log, "Budget of {:.2f} hours used ({:.2f} hours): {} of {} trials run\n",
               o.budget_hours, hours, records.size(), options.trials);
  }
  const int best = best_trial(records);
  // How the stopping rule did, on the trials of this run and the resumed ones.
  int stopped = 0, would_stop = 0;
  for (const TrialRecord& r : records) {
    stopped += r.stopped_epoch > 0 ? 1 : 0;
    would_stop += r.would_stop_epoch > 0 ? 1 : 0;
  }
  const bool would_stop_winner =
      best >= 0 && records[static_cast<size_t>(best)].would_stop_epoch > 0;
  if (stopped > 0)
    fmt::print(log, "Early stopping: {} of {} trials stopped\n", stopped, records.size());
  if (options.audit_stopping) {
    fmt::print(log,
               "Early stopping audit: the rule would have stopped {} of {} trials (trained to the "
               "end here){}\n",
               would_stop, records.size(),
               would_stop_winner ? ", the best trial among them" : ", not the best one");
  }

  if (best < 0) throw Error(fmt::format("every trial failed; see {}", log_path));
  const TrialRecord& winner = records[static_cast<size_t>(best)];
  const std::string all = all_trial_params(space, options, winner);
  fmt::print(log, "Best: trial {}, {} {:.4f}\nParameters: {}\n", best + 1, metric,
             winner.trial.objective, all);
  if (o.json) {
    fmt::print("{}\n", json_text(Json{{"best_trial", best + 1},
                                      {"metric", metric},
                                      {"value", winner.trial.objective},
                                      {"params", all},
                                      {"trials", records.size()},
                                      {"hours", hours},
                                      {"stopped_trials", stopped},
                                      {"would_stop_trials", would_stop},
                                      {"would_stop_winner", would_stop_winner},
                                      {"log", log_path}}));
  }
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto options = std::make_shared<TuneCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "hyperparameter search (TPE) over a parameter space, like the official paropt.py");
  cmd->add_option("TRAIN", options->train_path, "training data")->required();
  cmd->add_option("VALID", options->valid_path, "validation data (evaluated after each trial)")
      ->required();
  cmd->add_option("--space,--opf", options->space_path,
                  "parameter space: JSON lines {\"name\", \"dtype\": int|float|categorical, "
                  "\"values\", \"step\", \"log\"} (see paramspaces/)")
      ->required();
  cmd->add_option("--trials,--nt", options->tune.trials, "number of trials (a resumed log counts)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("-m,--measure", options->tune.cutoff, "the cut-off of the metric")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--metric,--pm", options->tune.metric, "the metric to maximise")
      ->check(CLI::IsMember({"mrr", "recall", "ndcg"}))
      ->capture_default_str();
  cmd->add_option("--fixed,--fp", options->tune.fixed,
                  "fixed parameters, name=value,... (e.g. loss=cross-entropy,logq=1,n_epochs=10)");
  cmd->add_option("--log", options->log_path,
                  "trial log (CSV), resumed when it exists [default: tune-log.csv]");
  cmd->add_option("--jobs", options->tune.jobs,
                  "trials run at once (each with cores/jobs training threads)")
      ->check(CLI::Range(1, 256))
      ->default_str("every core");
  cmd->add_option("--seed", options->tune.seed, "seed of the sampler")->capture_default_str();
  cmd->add_option("--first", options->tune.first_points,
                  "a setting to try before the sampler's draws (every parameter of the space, "
                  "name=value,...; repeat for more), e.g. the published one");
  cmd->add_option("-e,--eval-mode", options->mode, "tie handling of the evaluation")
      ->check(CLI::IsMember({"standard", "conservative", "median"}))
      ->capture_default_str();
  cmd->add_flag("--stop-early", options->tune.stop_early,
                "evaluate every trial after each epoch and stop it when its best value so far is "
                "clearly below the median of the finished trials' at that epoch (the median rule; "
                "see --stop-margin)");
  cmd->add_option("--stop-margin", options->tune.stop_margin,
                  "with --stop-early: stop when below (1 - margin) x the median")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  cmd->add_option("--stop-min-trials", options->tune.stop_min_trials,
                  "with --stop-early: finished trials needed at an epoch before the rule applies")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_flag("--audit-stopping", options->tune.audit_stopping,
                "apply the stopping rule without stopping: count the trials it would stop and "
                "whether the best one is among them");
  cmd->add_option("--budget-hours", options->budget_hours,
                  "start no new round of trials after this many hours (0: no limit)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "print the best result as JSON");
  options->data.add_to(*cmd);
  cmd->callback([options]() { run_tune(*options); });
}

}  // namespace gru4rec::cli
