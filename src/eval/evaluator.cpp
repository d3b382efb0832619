#include "gru4rec/eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/data/session_batcher.h"
#include "gru4rec/eval/block_ranker.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/top_k.h"

namespace gru4rec {
namespace {

// Rows ranked together by one BlockRanker pass (the official evaluation's batch is 512).
constexpr Eigen::Index kRankRows = 512;

// Evaluates the sessions `order` of `test` on the calling thread into `metrics`.
void evaluate_share(const Predictor& predictor, const Model& model, const SessionLog& test,
                    std::vector<int64_t> order, const EvalOptions& options, RankMetrics& metrics,
                    ListMetrics* lists) {
  Predictor::Scratch scratch = predictor.make_scratch(options.batch_size);
  const Eigen::Index block_rows = std::min<Eigen::Index>(kRankRows, options.batch_size);
  const int list_length = lists != nullptr ? lists->list_length() : 0;
  BlockRanker ranker(model.weights.Wy, model.weights.By.data(), block_rows, list_length);
  std::vector<RankCounts> counts(static_cast<size_t>(block_rows));
  std::vector<int32_t> top_items(static_cast<size_t>(block_rows) *
                                 static_cast<size_t>(list_length));
  SessionBatcher batcher(test, std::move(order), options.batch_size);
  SessionBatcher::Step step;
  // With the repeat head: each row's last events and its bonuses.
  const int window =
      options.session_items_first ? std::numeric_limits<int>::max() : predictor.repeat_window();
  std::vector<RepeatWindow> windows(static_cast<size_t>(options.batch_size), RepeatWindow(window));
  std::vector<RepeatWindow> kept;
  std::vector<ItemBonus> bonuses, row_bonuses;
  std::vector<int32_t> bonus_starts;
  if (window > 0) {
    bonuses.reserve(static_cast<size_t>(block_rows) * static_cast<size_t>(std::min(window, 256)));
    bonus_starts.reserve(static_cast<size_t>(block_rows) + 1);
  }
  while (batcher.next(step)) {
    const auto rows = static_cast<Eigen::Index>(step.inputs.size());
    auto& states = scratch.states;
    if (!step.kept_rows.empty()) {
      for (auto& h : states) {
        for (size_t k = 0; k < step.kept_rows.size(); ++k) {
          h.row(static_cast<Eigen::Index>(k)) = h.row(step.kept_rows[k]);
        }
      }
      if (window > 0) {
        kept.clear();
        for (const int32_t row : step.kept_rows) kept.push_back(windows[static_cast<size_t>(row)]);
        std::copy(kept.begin(), kept.end(), windows.begin());
      }
    }
    if (window > 0) {
      for (Eigen::Index row = 0; row < rows; ++row)
        windows[static_cast<size_t>(row)].add(step.inputs[static_cast<size_t>(row)]);
    }
    predictor.advance_rows(step.inputs, states, scratch.forward);
    const MatrixR<float>& top = states.back();
    for (Eigen::Index r0 = 0; r0 < rows; r0 += block_rows) {
      const Eigen::Index block = std::min(block_rows, rows - r0);
      if (window > 0) {
        bonuses.clear();
        bonus_starts.assign(1, 0);
        for (Eigen::Index i = r0; i < r0 + block; ++i) {
          const std::span<const float> h(&top(i, 0), static_cast<size_t>(top.cols()));
          if (options.session_items_first) {
            session_item_bonuses(windows[static_cast<size_t>(i)].items(), row_bonuses);
          } else {
            predictor.repeat_bonuses(h, windows[static_cast<size_t>(i)].items(), row_bonuses,
                                     scratch);
          }
          bonuses.insert(bonuses.end(), row_bonuses.begin(), row_bonuses.end());
          bonus_starts.push_back(static_cast<int32_t>(bonuses.size()));
        }
      }
      ranker.rank(top.middleRows(r0, block),
                  step.targets.subspan(static_cast<size_t>(r0), static_cast<size_t>(block)), counts,
                  top_items, bonuses, bonus_starts);
      for (Eigen::Index i = 0; i < block; ++i) {
        const RankCounts& c = counts[static_cast<size_t>(i)];
        metrics.add(rank_from_counts(c.greater, c.equal, options.mode));
        if (lists == nullptr) continue;
        const auto list = std::span<const int32_t>(top_items).subspan(
            static_cast<size_t>(i) * static_cast<size_t>(list_length),
            static_cast<size_t>(list_length));
        lists->add(list.first(
            static_cast<size_t>(std::find(list.begin(), list.end(), -1) - list.begin())));
      }
    }
    for (Eigen::Index row = 0; row < rows; ++row) {
      if (step.session_ends[static_cast<size_t>(row)] != 0) {
        for (auto& h : states) h.row(row).setZero();
        if (window > 0) windows[static_cast<size_t>(row)].clear();
      }
    }
  }
}

EvalResult make_eval_result(const EvalOptions& options, const SessionLog& test,
                            const RankMetrics& metrics, const ListMetrics* lists, double seconds) {
  EvalResult result;
  result.mode = options.mode;
  result.cutoffs = options.cutoffs;
  for (size_t k = 0; k < options.cutoffs.size(); ++k) {
    result.recall.push_back(metrics.recall(k));
    result.mrr.push_back(metrics.mrr(k));
    result.ndcg.push_back(metrics.ndcg(k));
    if (lists != nullptr) {
      result.coverage.push_back(lists->coverage(k));
      result.popularity_bias.push_back(lists->popularity_bias(k));
    }
  }
  result.predictions = metrics.count();
  result.events = test.num_events();
  for (int64_t s = 0; s < test.num_sessions(); ++s) {
    if (test.session_length(s) >= 2) ++result.sessions;
  }
  result.seconds = seconds;
  return result;
}

// Runs share(t, metrics, lists) on n_threads threads, each with metrics of its own (lists is
// null without list metrics), merges them and makes the result.
template <typename Share>
EvalResult run_in_shares(int n_threads, std::span<const int64_t> supports, const SessionLog& test,
                         const EvalOptions& options, Share share) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<RankMetrics> shares(static_cast<size_t>(n_threads), RankMetrics(options.cutoffs));
  std::vector<ListMetrics> list_shares;
  if (options.list_metrics)
    list_shares.assign(static_cast<size_t>(n_threads), ListMetrics(options.cutoffs, supports));
  run_parallel(n_threads, [&](int t) {
    share(t, shares[static_cast<size_t>(t)],
          list_shares.empty() ? nullptr : &list_shares[static_cast<size_t>(t)]);
  });
  for (size_t t = 1; t < shares.size(); ++t) shares[0].merge(shares[t]);
  for (size_t t = 1; t < list_shares.size(); ++t) list_shares[0].merge(list_shares[t]);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return make_eval_result(options, test, shares[0], list_shares.empty() ? nullptr : &list_shares[0],
                          seconds);
}

}  // namespace

