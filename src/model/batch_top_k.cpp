#include "gru4rec/model/batch_top_k.h"

#include <algorithm>
#include <limits>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/model/inference.h"

namespace gru4rec {
namespace {

constexpr float kNotSelectable = std::numeric_limits<float>::quiet_NaN();  // top_k skips NaN

}  // namespace

BatchTopK::BatchTopK(const ItemScorer& scorer)
    : scorer_(scorer),
      states_(kMaxRows, scorer.units()),
      scores_(kMaxRows, scorer.num_items()),
      candidates_(static_cast<size_t>(scorer.num_items()), kNotSelectable) {}

void BatchTopK::run(std::span<const TopKQuery> queries, std::span<size_t> counts) {
  GRU4REC_CHECK(queries.size() <= static_cast<size_t>(kMaxRows) && counts.size() >= queries.size());
  const auto units = static_cast<size_t>(scorer_.units());
  for (size_t r = 0; r < queries.size(); ++r) {
    GRU4REC_CHECK(queries[r].state.size() == units && queries[r].out.size() >= queries[r].k);
    for (std::span<const int32_t> list : {queries[r].exclude, queries[r].include}) {
      for (const int32_t item : list)
        GRU4REC_CHECK(item >= 0 && item < scorer_.num_items(), "item index {}", item);
    }
    std::copy_n(queries[r].state.data(), units, &states_(static_cast<Eigen::Index>(r), 0));
  }
  scorer_.score(states_.data(), static_cast<int>(queries.size()), static_cast<int>(states_.cols()),
                scores_.data(), static_cast<int>(scores_.cols()));
  for (size_t r = 0; r < queries.size(); ++r) {
    const TopKQuery& query = queries[r];
    const std::span<float> row(&scores_(static_cast<Eigen::Index>(r), 0),
                               static_cast<size_t>(scores_.cols()));
    for (int32_t item : query.exclude) row[static_cast<size_t>(item)] = kNotSelectable;
    if (query.include.empty()) {
      counts[r] = top_k(row, query.k, query.out);
      continue;
    }
    // Only the listed items compete: copy their scores into the vector of NaN, select, restore.
    for (int32_t item : query.include)
      candidates_[static_cast<size_t>(item)] = row[static_cast<size_t>(item)];
    counts[r] = top_k(candidates_, query.k, query.out);
    for (int32_t item : query.include) candidates_[static_cast<size_t>(item)] = kNotSelectable;
  }
}

std::vector<std::vector<ScoredItem>> recommend_sessions(const Model& model,
                                                        const SessionLog& sessions,
                                                        const BatchRecommendOptions& options) {
  const Predictor predictor(model);
  const ItemScorer scorer(model.weights.Wy,
                          std::span<const float>(model.weights.By.data(),
                                                 static_cast<size_t>(model.weights.By.size())));
  const int64_t n_sessions = sessions.num_sessions();
  std::vector<std::vector<ScoredItem>> results(static_cast<size_t>(n_sessions));
  constexpr int kRows = BatchTopK::kMaxRows;
  const int threads = static_cast<int>(
      std::clamp<int64_t>((n_sessions + kRows - 1) / kRows, 1, std::max(1, options.threads)));
  const size_t k = std::min(options.k, static_cast<size_t>(model.num_items()));
  // Popular items for sessions without events: the supports as scores.
  std::vector<float> popularity(model.supports.begin(), model.supports.end());
  run_parallel(threads, [&](int t) {
    BatchTopK batch_top_k(scorer);
    auto scratch = predictor.make_scratch(1);
    const auto state_size = static_cast<size_t>(predictor.state_size());
    const auto units = static_cast<size_t>(scorer.units());
    // A state per row: the queries point into them until the batch is run.
    std::vector<std::vector<float>> states(kRows, std::vector<float>(state_size));
    std::vector<TopKQuery> queries;
    std::vector<int64_t> batch;
    std::vector<size_t> counts(kRows);
    // With the repeat head: each row's bonuses (the session's items not excluded).
    std::vector<std::vector<ItemBonus>> bonuses(kRows);
    const auto flush = [&] {
      batch_top_k.run(queries, counts);
      for (size_t r = 0; r < batch.size(); ++r) {
        auto& out = results[static_cast<size_t>(batch[r])];
        out.resize(counts[r]);
        if (bonuses[r].empty()) continue;
        const std::span<const float> h = std::span<const float>(states[r]).last(units);
        const Eigen::Map<const RowVector<float>> top(h.data(), static_cast<Eigen::Index>(units));
        merge_repeat_bonuses(
            out, bonuses[r],
            [&](int32_t item) {
              return model.weights.Wy.row(item).dot(top) + model.weights.By(item);
            },
            k);
      }
      queries.clear();
      batch.clear();
    };
    for (int64_t s = t; s < n_sessions; s += threads) {
      auto& out = results[static_cast<size_t>(s)];
      out.resize(k);
      const std::span<const int32_t> items = sessions.session_items(s);
      const std::span<const int32_t> seen =
          options.exclude_seen ? items : std::span<const int32_t>();
      if (items.empty()) {
        out.resize(top_k(popularity, k, out));
        continue;
      }
      std::vector<float>& state = states[batch.size()];
      std::fill(state.begin(), state.end(), 0.0f);
      for (int32_t item : items) predictor.advance(state, item, scratch);
      std::vector<ItemBonus>& row_bonuses = bonuses[batch.size()];
      predictor.repeat_bonuses(std::span<const float>(state).last(units), items, row_bonuses,
                               scratch);
      if (options.exclude_seen) row_bonuses.clear();  // the session's items are all excluded
      out.resize(std::min(static_cast<size_t>(model.num_items()), k + row_bonuses.size()));
      queries.push_back(TopKQuery{.state = std::span<const float>(state).last(units),
                                  .k = out.size(),
                                  .exclude = seen,
                                  .include = {},
                                  .out = out});
      batch.push_back(s);
      if (batch.size() == static_cast<size_t>(kRows)) flush();
    }
    if (!batch.empty()) flush();
  });
  return results;
}

}  // namespace gru4rec
