// gru4rec predict: batch recommendations, the top-k items after the last event of every
// session of a file (or stdin), from a saved model.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/model/batch_top_k.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/vectors.h"

namespace gru4rec::cli {
namespace {

struct PredictOptions {
  std::string model_path;
  std::string sessions_path;
  std::string output_path = "-";
  std::string format = "tsv";
  std::string session_vectors_path;
  int k = 20;
  bool exclude_seen = false;
  int threads = available_cores();
  DataOptions data;
};

void write_predictions(std::ostream& out, const Model& model, const SessionLog& sessions,
                       const std::vector<std::vector<ScoredItem>>& results,
                       const std::string& format) {
  if (format == "tsv") out << "SessionId\tRank\tItemId\tScore\n";
  for (size_t s = 0; s < results.size(); ++s) {
    const std::string& session = sessions.session_ids[s];
    if (format == "tsv") {
      for (size_t r = 0; r < results[s].size(); ++r) {
        out << fmt::format("{}\t{}\t{}\t{:.7g}\n", session, r + 1,
                           model.items.id(results[s][r].item), results[s][r].score);
      }
    } else {
      Json items = Json::array(), scores = Json::array();
      for (const ScoredItem& scored : results[s]) {
        items.push_back(model.items.id(scored.item));
        scores.push_back(scored.score);
      }
      out << Json{{"session", session}, {"items", items}, {"scores", scores}}.dump(
                 -1, ' ', false, Json::error_handler_t::replace)
          << '\n';
    }
  }
}

void run_predict(const PredictOptions& o) {
  const Model model = load_model(o.model_path);
  if (o.output_path != "-") check_writable(o.output_path);
  if (!o.session_vectors_path.empty()) check_writable(o.session_vectors_path);
  ReadReport report;
  const ReadOptions read = o.data.read_options();
  // "-" is stdin.
  const SessionLog sessions = read_test_log(o.sessions_path, read, model.items, &report);
  const auto results = recommend_sessions(
      model, sessions,
      BatchRecommendOptions{
          .k = static_cast<size_t>(o.k), .exclude_seen = o.exclude_seen, .threads = o.threads});
  if (o.output_path == "-") {
    std::ostringstream text;
    write_predictions(text, model, sessions, results, o.format);
    std::cout << text.str() << std::flush;
  } else {
    write_file_atomically(o.output_path, [&](std::ostream& out) {
      write_predictions(out, model, sessions, results, o.format);
    });
  }
  if (!o.session_vectors_path.empty()) {
    const std::vector<std::string> written =
        save_vectors(o.session_vectors_path, "SessionId", sessions.session_ids,
                     session_vectors(model, sessions, o.threads));
    fmt::print(stderr, "Session vectors written to {}\n", fmt::join(written, " and "));
  }
  fmt::print(stderr,
             "{} sessions predicted; {} events with items unknown to the model skipped, {} "
             "sessions without a known item left out\n",
             with_thousands(sessions.num_sessions()), with_thousands(report.dropped_unknown_items),
             with_thousands(report.dropped_sessions));
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "batch recommendations: the top-k items after the last event of each session");
  cmd->add_option("MODEL", options->model_path, "model file written by gru4rec train -s")
      ->required();
  cmd->add_option("SESSIONS", options->sessions_path,
                  "sessions (SessionId, ItemId, Time; - for stdin); items unknown to the model "
                  "are skipped and counted")
      ->required();
  cmd->add_option("-k", options->k, "items per session")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("-o,--output", options->output_path, "output file (- for stdout)")
      ->capture_default_str();
  cmd->add_option("--format", options->format,
                  "tsv (SessionId, Rank, ItemId, Score) or jsonl (one session per line)")
      ->check(CLI::IsMember({"tsv", "jsonl"}))
      ->capture_default_str();
  cmd->add_flag("--exclude-seen", options->exclude_seen,
                "never recommend an item the session already has");
  cmd->add_option("--session-vectors", options->session_vectors_path,
                  "also write each session's vector (the last GRU layer's state after its "
                  "events): TSV (SessionId, v0, v1, ...), or NumPy when it ends in .npy (the "
                  "ids in FILE.ids.txt)");
  cmd->add_option("--threads", options->threads, "threads")
      ->check(CLI::Range(1, 1024))
      ->default_str("every core");
  options->data.add_to(*cmd);
  cmd->callback([options]() { run_predict(*options); });
}

}  // namespace gru4rec::cli