EvalResult evaluate(const Model& model, const SessionLog& test, const EvalOptions& options) {
  GRU4REC_CHECK(options.batch_size > 0 && options.threads > 0 && !options.cutoffs.empty());
  const Predictor predictor(model);
  // Each thread takes every n-th session (in time order) and keeps its own metrics; a session
  // is evaluated from a zero state whatever its neighbours, so the split changes nothing.
  const std::vector<int64_t> order = session_order_by_time(test);
  const auto n_threads = static_cast<int>(std::clamp<int64_t>(
      static_cast<int64_t>(order.size()) / options.batch_size, 1, options.threads));
  return run_in_shares(n_threads, model.supports, test, options,
                       [&](int t, RankMetrics& metrics, ListMetrics* lists) {
                         std::vector<int64_t> share;
                         for (size_t i = static_cast<size_t>(t); i < order.size();
                              i += static_cast<size_t>(n_threads))
                           share.push_back(order[i]);
                         evaluate_share(predictor, model, test, std::move(share), options, metrics,
                                        lists);
                       });
}

EvalResult evaluate_scorer(const ScorerFactory& make_scorer, std::span<const int64_t> supports,
                           const SessionLog& test, const EvalOptions& options) {
  GRU4REC_CHECK(options.threads > 0 && !options.cutoffs.empty() && !supports.empty());
  const auto n_items = static_cast<int64_t>(supports.size());
  const std::vector<int64_t> order = session_order_by_time(test);
  const auto n_threads = static_cast<int>(
      std::clamp<int64_t>(static_cast<int64_t>(order.size()) / 64, 1, options.threads));
  const std::vector<float> zeros(static_cast<size_t>(n_items), 0.0f);
  return run_in_shares(
      n_threads, supports, test, options, [&](int t, RankMetrics& metrics, ListMetrics* lists) {
        std::unique_ptr<NextItemScorer> scorer = make_scorer();
        std::vector<float> scores(static_cast<size_t>(n_items));
        const size_t length = lists != nullptr ? static_cast<size_t>(lists->list_length()) : 0;
        std::vector<ScoredItem> top(length);
        std::vector<int32_t> top_items(length);
        for (size_t i = static_cast<size_t>(t); i < order.size();
             i += static_cast<size_t>(n_threads)) {
          const std::span<const int32_t> items = test.session_items(order[i]);
          scorer->start_session();
          for (size_t e = 0; e + 1 < items.size(); ++e) {
            scorer->add_event(items[e]);
            scorer->score(scores);
            const RankCounts c = count_rank(scores.data(), zeros.data(), n_items, items[e + 1]);
            metrics.add(rank_from_counts(c.greater, c.equal, options.mode));
            if (lists == nullptr) continue;
            const size_t listed = top_k(scores, length, top);
            for (size_t k = 0; k < listed; ++k) top_items[k] = top[k].item;
            lists->add(std::span<const int32_t>(top_items).first(listed));
          }
        }
      });
}

}  // namespace gru4rec
