// itemknn (baselines/baseline.h): co-occurrence in sessions, regularised cosine-style
// similarity, the n_sims best neighbours of every item.
#include <algorithm>
#include <cmath>

#include "gru4rec/core/parallel.h"
#include "internal.h"

namespace gru4rec::baseline_detail {
namespace {

struct Neighbours {
  std::vector<int64_t> offsets{0};  // item i's neighbours: [offsets[i], offsets[i+1])
  std::vector<int32_t> items;
  std::vector<float> similarities;  // best first
};

class ItemKnnScorer final : public NextItemScorer {
 public:
  ItemKnnScorer(const Neighbours& neighbours, const std::vector<float>& fallback)
      : neighbours_(neighbours), fallback_(fallback) {}
  void start_session() override { last_ = -1; }
  void add_event(int32_t item) override { last_ = item; }
  void score(std::span<float> scores) override {
    std::copy(fallback_.begin(), fallback_.end(), scores.begin());
    if (last_ < 0) return;
    const auto i = static_cast<size_t>(last_);
    for (int64_t k = neighbours_.offsets[i]; k < neighbours_.offsets[i + 1]; ++k) {
      const auto at = static_cast<size_t>(k);
      scores[static_cast<size_t>(neighbours_.items[at])] = 1.0f + neighbours_.similarities[at];
    }
  }

 private:
  const Neighbours& neighbours_;
  const std::vector<float>& fallback_;
  int32_t last_ = -1;
};

class ItemKnn final : public Baseline {
 public:
  ItemKnn(Neighbours neighbours, std::vector<float> fallback, std::string params)
      : neighbours_(std::move(neighbours)),
        fallback_(std::move(fallback)),
        params_(std::move(params)) {}
  std::unique_ptr<NextItemScorer> make_scorer() const override {
    return std::make_unique<ItemKnnScorer>(neighbours_, fallback_);
  }
  std::string description() const override { return "itemknn " + params_; }

 private:
  Neighbours neighbours_;
  std::vector<float> fallback_;
  std::string params_;
};

}  // namespace

std::unique_ptr<Baseline> fit_item_knn(std::string_view text, const SessionLog& train,
                                       int32_t num_items) {
  NumericParams params{{"n_sims", {100, 1, 1e6, true}},
                       {"lmbd", {20, 0, 1e12, false}},
                       {"alpha", {0.5, 0, 1, false}}};
  parse_params("itemknn", text, params);
  const auto n_sims = static_cast<size_t>(params["n_sims"].value);
  const double lmbd = params["lmbd"].value, alpha = params["alpha"].value;
  const auto n = static_cast<size_t>(num_items);

  // Each session's distinct items, and each item's sessions.
  std::vector<int64_t> session_start{0};
  std::vector<int32_t> session_items;
  std::vector<int64_t> session_count(n, 0);  // s(i)
  std::vector<int64_t> last_seen(n, -1);
  for (int64_t s = 0; s < train.num_sessions(); ++s) {
    for (int32_t item : train.session_items(s)) {
      if (last_seen[static_cast<size_t>(item)] == s) continue;
      last_seen[static_cast<size_t>(item)] = s;
      session_items.push_back(item);
      ++session_count[static_cast<size_t>(item)];
    }
    session_start.push_back(static_cast<int64_t>(session_items.size()));
  }
  std::vector<int64_t> item_start(n + 1, 0);
  for (size_t i = 0; i < n; ++i) item_start[i + 1] = item_start[i] + session_count[i];
  std::vector<int64_t> item_sessions(static_cast<size_t>(item_start[n]));
  {
    std::vector<int64_t> fill(item_start.begin(), item_start.end() - 1);
    for (size_t s = 0; s + 1 < session_start.size(); ++s) {
      for (int64_t k = session_start[s]; k < session_start[s + 1]; ++k) {
        const auto item = static_cast<size_t>(session_items[static_cast<size_t>(k)]);
        item_sessions[static_cast<size_t>(fill[item]++)] = static_cast<int64_t>(s);
      }
    }
  }

  // Per item: co-occurrence counts with every other item, then its n_sims best similarities.
  // Items are shared out between the cores; each thread keeps its own lists.
  const int threads = std::clamp(static_cast<int>(n / 1024), 1, available_cores());
  std::vector<std::vector<std::vector<std::pair<float, int32_t>>>> found(
      static_cast<size_t>(threads));
  run_parallel(threads, [&](int t) {
    std::vector<int64_t> together(n, 0);
    std::vector<int32_t> touched;
    auto& lists = found[static_cast<size_t>(t)];
    for (size_t i = static_cast<size_t>(t); i < n; i += static_cast<size_t>(threads)) {
      touched.clear();
      for (int64_t k = item_start[i]; k < item_start[i + 1]; ++k) {
        const auto s = static_cast<size_t>(item_sessions[static_cast<size_t>(k)]);
        for (int64_t m = session_start[s]; m < session_start[s + 1]; ++m) {
          const int32_t j = session_items[static_cast<size_t>(m)];
          if (static_cast<size_t>(j) == i) continue;
          if (together[static_cast<size_t>(j)]++ == 0) touched.push_back(j);
        }
      }
      std::vector<std::pair<float, int32_t>> list;
      list.reserve(touched.size());
      const double si = std::pow(static_cast<double>(session_count[i]), alpha);
      for (int32_t j : touched) {
        const auto ju = static_cast<size_t>(j);
        const double sj = std::pow(static_cast<double>(session_count[ju]), 1.0 - alpha);
        list.emplace_back(static_cast<float>(static_cast<double>(together[ju]) / (si * sj + lmbd)),
                          j);
        together[ju] = 0;
      }
      // Best first; equal similarities in item order, so that the result is deterministic.
      const auto better = [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      };
      const size_t keep = std::min(n_sims, list.size());
      std::partial_sort(list.begin(), list.begin() + static_cast<ptrdiff_t>(keep), list.end(),
                        better);
      list.resize(keep);
      lists.push_back(std::move(list));
    }
  });
  Neighbours neighbours;
  for (size_t i = 0; i < n; ++i) {
    const auto& list = found[i % static_cast<size_t>(threads)][i / static_cast<size_t>(threads)];
    for (const auto& [similarity, j] : list) {
      neighbours.items.push_back(j);
      neighbours.similarities.push_back(similarity);
    }
    neighbours.offsets.push_back(static_cast<int64_t>(neighbours.items.size()));
  }
  return std::make_unique<ItemKnn>(std::move(neighbours),
                                   popularity_fallback(item_supports(train, num_items)),
                                   format_params(params));
}

}  // namespace gru4rec::baseline_detail
