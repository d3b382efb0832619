// gru4rec eval: evaluate a saved model on test files with the official protocol.
#include <fmt/format.h>

#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/model/model_file.h"

namespace gru4rec::cli {
namespace {

struct EvalCommandOptions {
  std::string model_path;
  std::vector<std::string> test_paths;
  bool json = false;
  DataOptions data;
  MeasureOptions measure;
};

void run_eval(const EvalCommandOptions& o) {
  const Output out{.json = o.json};
  const Model model = load_model(o.model_path);
  std::vector<TestSet> tests;
  for (const std::string& path : o.test_paths)
    tests.push_back(read_test_set(path, model, o.data, out));
  Json evaluations = Json::array();
  for (const TestSet& test : tests)
    evaluations.push_back(evaluate_and_report(model, test, o.measure, out));
  if (o.json) {
    fmt::print("{}\n", json_text(Json{{"model", o.model_path}, {"evaluations", evaluations}}));
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "evaluate a saved model: next-item Recall@N and MRR@N with full ranking");
  cmd->add_option("MODEL", options->model_path, "model file written by gru4rec train -s")
      ->required();
  cmd->add_option("TEST", options->test_paths, "test files (same format as the training data)")
      ->required();
  cmd->add_flag("--json", options->json, "print the results as JSON");
  cmd->add_flag("--session-items-first", options->measure.session_items_first,
                "evaluate the fixed hybrid reference instead of the model alone: the session's own "
                "items first, by how often the session has them, then the model's ranking (the "
                "repeat head, if any, is not used)");
  options->data.add_to(*cmd);
  options->measure.add_to(*cmd);
  cmd->callback([options]() { run_eval(*options); });
}

}  // namespace gru4rec::cli
