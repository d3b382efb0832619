#include "cli_common.h"

#include <fmt/format.h>

#include <algorithm>

#include "gru4rec/core/error.h"

namespace gru4rec::cli {

void DataOptions::add_to(CLI::App& app) {
  app.add_option("--sk,--session-key", columns.session, "name of the session id column")
      ->capture_default_str();
  app.add_option("--ik,--item-key", columns.item, "name of the item id column")
      ->capture_default_str();
  app.add_option("--tk,--time-key", columns.time, "name of the time column")->capture_default_str();
  app.add_option("--sep", separator, "field separator: auto (from the header), tab or comma")
      ->check(CLI::IsMember({"auto", "tab", "comma"}))
      ->capture_default_str();
}

ReadOptions DataOptions::read_options() const {
  ReadOptions options;
  options.columns = columns;
  options.separator = separator == "tab" ? '\t' : separator == "comma" ? ',' : '\0';
  return options;
}

void MeasureOptions::add_to(CLI::App& app) {
  app.add_option("-m,--measure", cutoffs,
                 "cut-offs of Recall@N, MRR@N, NDCG@N (and coverage@N, popularity bias@N)")
      ->check(CLI::Range(1, 1 << 30))
      ->expected(1, 64)
      ->capture_default_str();
  app.add_option("-e,--eval-mode", mode,
                 "tie handling: standard (rank = 1 + #higher), conservative (1 + #higher + "
                 "#equal), median")
      ->check(CLI::IsMember({"standard", "conservative", "median"}))
      ->capture_default_str();
  app.add_option("--eval-batch-size", batch_size, "sessions advanced together by each thread")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  // The default shows as "every core", not this machine's count, so that the help (and the
  // reference generated from it, docs/reference/) reads the same on every machine.
  app.add_option("--eval-threads", threads, "threads of the evaluation")
      ->check(CLI::Range(1, 1024))
      ->default_str("every core");
  app.add_flag("--no-list-metrics", no_list_metrics,
               "skip coverage@N and popularity bias@N (also skipped when a cut-off is above "
               "1000: they keep every prediction's top-N list)");
}

EvalOptions MeasureOptions::eval_options() const {
  EvalOptions options;
  options.cutoffs = cutoffs;
  options.mode = parse_tie_mode(mode);
  options.batch_size = batch_size;
  options.threads = threads;
  options.list_metrics =
      !no_list_metrics && *std::max_element(cutoffs.begin(), cutoffs.end()) <= 1000;
  options.session_items_first = session_items_first;
  return options;
}

std::string json_text(const Json& json) {
  return json.dump(2, ' ', false, Json::error_handler_t::replace);
}

TestSet read_test_set(const std::string& path, const Model& model, const DataOptions& data,
                      const Output& out) {
  return read_test_set(path, model.items, data, out);
}

TestSet read_test_set(const std::string& path, const ItemIndex& items, const DataOptions& data,
                      const Output& out) {
  TestSet test;
  test.path = path;
  test.log = read_test_log(path, data.read_options(), items, &test.report);
  if (test.report.was_sorted) {
    fmt::print(out.log(), "note: {} was not sorted by session and time; sorted it (stable)\n",
               path);
  }
  return test;
}

Json evaluate_and_report(const Model& model, const TestSet& test, const MeasureOptions& measure,
                         const Output& out) {
  return report_evaluation(evaluate(model, test.log, measure.eval_options()), test,
                           model.num_items(), out);
}

Json report_evaluation(const EvalResult& result, const TestSet& test, int num_items,
                       const Output& out) {
  Json metrics = Json::object();
  for (size_t k = 0; k < result.cutoffs.size(); ++k) {
    const int n = result.cutoffs[k];
    metrics[fmt::format("recall@{}", n)] = result.recall[k];
    metrics[fmt::format("mrr@{}", n)] = result.mrr[k];
    metrics[fmt::format("ndcg@{}", n)] = result.ndcg[k];
    if (!result.coverage.empty()) {
      metrics[fmt::format("coverage@{}", n)] = result.coverage[k];
      metrics[fmt::format("popularity_bias@{}", n)] = result.popularity_bias[k];
    }
  }
  Json record{{"test", test.path},
              {"mode", tie_mode_name(result.mode)},
              {"items", num_items},
              {"events", result.events},
              {"dropped_unknown_item_events", test.report.dropped_unknown_items},
              {"dropped_sessions", test.report.dropped_sessions},
              {"sessions", result.sessions},
              {"predictions", result.predictions},
              {"metrics", metrics},
              {"seconds", result.seconds}};
  if (!out.json) {
    std::FILE* f = stdout;
    fmt::print(f, "\nEvaluation of {} ({} ties, full ranking of {} items)\n", test.path,
               tie_mode_name(result.mode), with_thousands(num_items));
    fmt::print(f,
               "  {} events with known items, {} dropped for unknown items; {} predictions "
               "in {} sessions; {:.2f} s\n",
               with_thousands(result.events), with_thousands(test.report.dropped_unknown_items),
               with_thousands(result.predictions), with_thousands(result.sessions), result.seconds);
    const bool lists = !result.coverage.empty();
    fmt::print(f, "  {:>8}  {:>8}  {:>8}  {:>8}", "cutoff", "Recall", "MRR", "NDCG");
    if (lists) fmt::print(f, "  {:>8}  {:>8}", "Coverage", "PopBias");
    fmt::print(f, "\n");
    for (size_t k = 0; k < result.cutoffs.size(); ++k) {
      fmt::print(f, "  {:>8}  {:>8.4f}  {:>8.4f}  {:>8.4f}", fmt::format("@{}", result.cutoffs[k]),
                 result.recall[k], result.mrr[k], result.ndcg[k]);
      if (lists)
        fmt::print(f, "  {:>8.4f}  {:>8.4f}", result.coverage[k], result.popularity_bias[k]);
      fmt::print(f, "\n");
    }
    std::fflush(f);
  }
  return record;
}

}  // namespace gru4rec::cli
