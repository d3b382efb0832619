// Pieces shared by the subcommands of the gru4rec command line: options that several commands
// take, and the human-readable and JSON renderings of results.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gru4rec/core/text.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/model.h"

namespace gru4rec::cli {

using Json = nlohmann::json;

// -sk/-ik/-tk and --sep.
struct DataOptions {
  ColumnNames columns;
  std::string separator = "auto";

  void add_to(CLI::App& app);
  ReadOptions read_options() const;
};

// -m and -e.
struct MeasureOptions {
  std::vector<int> cutoffs{20};
  std::string mode = "standard";
  int batch_size = 512;
  int threads = available_cores();
  bool no_list_metrics = false;
  bool session_items_first = false;  // gru4rec eval --session-items-first (not added by add_to)

  void add_to(CLI::App& app);
  EvalOptions eval_options() const;
};

// Where human-readable messages go: stdout, or stderr when stdout carries JSON.
struct Output {
  bool json = false;
  std::FILE* log() const { return json ? stderr : stdout; }
};

// Pretty-printed JSON; bytes that are not UTF-8 (in ids or paths) are replaced, not fatal.
std::string json_text(const Json& json);

// Reads one test file against the model's items and evaluates it; prints the table unless
// JSON output is on; returns the JSON record of the evaluation.
struct TestSet {
  std::string path;
  SessionLog log;
  ReadReport report;
};
TestSet read_test_set(const std::string& path, const Model& model, const DataOptions& data,
                      const Output& out);
TestSet read_test_set(const std::string& path, const ItemIndex& items, const DataOptions& data,
                      const Output& out);
Json evaluate_and_report(const Model& model, const TestSet& test, const MeasureOptions& measure,
                         const Output& out);
// Prints (unless JSON output is on) and returns the record of one evaluation.
Json report_evaluation(const EvalResult& result, const TestSet& test, int num_items,
                       const Output& out);

}  // namespace gru4rec::cli
