// gru4rec tune: hyperparameter search with a TPE sampler over a parameter space in the official
// JSON-lines format; every trial trains on TRAIN and is evaluated on VALID. The trial log
// (CSV) is rewritten atomically after every trial and resumed when it exists.
#include <fmt/format.h>

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
  TuneOptions tune;
  bool json = false;
  DataOptions data;
};

void run_tune(const TuneCommandOptions& o) {
  const Output out{.json = o.json};
  std::FILE* log = out.log();
  TuneOptions options = o.tune;
  options.mode = parse_tie_mode(o.mode);
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
  run_tuning(space, options, items, train, valid, records, callbacks);
  const int best = best_trial(records);
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
      ->capture_default_str();
  cmd->add_option("--seed", options->tune.seed, "seed of the sampler")->capture_default_str();
  cmd->add_option("-e,--eval-mode", options->mode, "tie handling of the evaluation")
      ->check(CLI::IsMember({"standard", "conservative", "median"}))
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "print the best result as JSON");
  options->data.add_to(*cmd);
  cmd->callback([options]() { run_tune(*options); });
}

}  // namespace gru4rec::cli
