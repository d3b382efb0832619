// What storing the item weights in fewer bytes (serve --item-weights float16 | int8) does to
// the answers of a trained model on real sessions: the states after each event of a test file's
// sessions are scored against every item with each precision, and the program prints the mean
// overlap of each top-k with the float32 top-k, and Recall@k and MRR@k of the next item (the
// offline protocol of gru4rec eval: the target's rank is 1 + the items scored above it).
//   build/bench/weight_precision_bench MODEL TEST [--cutoff 20] [--max-events 0]
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/item_scorer.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/top_k.h"

using namespace gru4rec;

namespace {

struct Totals {
  double overlap = 0, hits = 0, reciprocal_ranks = 0;
};

int run(int argc, char** argv) {
  if (argc < 3)
    throw Error("usage: weight_precision_bench MODEL TEST [--cutoff 20] [--max-events N]");
  const std::string model_path = argv[1], test_path = argv[2];
  size_t k = 20;
  int64_t max_events = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--cutoff")
      k = std::stoul(argv[i + 1]);
    else if (key == "--max-events")
      max_events = std::stoll(argv[i + 1]);
    else
      throw Error("unknown option " + key);
  }
  const Model model = load_model(model_path);
  const SessionLog log = read_test_log(test_path, ReadOptions{}, model.items);
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  const int units = model.weights.shape.output_size();
  const int items = model.num_items();
  const std::span<const float> bias(model.weights.By.data(), static_cast<size_t>(items));
  const WeightPrecision precisions[] = {WeightPrecision::kFloat32, WeightPrecision::kFloat16,
                                        WeightPrecision::kInt8};
  std::vector<ItemScorer> scorers;
  for (WeightPrecision p : precisions) scorers.emplace_back(model.weights.Wy, bias, p);
  constexpr int kBatch = 32;
  std::vector<float> states(static_cast<size_t>(kBatch) * units);
  std::vector<int32_t> targets;
  std::vector<float> scores(static_cast<size_t>(kBatch) * items);
  std::vector<Totals> totals(scorers.size());
  std::vector<std::vector<int32_t>> reference(kBatch);
  int64_t predictions = 0;
  std::vector<ScoredItem> top(k);
  const auto flush = [&] {
    const int rows = static_cast<int>(targets.size());
    for (size_t s = 0; s < scorers.size(); ++s) {
      scorers[s].score(states.data(), rows, units, scores.data(), items);
      for (int r = 0; r < rows; ++r) {
        const std::span<const float> row(scores.data() + static_cast<size_t>(r) * items,
                                         static_cast<size_t>(items));
        const size_t found = top_k(row, k, top);
        std::vector<int32_t> ids;
        for (size_t t = 0; t < found; ++t) ids.push_back(top[t].item);
        std::sort(ids.begin(), ids.end());
        if (s == 0) reference[static_cast<size_t>(r)] = ids;
        std::vector<int32_t> common;
        std::set_intersection(ids.begin(), ids.end(), reference[static_cast<size_t>(r)].begin(),
                              reference[static_cast<size_t>(r)].end(), std::back_inserter(common));
        totals[s].overlap += static_cast<double>(common.size()) / static_cast<double>(k);
        const float target = row[static_cast<size_t>(targets[static_cast<size_t>(r)])];
        const auto above =
            std::count_if(row.begin(), row.end(), [&](float x) { return x > target; });
        if (static_cast<size_t>(above) < k) {
          totals[s].hits += 1;
          totals[s].reciprocal_ranks += 1.0 / static_cast<double>(above + 1);
        }
      }
    }
    predictions += rows;
    targets.clear();
  };
  std::vector<float> state(static_cast<size_t>(predictor.state_size()));
  for (int64_t s = 0; s < log.num_sessions(); ++s) {
    const auto events = log.session_items(s);
    std::fill(state.begin(), state.end(), 0.0f);
    for (size_t e = 0; e + 1 < events.size(); ++e) {
      predictor.advance(state, events[e], scratch);
      std::copy(state.end() - units, state.end(),
                states.begin() + static_cast<ptrdiff_t>(targets.size()) * units);
      targets.push_back(events[e + 1]);
      if (targets.size() == kBatch) flush();
    }
    if (max_events > 0 && predictions >= max_events) break;
  }
  if (!targets.empty()) flush();
  fmt::print("{}: {} items x {} units; {} predictions from {}\n", model_path, items, units,
             predictions, test_path);
  fmt::print("{:>8} {:>12} {:>14} {:>10} {:>10}\n", "weights", "MB", fmt::format("overlap@{}", k),
             fmt::format("Recall@{}", k), fmt::format("MRR@{}", k));
  for (size_t s = 0; s < scorers.size(); ++s) {
    const double n = static_cast<double>(predictions);
    fmt::print("{:>8} {:>12.2f} {:>14.4f} {:>10.4f} {:>10.4f}\n",
               weight_precision_name(precisions[s]), static_cast<double>(scorers[s].bytes()) / 1e6,
               totals[s].overlap / n, totals[s].hits / n, totals[s].reciprocal_ranks / n);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "weight_precision_bench: {}\n", e.what());
    return 1;
  }
}
