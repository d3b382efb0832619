#include "gru4rec/eval/evaluator.h"

#include <algorithm>
#include <chrono>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/train/session_batcher.h"

namespace gru4rec {
namespace {

// Rows scored per GEMM against all items. Taller blocks run the GEMM faster (measured on
// 43k items x 100 units: 78 GFLOP/s for 64 rows, 95 for 128) but need a larger score buffer,
// which is capped for very large catalogues.
constexpr Eigen::Index kScoreRowBlock = 128;
constexpr size_t kScoreBufferBytes = size_t{64} << 20;

// Evaluates the sessions `order` of `test` on the calling thread into `metrics`.
void evaluate_share(const Predictor& predictor, const Model& model, const SessionLog& test,
                    std::vector<int64_t> order, const EvalOptions& options, RankMetrics& metrics) {
  Predictor::Scratch scratch = predictor.make_scratch(options.batch_size);
  const int32_t n_items = model.num_items();
  const auto& wy = model.weights.Wy;
  const float* bias = model.weights.By.data();
  const auto affordable_rows = static_cast<Eigen::Index>(
      std::max<size_t>(1, kScoreBufferBytes / (sizeof(float) * static_cast<size_t>(n_items))));
  MatrixR<float> scores(
      std::min({kScoreRowBlock, affordable_rows, static_cast<Eigen::Index>(options.batch_size)}),
      n_items);
  SessionBatcher batcher(test, std::move(order), options.batch_size);
  SessionBatcher::Step step;
  while (batcher.next(step)) {
    const auto rows = static_cast<Eigen::Index>(step.inputs.size());
    auto& states = scratch.states;
    if (!step.kept_rows.empty()) {
      for (auto& h : states) {
        for (size_t k = 0; k < step.kept_rows.size(); ++k) {
          h.row(static_cast<Eigen::Index>(k)) = h.row(step.kept_rows[k]);
        }
      }
    }
    predictor.advance_rows(step.inputs, states, scratch.forward);
    const MatrixR<float>& top = states.back();
    for (Eigen::Index r0 = 0; r0 < rows; r0 += scores.rows()) {
      const Eigen::Index block = std::min(scores.rows(), rows - r0);
      scores.topRows(block).noalias() = top.middleRows(r0, block) * wy.transpose();
      for (Eigen::Index i = 0; i < block; ++i) {
        const RankCounts counts =
            count_rank(&scores(i, 0), bias, n_items, step.targets[static_cast<size_t>(r0 + i)]);
        metrics.add(rank_from_counts(counts.greater, counts.equal, options.mode));
      }
    }
    for (Eigen::Index row = 0; row < rows; ++row) {
      if (step.session_ends[static_cast<size_t>(row)] != 0) {
        for (auto& h : states) h.row(row).setZero();
      }
    }
  }
}

}  // namespace

EvalResult evaluate(const Model& model, const SessionLog& test, const EvalOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  GRU4REC_CHECK(options.batch_size > 0 && options.threads > 0 && !options.cutoffs.empty());
  const Predictor predictor(model);
  // Each thread takes every n-th session (in time order) and keeps its own metrics; a session
  // is evaluated from a zero state whatever its neighbours, so the split changes nothing.
  const std::vector<int64_t> order = session_order_by_time(test);
  const auto n_threads = static_cast<int>(
      std::clamp<int64_t>(static_cast<int64_t>(order.size()) / options.batch_size, 1,
                          options.threads));
  std::vector<RankMetrics> shares(static_cast<size_t>(n_threads), RankMetrics(options.cutoffs));
  run_parallel(n_threads, [&](int t) {
    std::vector<int64_t> share;
    for (size_t i = static_cast<size_t>(t); i < order.size(); i += static_cast<size_t>(n_threads))
      share.push_back(order[i]);
    evaluate_share(predictor, model, test, std::move(share), options,
                   shares[static_cast<size_t>(t)]);
  });
  RankMetrics metrics(options.cutoffs);
  for (const RankMetrics& share : shares) metrics.merge(share);

  EvalResult result;
  result.mode = options.mode;
  result.cutoffs = options.cutoffs;
  for (size_t k = 0; k < options.cutoffs.size(); ++k) {
    result.recall.push_back(metrics.recall(k));
    result.mrr.push_back(metrics.mrr(k));
  }
  result.predictions = metrics.count();
  result.events = test.num_events();
  for (int64_t s = 0; s < test.num_sessions(); ++s) {
    if (test.session_length(s) >= 2) ++result.sessions;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace gru4rec
