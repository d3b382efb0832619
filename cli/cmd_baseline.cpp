// gru4rec baseline: fit simple recommenders on the training data and evaluate them with the
// same protocol and metrics as GRU4Rec models.
#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"

namespace gru4rec::cli {
namespace {

struct BaselineCommandOptions {
  std::vector<std::string> algorithms{"pop", "spop", "itemknn", "vsknn"};
  std::string train_path;
  std::vector<std::string> test_paths;
  std::vector<std::string> params;  // per algorithm, "name:k=v,k=v"
  bool json = false;
  DataOptions data;
  MeasureOptions measure;
};

// The parameter string given for `algorithm` ("name:k=v,..."), or "" for its defaults.
std::string params_for(const std::string& algorithm, const std::vector<std::string>& all) {
  std::string found;
  for (const std::string& p : all) {
    const size_t colon = p.find(':');
    if (colon == std::string::npos) {
      throw Error(fmt::format("-p {}: expected ALGO:key=value,..., e.g. itemknn:n_sims=200",
                              quote_for_message(p)));
    }
    const std::string name = p.substr(0, colon);
    bool known = false;
    for (const std::string& n : baseline_names()) known = known || n == name;
    if (!known) {
      throw Error(fmt::format("-p {}: unknown baseline {}; expected one of: {}",
                              quote_for_message(p), quote_for_message(name),
                              join(baseline_names(), ", ")));
    }
    if (name == algorithm) found = p.substr(colon + 1);
  }
  return found;
}

void run_baseline(const BaselineCommandOptions& o) {
  const Output out{.json = o.json};
  ItemIndex items;
  ReadReport report;
  const SessionLog train = read_training_log(o.train_path, o.data.read_options(), items, &report);
  if (report.was_sorted) {
    fmt::print(out.log(), "note: {} was not sorted by session and time; sorted it (stable)\n",
               o.train_path);
  }
  fmt::print(out.log(), "Loaded {}: {} events, {} sessions, {} items\n", o.train_path,
             with_thousands(train.num_events()), with_thousands(train.num_sessions()),
             with_thousands(items.size()));
  std::vector<TestSet> tests;
  for (const std::string& path : o.test_paths)
    tests.push_back(read_test_set(path, items, o.data, out));
  const std::vector<int64_t> supports = item_supports(train, items.size());
  Json results = Json::array();
  for (const std::string& algorithm : o.algorithms) {
    const auto start = std::chrono::steady_clock::now();
    const std::unique_ptr<Baseline> baseline =
        fit_baseline(algorithm, params_for(algorithm, o.params), train, items);
    const double fit_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(out.log(), "\n{}: fitted in {:.2f} s\n", baseline->description(), fit_seconds);
    Json evaluations = Json::array();
    for (const TestSet& test : tests) {
      const EvalResult result = evaluate_scorer([&] { return baseline->make_scorer(); }, supports,
                                                test.log, o.measure.eval_options());
      evaluations.push_back(report_evaluation(result, test, items.size(), out));
    }
    results.push_back(Json{{"algorithm", algorithm},
                           {"description", baseline->description()},
                           {"fit_seconds", fit_seconds},
                           {"evaluations", evaluations}});
  }
  if (o.json) {
    fmt::print("{}\n", json_text(Json{{"train", o.train_path}, {"baselines", results}}));
  }
}

}  // namespace

void add_baseline_command(CLI::App& app) {
  auto options = std::make_shared<BaselineCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "baseline",
      "fit simple recommenders (pop, spop, itemknn, vsknn, sr, stan, vstan, and hybrid: a "
      "model's ranking after the session's items) and evaluate them like GRU4Rec");
  cmd->add_option("TRAIN", options->train_path, "training data (SessionId, ItemId, Time)")
      ->required();
  cmd->add_option("-t,--test", options->test_paths, "test files")->required();
  cmd->add_option("--algo", options->algorithms, "algorithms to run")
      ->check(CLI::IsMember(baseline_names()))
      ->capture_default_str();
  cmd->add_option("-p,--params", options->params,
                  "parameters of an algorithm, ALGO:key=value,...: itemknn:n_sims=100,lmbd=20,"
                  "alpha=0.5; vsknn:k=100,sample_size=1000; sr:steps=10,pruning=20; "
                  "stan:k=100,sample_size=1000,lambda_spw=1.02,lambda_snh=5 (days),"
                  "lambda_inh=2.05; vstan: stan's and lambda_ipw=1.02,lambda_idf=1 (the "
                  "defaults; a lambda of 0 switches its factor off); hybrid:model=PATH (the "
                  "session's items first, then that model's ranking; required)");
  cmd->add_flag("--json", options->json, "print the results as JSON");
  options->data.add_to(*cmd);
  options->measure.add_to(*cmd);
  cmd->callback([options]() { run_baseline(*options); });
}

}  // namespace gru4rec::cli
