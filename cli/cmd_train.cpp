// gru4rec train: the equivalent of the official run.py with training data.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <optional>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/data/replay.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"
#include "gru4rec/train/validation.h"
#include "gru4rec/train/warm_start.h"
#include "progress.h"

namespace gru4rec::cli {
namespace {

struct TrainOptions {
  std::string train_path;
  std::string param_string;
  std::string param_file;
  std::string save_path;
  std::string init_path;  // continue from this model
  double init_shrink = kDefaultInitShrink;
  std::string replay_path;  // older sessions to sample from when continuing
  double replay_share = 0.5;
  std::vector<std::string> test_paths;
  int64_t sample_store_size = -1;
  std::string progress = "auto";
  bool json = false;
  bool quiet = false;
  bool profile = false;
  bool save_optimizer_state = false;  // given explicitly (the default anyway)
  bool no_optimizer_state = false;
  std::string valid_path;
  int eval_every = 1;
  int early_stop = 0;
  std::string stop_metric;  // "": MRR at the last cut-off of -m
  DataOptions data;
  MeasureOptions measure;
};

std::string parameter_help() {
  std::string text =
      "Parameters (-ps name=value,... or a -pf file; '/' separates list values; -ps overrides "
      "-pf):\n";
  for (const ParamDef& def : param_table()) {
    text += fmt::format("  {:<22} {:<12} default {:<14} {}\n", def.name, def.type_text,
                        def.default_text.empty() ? "(auto)" : def.default_text, def.range_text);
    text += fmt::format("  {:<22} {}\n", "", def.help);
  }
  return text;
}

void print_profile(std::FILE* out, const PhaseProfile& profile, int threads) {
  const int64_t steps = profile.steps();
  const double total = profile.total();
  fmt::print(out, "Time per phase ({} mini-batches{}):\n", with_thousands(steps),
             threads > 1 ? fmt::format(" of the first of {} threads", threads) : "");
  fmt::print(out, "  {:<24} {:>9} {:>7} {:>12}\n", "phase", "seconds", "share", "us/batch");
  for (size_t i = 0; i < static_cast<size_t>(Phase::kCount); ++i) {
    const auto phase = static_cast<Phase>(i);
    const double seconds = profile.seconds(phase);
    fmt::print(out, "  {:<24} {:>9.3f} {:>6.1f}% {:>12.1f}\n", phase_name(phase), seconds,
               total > 0 ? 100 * seconds / total : 0.0,
               steps > 0 ? 1e6 * seconds / static_cast<double>(steps) : 0.0);
  }
}

// One line per validation, "*" marking a new best; the early stop when it happens.
void print_validation(std::FILE* log, const ValidationRecord& r, const Validation& validation) {
  std::string line = fmt::format("Validation after epoch {}:", r.epoch);
  for (size_t c = 0; c < r.result.cutoffs.size(); ++c) {
    const int n = r.result.cutoffs[c];
    line +=
        fmt::format(" Recall@{} {:.4f} MRR@{} {:.4f}", n, r.result.recall[c], n, r.result.mrr[c]);
  }
  fmt::print(log, "{}{} ({:.1f} s)\n", line, r.best ? " *" : "", r.result.seconds);
  if (validation.stopped_early()) {
    fmt::print(log, "Early stop: no better {} in {} validations\n", validation.metric().name,
               validation.options().patience);
  }
  std::fflush(log);
}

Json validation_json(const Validation& validation) {
  Json history = Json::array();
  for (const ValidationRecord& r : validation.history()) {
    Json metrics = Json::object();
    for (size_t c = 0; c < r.result.cutoffs.size(); ++c) {
      const int n = r.result.cutoffs[c];
      metrics[fmt::format("recall@{}", n)] = r.result.recall[c];
      metrics[fmt::format("mrr@{}", n)] = r.result.mrr[c];
      metrics[fmt::format("ndcg@{}", n)] = r.result.ndcg[c];
    }
    history.push_back(Json{{"epoch", r.epoch}, {"metrics", metrics}, {"best", r.best}});
  }
  return history;
}

void run_train(const TrainOptions& o) {
  const Output out{.json = o.json};
  std::FILE* log = out.log();
  Params params;
  std::optional<Model> parent;
  if (!o.init_path.empty()) {  // its parameters are the defaults of the continued training
    check_init_shrink(o.init_shrink);
    parent.emplace(load_model(o.init_path));
    params = parent->params;
  }
  if (!o.param_file.empty()) apply_param_file(params, o.param_file);
  if (!o.param_string.empty()) apply_param_string(params, o.param_string);
  if (o.sample_store_size >= 0) {
    set_param(params, "sample_store_size", std::to_string(o.sample_store_size), "-ss");
  }
  const std::vector<std::string> notes = validate_params(params);
  if (parent) check_same_shape(parent->params, params);
  if (!o.quiet) {
    for (const ParamDef& def : param_table()) {
      fmt::print(log, "SET {:<22} TO {} ({})\n", def.name, def.format(params), def.type_text);
    }
  }
  for (const std::string& note : notes) fmt::print(log, "note: {}\n", note);
  if (!o.save_path.empty()) check_writable(o.save_path);
  if (o.save_optimizer_state && o.save_path.empty())
    throw Error("--save-optimizer-state needs a model file to save to (-s FILE)");
  if (o.save_optimizer_state && o.no_optimizer_state)
    throw Error("--save-optimizer-state and --no-optimizer-state contradict each other");
  if (o.early_stop > 0 && o.valid_path.empty())
    throw Error("--early-stop needs a validation file (--valid FILE)");

  // Continuing: the parent's items keep their indices, new ones follow.
  ItemIndex items = parent ? parent->items : ItemIndex();
  ReadReport report;
  const ReadOptions read_options = o.data.read_options();
  const auto load_start = std::chrono::steady_clock::now();
  SessionLog train = read_training_log(o.train_path, read_options, items, &report);
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  if (report.was_sorted) {
    fmt::print(log, "note: {} was not sorted by session and time; sorted it (stable)\n",
               o.train_path);
  }
  fmt::print(log, "Loaded {}: {} events, {} sessions, {} items ({:.2f} s)\n", o.train_path,
             with_thousands(train.num_events()), with_thousands(train.num_sessions()),
             with_thousands(items.size()), load_seconds);
  if (!o.replay_path.empty()) {
    // Read with a copy of the index: only the items of the drawn sessions join the model.
    ItemIndex older_items = items;
    const SessionLog older = read_training_log(o.replay_path, read_options, older_items);
    const int64_t recent_sessions = train.num_sessions();
    train = with_replayed_sessions(train, items, older, older_items, o.replay_share, params.seed);
    fmt::print(log, "Replaying {} sessions of {} ({} sessions there) before the {} of {}\n",
               with_thousands(train.num_sessions() - recent_sessions), o.replay_path,
               with_thousands(older.num_sessions()), with_thousands(recent_sessions), o.train_path);
  }
  Model model =
      parent ? warm_start(*parent, params, std::move(items), train, o.train_path, o.init_shrink)
             : Model::initialize(params, std::move(items), train, o.train_path);
  if (parent) {
    fmt::print(log,
               "Continuing {} (trained on {} events; {} items): {} new items; GRU layers' "
               "weights x {}\n",
               o.init_path, with_thousands(parent->stats.events),
               with_thousands(parent->num_items()),
               with_thousands(model.num_items() - parent->num_items()), o.init_shrink);
  }
  // Test files are read (and checked) before the long part starts.
  std::vector<TestSet> tests;
  for (const std::string& path : o.test_paths)
    tests.push_back(read_test_set(path, model, o.data, out));

  fmt::print(log, "Training GRU4Rec: {} parameters, {} (input, target) pairs per epoch\n",
             with_thousands(model.weights.parameter_count()),
             with_thousands(model.stats.transitions));
  std::fflush(log);
  ProgressPrinter progress(parse_progress_mode(o.progress), log);
  PhaseProfile phase_profile;
  TrainCallbacks callbacks = progress.callbacks();
  std::optional<TestSet> valid;
  std::optional<Validation> validation;
  if (!o.valid_path.empty()) {
    valid.emplace(read_test_set(o.valid_path, model, o.data, out));
    validation.emplace(valid->log, ValidationOptions{.eval = o.measure.eval_options(),
                                                     .stop_metric = o.stop_metric,
                                                     .patience = o.early_stop,
                                                     .every = o.eval_every});
  }
  const TrainSummary summary =
      validation ? train_with_validation(
                       model, train, *validation, callbacks,
                       [&](const ValidationRecord& r) { print_validation(log, r, *validation); },
                       o.profile ? &phase_profile : nullptr)
                 : train_model(model, train, callbacks, o.profile ? &phase_profile : nullptr);
  fmt::print(log, "Total training time: {:.2f}s\n", summary.seconds);
  if (validation && validation->best_model() != nullptr) {
    fmt::print(log, "Kept the model of epoch {} (best {} on {}: {:.4f})\n", model.stats.epochs,
               validation->metric().name, o.valid_path, validation->best()->value);
  }
  if (o.profile) print_profile(log, phase_profile, summary.threads);
  if (!o.save_path.empty()) {
    save_model(model, o.save_path, !o.no_optimizer_state);
    fmt::print(log, "Saved model to {}\n", o.save_path);
  }
  std::fflush(log);

  Json evaluations = Json::array();
  for (const TestSet& test : tests)
    evaluations.push_back(evaluate_and_report(model, test, o.measure, out));
  if (o.json) {
    Json epochs = Json::array();
    for (const EpochReport& e : summary.epochs) {
      epochs.push_back(Json{{"epoch", e.epoch},
                            {"loss", e.loss},
                            {"seconds", e.seconds},
                            {"minibatches_per_second", e.steps_per_second()},
                            {"events_per_second", e.events_per_second()}});
    }
    Json params_json = Json::object();
    for (const auto& [name, value] : format_params(model.params)) params_json[name] = value;
    Json result{{"params", params_json},
                {"train", Json{{"path", o.train_path},
                               {"events", model.stats.events},
                               {"sessions", model.stats.sessions},
                               {"items", model.num_items()}}},
                {"epochs", epochs},
                {"training_seconds", summary.seconds},
                {"training_threads", summary.threads},
                {"serial_minibatches", summary.serial_steps},
                {"fell_back_to_one_thread", summary.fell_back_to_one_thread},
                {"model", o.save_path.empty() ? Json() : Json(o.save_path)},
                {"evaluations", evaluations}};
    if (validation) result["validation"] = validation_json(*validation);
    fmt::print("{}\n", json_text(result));
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train",
                                     "train a model on a session log (like the official "
                                     "run.py), optionally save and evaluate it");
  cmd->add_option("TRAIN", options->train_path,
                  "training data: tab- or comma-separated with a header (SessionId, ItemId, Time)")
      ->required();
  cmd->add_option("--ps,--params", options->param_string,
                  "parameters as name=value,name=value (e.g. loss=bpr-max,layers=224)");
  cmd->add_option("--pf,--param-file", options->param_file,
                  "parameter file: TOML (name = value lines) or an official .py paramfile");
  cmd->add_option("-s,--save", options->save_path, "save the trained model to this file");
  cmd->add_flag("--save-optimizer-state", options->save_optimizer_state,
                "save the optimizer's state (Adagrad accumulators, momentum) with the model (the "
                "default), so that a training continued with --init goes on where this one "
                "stopped instead of restarting Adagrad (a tenth of the recall lost on Diginetica)");
  cmd->add_flag("--no-optimizer-state", options->no_optimizer_state,
                "save the weights only (a file 2 to 3 times smaller; a training continued from it "
                "restarts Adagrad from zero)");
  CLI::Option* init = cmd->add_option(
      "--init", options->init_path,
      "continue training this model on TRAIN: its items keep their weights, new "
      "items get new rows, its GRU layers' weights are multiplied by --init-shrink; "
      "its parameters are the defaults (-ps may change all but layers, embedding "
      "and constrained_embedding)");
  cmd->add_option("--init-shrink", options->init_shrink,
                  "with --init: multiply the GRU layers' weights by this (0 < F <= 1) before "
                  "continuing, so that the continued model generalises like a retrained one "
                  "(docs/continued-training.md); 1 resumes a training exactly")
      ->capture_default_str()
      ->needs(init);
  CLI::Option* replay = cmd->add_option(
      "--replay", options->replay_path,
      "with --init: older events (e.g. the whole history: sessions also in TRAIN are skipped) "
      "from which a uniform sample of sessions is trained on before TRAIN's, so that the "
      "update does not fit TRAIN at the expense of the rest (docs/continued-training.md)");
  replay->needs(init);
  cmd->add_option("--replay-share", options->replay_share,
                  "with --replay: sessions drawn, as a share of TRAIN's sessions (0.5 with the "
                  "last two days in TRAIN: one day's worth)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->needs(replay);
  cmd->add_option("-t,--test", options->test_paths, "test files to evaluate after training")
      ->expected(1, 1 << 20);
  cmd->add_option("--ss,--sample-store-size", options->sample_store_size,
                  "number of precomputed negative samples (sets sample_store_size)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--progress", options->progress,
                  "progress display: auto (a live line on a terminal, else lines every 10 s), "
                  "bar, lines, none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "print the results as JSON on stdout (logs go to stderr)");
  cmd->add_flag("-q,--quiet", options->quiet, "do not echo the parameters");
  cmd->add_flag("--profile", options->profile,
                "measure and print the time spent in each phase of the training steps");
  cmd->add_option("--valid", options->valid_path,
                  "validation file: evaluated during training (every --eval-every epochs)");
  cmd->add_option("--eval-every", options->eval_every, "epochs between validations")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--early-stop", options->early_stop,
                  "stop after this many validations without a better --stop-metric, and keep "
                  "the best model (0: train every epoch, keep the last)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--stop-metric", options->stop_metric,
                  "validation metric for early stopping: recall@N, mrr@N or ndcg@N (N one of -m) "
                  "[default: mrr@N, N the last of -m]");
  options->data.add_to(*cmd);
  options->measure.add_to(*cmd);
  cmd->footer(parameter_help());
  cmd->callback([options]() { run_train(*options); });
}

}  // namespace gru4rec::cli
