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
#include "gru4rec/core/parallel.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/item_scorer.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/top_k.h"

namespace gru4rec::cli {
namespace {

struct PredictOptions {
  std::string model_path;
  std::string sessions_path;
  std::string output_path = "-";
  std::string format = "tsv";
  int k = 20;
  bool exclude_seen = false;
  int threads = available_cores();
  DataOptions data;
};

// Recommendations of every session of `sessions` (k per session, fewer when fewer items can
// be recommended), in the log's session order.
std::vector<std::vector<ScoredItem>> recommend_all(const Model& model, const SessionLog& sessions,
                                                   const PredictOptions& o) {
  const Predictor predictor(model);
  const ItemScorer scorer(model.weights.Wy,
                          std::span<const float>(model.weights.By.data(),
                                                 static_cast<size_t>(model.weights.By.size())));
  const auto n_sessions = sessions.num_sessions();
  std::vector<std::vector<ScoredItem>> results(static_cast<size_t>(n_sessions));
  constexpr int kBatch = 32;  // sessions scored together (one pass over the item matrix)
  const int threads =
      static_cast<int>(std::clamp<int64_t>((n_sessions + kBatch - 1) / kBatch, 1, o.threads));
  run_parallel(threads, [&](int t) {
    auto scratch = predictor.make_scratch(1);
    const auto state_size = static_cast<size_t>(predictor.state_size());
    const auto last = static_cast<size_t>(model.weights.shape.output_size());
    const auto n_items = static_cast<size_t>(model.num_items());
    std::vector<float> state(state_size);
    MatrixR<float> states(kBatch, static_cast<Eigen::Index>(last));
    MatrixR<float> scores(kBatch, static_cast<Eigen::Index>(n_items));
    std::vector<int64_t> batch;
    const auto flush = [&] {
      scorer.score(states.data(), static_cast<int>(batch.size()), static_cast<int>(last),
                   scores.data(), static_cast<int>(n_items));
      for (size_t r = 0; r < batch.size(); ++r) {
        std::span<float> row(&scores(static_cast<Eigen::Index>(r), 0), n_items);
        if (o.exclude_seen) {
          for (int32_t item : sessions.session_items(batch[r]))
            row[static_cast<size_t>(item)] = std::numeric_limits<float>::quiet_NaN();
        }
        auto& out = results[static_cast<size_t>(batch[r])];
        out.resize(static_cast<size_t>(o.k));
        out.resize(top_k(row, static_cast<size_t>(o.k), out));
      }
      batch.clear();
    };
    for (int64_t s = t; s < n_sessions; s += threads) {
      std::fill(state.begin(), state.end(), 0.0f);
      for (int32_t item : sessions.session_items(s)) predictor.advance(state, item, scratch);
      std::copy(state.end() - static_cast<ptrdiff_t>(last), state.end(),
                &states(static_cast<Eigen::Index>(batch.size()), 0));
      batch.push_back(s);
      if (batch.size() == kBatch) flush();
    }
    if (!batch.empty()) flush();
  });
  return results;
}

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
  ReadReport report;
  const ReadOptions read = o.data.read_options();
  // "-" is stdin.
  const SessionLog sessions = read_test_log(o.sessions_path, read, model.items, &report);
  const auto results = recommend_all(model, sessions, o);
  if (o.output_path == "-") {
    std::ostringstream text;
    write_predictions(text, model, sessions, results, o.format);
    std::cout << text.str() << std::flush;
  } else {
    write_file_atomically(o.output_path, [&](std::ostream& out) {
      write_predictions(out, model, sessions, results, o.format);
    });
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
  cmd->add_option("--threads", options->threads, "threads (default: every core)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  options->data.add_to(*cmd);
  cmd->callback([options]() { run_predict(*options); });
}

}  // namespace gru4rec::cli
