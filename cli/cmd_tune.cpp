// gru4rec tune: hyperparameter search with a TPE sampler over a parameter space in the official
// JSON-lines format; every trial trains on TRAIN and is evaluated on VALID. The trial log
// (CSV) is rewritten atomically after every trial and resumed when it exists.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"
#include "gru4rec/tune/trial_log.h"

namespace gru4rec::cli {
namespace {

struct TuneOptions {
  std::string train_path, valid_path, space_path, log_path;
  std::string fixed;
  int trials = 50;
  int cutoff = 20;
  std::string metric = "mrr";
  int jobs = available_cores();
  uint64_t seed = 1;
  bool json = false;
  std::string mode = "standard";
  DataOptions data;
};

struct TrialOutcome {
  double objective = std::nan("");
  double seconds = 0;
  std::string status = "ok";
};

// The names set by a "name=value,..." string.
std::set<std::string, std::less<>> fixed_names(std::string_view fixed) {
  std::set<std::string, std::less<>> names;
  if (trim(fixed).empty()) return names;
  for (std::string_view pair : split(fixed, ','))
    names.insert(std::string(trim(pair.substr(0, pair.find('=')))));
  return names;
}

TrialOutcome run_trial(const Params& base, const ParamSpace& space,
                       const std::vector<double>& values, const ItemIndex& items,
                       const SessionLog& train, const SessionLog& valid, const TuneOptions& o,
                       int threads) {
  const auto start = std::chrono::steady_clock::now();
  TrialOutcome outcome;
  try {
    Params params = base;
    apply_param_string(params, trial_params(space, values));
    if (!fixed_names(o.fixed).contains("threads")) params.threads = threads;
    validate_params(params);
    Model model = Model::initialize(params, ItemIndex(items), train, o.train_path);
    train_model(model, train);
    EvalOptions eval;
    eval.cutoffs = {o.cutoff};
    eval.mode = parse_tie_mode(o.mode);
    eval.threads = threads;
    eval.list_metrics = false;
    const EvalResult result = evaluate(model, valid, eval);
    outcome.objective = o.metric == "recall" ? result.recall[0]
                        : o.metric == "mrr"  ? result.mrr[0]
                                             : result.ndcg[0];
  } catch (const std::exception& e) {  // a failed trial (diverged, bad combination, memory)
    outcome.status = std::string("failed: ") + e.what();
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

void run_tune(const TuneOptions& o) {
  const Output out{.json = o.json};
  std::FILE* log = out.log();
  const ParamSpace space = read_param_space(o.space_path);
  Params base;
  if (!o.fixed.empty()) apply_param_string(base, o.fixed);
  for (const SpaceParam& p : space.params) {
    if (fixed_names(o.fixed).contains(p.name))
      throw Error(fmt::format("{} is both fixed (--fixed) and searched (--space)", p.name));
  }
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
  fmt::print(log, "Tuning on {} ({} events, {} items), validating on {} ({} events); {}@{}\n",
             o.train_path, with_thousands(train.num_events()), with_thousands(items.size()),
             o.valid_path, with_thousands(valid.num_events()), o.metric, o.cutoff);
  TpeOptions tpe;
  tpe.seed = o.seed + records.size();  // a resumed search does not repeat its draws
  TpeSampler sampler(space, tpe);
  const int jobs = std::max(1, std::min(o.jobs, o.trials));
  const int threads_per_trial = std::max(1, available_cores() / jobs);
  const auto best_index = [&]() -> int {
    int best = -1;
    for (size_t r = 0; r < records.size(); ++r) {
      const double v = records[r].trial.objective;
      if (!std::isnan(v) && (best < 0 || v > records[static_cast<size_t>(best)].trial.objective))
        best = static_cast<int>(r);
    }
    return best;
  };
  while (static_cast<int>(records.size()) < o.trials) {
    const int batch = std::min(jobs, o.trials - static_cast<int>(records.size()));
    std::vector<Trial> history;
    for (const TrialRecord& r : records) history.push_back(r.trial);
    std::vector<std::vector<double>> points;
    for (int j = 0; j < batch; ++j) points.push_back(sampler.propose(history));
    std::vector<TrialOutcome> outcomes(static_cast<size_t>(batch));
    run_parallel(batch, [&](int j) {
      outcomes[static_cast<size_t>(j)] = run_trial(base, space, points[static_cast<size_t>(j)],
                                                   items, train, valid, o, threads_per_trial);
    });
    for (int j = 0; j < batch; ++j) {
      const TrialOutcome& outcome = outcomes[static_cast<size_t>(j)];
      records.push_back(TrialRecord{Trial{points[static_cast<size_t>(j)], outcome.objective},
                                    outcome.seconds, outcome.status});
      const bool best = best_index() == static_cast<int>(records.size()) - 1;
      fmt::print(
          log, "trial {}/{}: {}@{} {} ({:.1f} s){} {}\n", records.size(), o.trials, o.metric,
          o.cutoff,
          std::isnan(outcome.objective) ? outcome.status : fmt::format("{:.4f}", outcome.objective),
          outcome.seconds, best ? " *" : "", trial_params(space, records.back().trial.values));
    }
    write_file_atomically(log_path,
                          [&](std::ostream& s) { s << format_trial_log(space, records); });
    std::fflush(log);
  }
  const int best = best_index();
  if (best < 0) throw Error(fmt::format("every trial failed; see {}", log_path));
  const TrialRecord& winner = records[static_cast<size_t>(best)];
  const std::string tuned = trial_params(space, winner.trial.values);
  const std::string all = o.fixed.empty() ? tuned : o.fixed + "," + tuned;
  fmt::print(log, "Best: trial {}, {}@{} {:.4f}\nParameters: {}\n", best + 1, o.metric, o.cutoff,
             winner.trial.objective, all);
  if (o.json) {
    fmt::print("{}\n", json_text(Json{{"best_trial", best + 1},
                                      {"metric", fmt::format("{}@{}", o.metric, o.cutoff)},
                                      {"value", winner.trial.objective},
                                      {"params", all},
                                      {"trials", records.size()},
                                      {"log", log_path}}));
  }
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto options = std::make_shared<TuneOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "hyperparameter search (TPE) over a parameter space, like the official paropt.py");
  cmd->add_option("TRAIN", options->train_path, "training data")->required();
  cmd->add_option("VALID", options->valid_path, "validation data (evaluated after each trial)")
      ->required();
  cmd->add_option("--space,--opf", options->space_path,
                  "parameter space: JSON lines {\"name\", \"dtype\": int|float|categorical, "
                  "\"values\", \"step\", \"log\"} (see paramspaces/)")
      ->required();
  cmd->add_option("--trials,--nt", options->trials, "number of trials (a resumed log counts)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("-m,--measure", options->cutoff, "the cut-off of the metric")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--metric,--pm", options->metric, "the metric to maximise")
      ->check(CLI::IsMember({"mrr", "recall", "ndcg"}))
      ->capture_default_str();
  cmd->add_option("--fixed,--fp", options->fixed,
                  "fixed parameters, name=value,... (e.g. loss=cross-entropy,logq=1,n_epochs=10)");
  cmd->add_option("--log", options->log_path,
                  "trial log (CSV), resumed when it exists [default: tune-log.csv]");
  cmd->add_option("--jobs", options->jobs,
                  "trials run at once (each with cores/jobs training threads)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "seed of the sampler")->capture_default_str();
  cmd->add_option("-e,--eval-mode", options->mode, "tie handling of the evaluation")
      ->check(CLI::IsMember({"standard", "conservative", "median"}))
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "print the best result as JSON");
  options->data.add_to(*cmd);
  cmd->callback([options]() { run_tune(*options); });
}

}  // namespace gru4rec::cli
