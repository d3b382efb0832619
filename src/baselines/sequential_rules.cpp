// sr (baselines/baseline.h): sequential rules a -> b weighted by 1 / distance within a window of
// `steps` events, the `pruning` strongest per item. Written from the description of Ludewig &
// Jannach 2018 ("div" weighting). Repeated items are counted as any other pair (a -> a too), as
// the definition takes every pair of positions.
#include <algorithm>

#include "internal.h"

namespace gru4rec::baseline_detail {
namespace {

struct Rules {
  std::vector<int64_t> offsets{0};  // item a's rules: [offsets[a], offsets[a+1])
  std::vector<int32_t> targets;
  std::vector<float> weights;  // strongest first
};

class SequentialRulesScorer final : public NextItemScorer {
 public:
  SequentialRulesScorer(const Rules& rules, const std::vector<float>& fallback)
      : rules_(rules), fallback_(fallback) {}
  void start_session() override { last_ = -1; }
  void add_event(int32_t item) override { last_ = item; }
  void score(std::span<float> scores) override {
    std::copy(fallback_.begin(), fallback_.end(), scores.begin());
    if (last_ < 0) return;
    const auto a = static_cast<size_t>(last_);
    for (int64_t k = rules_.offsets[a]; k < rules_.offsets[a + 1]; ++k) {
      const auto at = static_cast<size_t>(k);
      scores[static_cast<size_t>(rules_.targets[at])] = 1.0f + rules_.weights[at];
    }
  }

 private:
  const Rules& rules_;
  const std::vector<float>& fallback_;
  int32_t last_ = -1;
};

class SequentialRules final : public Baseline {
 public:
  SequentialRules(Rules rules, std::vector<float> fallback, std::string params)
      : rules_(std::move(rules)), fallback_(std::move(fallback)), params_(std::move(params)) {}
  std::unique_ptr<NextItemScorer> make_scorer() const override {
    return std::make_unique<SequentialRulesScorer>(rules_, fallback_);
  }
  std::string description() const override { return "sr " + params_; }

 private:
  Rules rules_;
  std::vector<float> fallback_;
  std::string params_;
};

}  // namespace

std::unique_ptr<Baseline> fit_sequential_rules(std::string_view text, const SessionLog& train,
                                               int32_t num_items) {
  NumericParams params{{"steps", {10, 1, 1e6, true}}, {"pruning", {20, 0, 1e8, true}}};
  parse_params("sr", text, params);
  const auto steps = static_cast<int64_t>(params["steps"].value);
  const auto pruning = static_cast<size_t>(params["pruning"].value);
  const auto n = static_cast<size_t>(num_items);

  // Every item's positions in the log (global event indices), and the end of each event's
  // session, so that the rules of one item are summed in one pass over a dense array.
  const auto events = static_cast<size_t>(train.num_events());
  std::vector<int64_t> session_end(events);
  std::vector<int64_t> item_start(n + 1, 0);
  for (int64_t s = 0; s < train.num_sessions(); ++s) {
    const auto begin = static_cast<size_t>(train.offsets[static_cast<size_t>(s)]);
    const auto end = static_cast<size_t>(train.offsets[static_cast<size_t>(s) + 1]);
    for (size_t g = begin; g < end; ++g) {
      session_end[g] = static_cast<int64_t>(end);
      ++item_start[static_cast<size_t>(train.items[g]) + 1];
    }
  }
  for (size_t i = 0; i < n; ++i) item_start[i + 1] += item_start[i];
  std::vector<int64_t> positions(events);
  {
    std::vector<int64_t> fill(item_start.begin(), item_start.end() - 1);
    for (size_t g = 0; g < events; ++g)
      positions[static_cast<size_t>(fill[static_cast<size_t>(train.items[g])]++)] =
          static_cast<int64_t>(g);
  }

  Rules rules;
  std::vector<double> weight(n, 0.0);
  std::vector<char> seen(n, 0);
  std::vector<int32_t> touched;
  std::vector<std::pair<double, int32_t>> list;
  for (size_t a = 0; a < n; ++a) {
    touched.clear();
    for (int64_t k = item_start[a]; k < item_start[a + 1]; ++k) {
      const int64_t p = positions[static_cast<size_t>(k)];
      const int64_t last = std::min(p + steps, session_end[static_cast<size_t>(p)] - 1);
      for (int64_t q = p + 1; q <= last; ++q) {
        const auto b = static_cast<size_t>(train.items[static_cast<size_t>(q)]);
        if (!seen[b]) {
          seen[b] = 1;
          touched.push_back(static_cast<int32_t>(b));
        }
        weight[b] += 1.0 / static_cast<double>(q - p);
      }
    }
    list.clear();
    for (int32_t b : touched) {
      list.emplace_back(weight[static_cast<size_t>(b)], b);
      weight[static_cast<size_t>(b)] = 0.0;
      seen[static_cast<size_t>(b)] = 0;
    }
    // Strongest first; equal weights in item order, so that the cut is deterministic.
    const auto stronger = [](const auto& x, const auto& y) {
      return x.first > y.first || (x.first == y.first && x.second < y.second);
    };
    const size_t keep = pruning == 0 ? list.size() : std::min(pruning, list.size());
    std::partial_sort(list.begin(), list.begin() + static_cast<ptrdiff_t>(keep), list.end(),
                      stronger);
    for (size_t r = 0; r < keep; ++r) {
      rules.targets.push_back(list[r].second);
      rules.weights.push_back(static_cast<float>(list[r].first));
    }
    rules.offsets.push_back(static_cast<int64_t>(rules.targets.size()));
  }
  return std::make_unique<SequentialRules>(std::move(rules),
                                           popularity_fallback(item_supports(train, num_items)),
                                           format_params(params));
}

}  // namespace gru4rec::baseline_detail
