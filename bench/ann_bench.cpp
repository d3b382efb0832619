// Approximate against exact top-k on a synthetic catalog (docs/performance.md, "Large catalogs"):
// makes a model of N items, builds the FAISS index as gru4rec serve --retrieval ann does, and
// measures the overlap of the approximate top-20 with the exact one, single-request latency of
// both, the index's build time and memory.
//   build/bench/ann_bench --items 1000000 [--units 100] [--queries 1000] [--index ivf|hnsw]
//     [--nlist 0] [--nprobe 0] [--sweep 8,16,32,64] [--hnsw-m 32] [--ef-search 256]
//     [--save model.g4r] [--write-sessions test.tsv] [--no-exact]
//   build/bench/ann_bench --model trained.g4r --sessions test.tsv [...]: a trained model, its
//     query states after each event of the sessions of a test file (instead of "gru")
//   build/bench/ann_bench --model trained.g4r --sessions test.tsv --extend-to 1000000
//     [--save big.g4r]: the trained model's catalog grown to that many items (below), queried
//     with the same real states: no public session dataset here has a million items
//
// The catalog (not random isotropic vectors, the known worst case of every index, unlike
// trained item vectors): item i belongs to one of 500 clusters (cluster sizes Zipf-like),
// Wy[i] = scale_i (center_c + noise), |center| ~ 2 and |noise| ~ 1, scale_i growing with the
// item's popularity; popularity is Zipf(0.9) over a random order of the items and
// By[i] = 0.3 log(support_i) (centred). The GRU weights are the initializer's.
// Two sets of query states: "gru": the model's state after a session of 1 to 8 items of one
// cluster (the cluster of an item drawn by popularity; the serving path), and "items":
// tanh(2 Wy[j] + noise) for an item j drawn by popularity (states aligned with items).
//
// --extend-to: each added item is a variant of a trained item s drawn uniformly (as a shop's
// catalog grows by sizes, colours and sellers of what it sells): Wy = Wy[s] + noise of half the
// spread of the trained rows (per unit), By = By[s] + noise of half the spread of the trained
// biases, support that of s. The GRU and the trained items are unchanged (a continued training
// with init_shrink 1 appends the rows), so the query states are those of the trained model.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/model/item_scorer.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/serve/ann_index.h"
#include "gru4rec/serve/recommender.h"
#include "gru4rec/train/warm_start.h"

using namespace gru4rec;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int64_t items = 100'000;
  int units = 100;
  int queries = 1000;
  int clusters = 500;
  std::string index = "ivf";
  int nlist = 0, nprobe = 0, hnsw_m = 32, ef_search = 256, ef_construction = 80;
  std::vector<int> sweep;
  std::string save, model, sessions, write_sessions;
  int64_t extend_to = 0;
  bool exact = true;
  bool float16 = false;  // the lists' weights as float16 (serve --item-weights float16)
  uint64_t seed = 7;
};

std::vector<int> int_list(const std::string& text) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    out.push_back(std::stoi(text.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(key + ": missing value");
      return argv[++i];
    };
    if (key == "--items")
      a.items = std::stoll(value());
    else if (key == "--units")
      a.units = std::stoi(value());
    else if (key == "--queries")
      a.queries = std::stoi(value());
    else if (key == "--clusters")
      a.clusters = std::stoi(value());
    else if (key == "--index")
      a.index = value();
    else if (key == "--nlist")
      a.nlist = std::stoi(value());
    else if (key == "--nprobe")
      a.nprobe = std::stoi(value());
    else if (key == "--hnsw-m")
      a.hnsw_m = std::stoi(value());
    else if (key == "--ef-search")
      a.ef_search = std::stoi(value());
    else if (key == "--ef-construction")
      a.ef_construction = std::stoi(value());
    else if (key == "--sweep")
      a.sweep = int_list(value());
    else if (key == "--save")
      a.save = value();
    else if (key == "--no-exact")
      a.exact = false;
    else if (key == "--float16")
      a.float16 = true;
    else if (key == "--model")
      a.model = value();
    else if (key == "--sessions")
      a.sessions = value();
    else if (key == "--write-sessions")
      a.write_sessions = value();
    else if (key == "--extend-to")
      a.extend_to = std::stoll(value());
    else if (key == "--seed")
      a.seed = std::stoull(value());
    else
      throw Error("unknown argument " + key);
  }
  return a;
}

struct SyntheticCatalog {
  Model model;
  std::vector<int32_t> cluster_of;
  std::vector<std::vector<int32_t>> members;
};

SyntheticCatalog make_catalog(const Args& a) {
  std::mt19937_64 rng(a.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  ItemIndex items;
  for (int64_t i = 0; i < a.items; ++i) items.insert(fmt::format("i{}", i));
  SessionLog log;  // the smallest log Model::initialize accepts; the weights are replaced
  log.items = {0, 1};
  log.times = {0, 1};
  log.offsets = {0, 2};
  log.session_ids = {"s"};
  Params params;
  params.layers = {a.units};
  SyntheticCatalog c{Model::initialize(params, std::move(items), log, "synthetic"), {}, {}};
  Model& m = c.model;
  // Popularity: Zipf(0.9) over a random order of the items.
  std::vector<int32_t> order(static_cast<size_t>(a.items));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  m.supports.assign(order.size(), 0);
  for (size_t r = 0; r < order.size(); ++r) {
    m.supports[static_cast<size_t>(order[r])] =
        1 + static_cast<int64_t>(1e6 / std::pow(static_cast<double>(r + 1), 0.9));
  }
  // Clusters: sizes Zipf(0.7) over the clusters.
  std::vector<double> weights(static_cast<size_t>(a.clusters));
  for (size_t k = 0; k < weights.size(); ++k) weights[k] = 1.0 / std::pow(k + 1.0, 0.7);
  std::discrete_distribution<int> pick_cluster(weights.begin(), weights.end());
  MatrixR<float> centers(a.clusters, a.units);
  const float center_sd = 2.0f / std::sqrt(static_cast<float>(a.units));
  const float noise_sd = 1.0f / std::sqrt(static_cast<float>(a.units));
  for (Eigen::Index k = 0; k < centers.size(); ++k) centers.data()[k] = center_sd * normal(rng);
  c.cluster_of.resize(order.size());
  c.members.resize(static_cast<size_t>(a.clusters));
  double mean_log = 0;
  for (int64_t s : m.supports) mean_log += std::log(static_cast<double>(s));
  mean_log /= static_cast<double>(a.items);
  for (int64_t i = 0; i < a.items; ++i) {
    const int k = pick_cluster(rng);
    c.cluster_of[static_cast<size_t>(i)] = k;
    c.members[static_cast<size_t>(k)].push_back(static_cast<int32_t>(i));
    const double log_support = std::log(static_cast<double>(m.supports[static_cast<size_t>(i)]));
    const auto scale = static_cast<float>(0.7 + 0.05 * log_support);
    for (int u = 0; u < a.units; ++u)
      m.weights.Wy(i, u) = scale * (centers(k, u) + noise_sd * normal(rng));
    m.weights.By(i) = static_cast<float>(0.3 * (log_support - mean_log));
  }
  return c;
}

Model extend_catalog(const Model& trained, int64_t target, uint64_t seed) {
  const int64_t n = trained.num_items();
  if (target <= n) throw Error(fmt::format("--extend-to {}: the model has {} items", target, n));
  ItemIndex items = trained.items;
  for (int64_t i = n; i < target; ++i) items.insert(fmt::format("variant{}", i));
  SessionLog log;  // the smallest log a continued training accepts; only its items matter
  log.items = {static_cast<int32_t>(n), static_cast<int32_t>(n + 1)};
  log.times = {0, 1};
  log.offsets = {0, 2};
  log.session_ids = {"variants"};
  Model m = warm_start(trained, trained.params, std::move(items), log, "variants", 1.0);
  const int units = static_cast<int>(m.weights.Wy.cols());
  std::vector<double> unit_sd(static_cast<size_t>(units));
  double bias_mean = 0, bias_sq = 0;
  for (int u = 0; u < units; ++u) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      sum += trained.weights.Wy(i, u);
      sq += static_cast<double>(trained.weights.Wy(i, u)) * trained.weights.Wy(i, u);
    }
    unit_sd[static_cast<size_t>(u)] =
        std::sqrt(std::max(0.0, sq / static_cast<double>(n) - std::pow(sum / n, 2)));
  }
  for (int64_t i = 0; i < n; ++i) {
    bias_mean += trained.weights.By(i);
    bias_sq += static_cast<double>(trained.weights.By(i)) * trained.weights.By(i);
  }
  bias_mean /= static_cast<double>(n);
  const double bias_sd = std::sqrt(std::max(0.0, bias_sq / n - bias_mean * bias_mean));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int64_t i = n; i < target; ++i) {
    const auto s = static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
    for (int u = 0; u < units; ++u) {
      m.weights.Wy(i, u) = static_cast<float>(trained.weights.Wy(s, u) +
                                              0.5 * unit_sd[static_cast<size_t>(u)] * normal(rng));
    }
    m.weights.By(i) = static_cast<float>(trained.weights.By(s) + 0.5 * bias_sd * normal(rng));
    m.supports[static_cast<size_t>(i)] = trained.supports[static_cast<size_t>(s)];
  }
  return m;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) try {
  Args a = parse(argc, argv);
  auto t0 = Clock::now();
  SyntheticCatalog catalog;
  if (!a.model.empty()) {
    catalog.model = load_model(a.model);
    if (a.extend_to > 0) {
      t0 = Clock::now();
      catalog.model = extend_catalog(catalog.model, a.extend_to, a.seed);
      fmt::print("catalog extended to {} items by variants of the trained ones in {:.1f} s\n",
                 a.extend_to, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    a.items = catalog.model.num_items();
    a.units = catalog.model.weights.shape.output_size();
    GRU4REC_CHECK(catalog.model.weights.shape.layers.size() == 1);
    fmt::print("model {}: {} items x {} units\n", a.model, a.items, a.units);
  } else {
    catalog = make_catalog(a);
    fmt::print("catalog: {} items x {} units, {} clusters, made in {:.1f} s\n", a.items, a.units,
               a.clusters, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  auto model = std::make_shared<const Model>(std::move(catalog.model));
  if (!a.save.empty()) {
    save_model(*model, a.save);
    fmt::print("saved {}\n", a.save);
  }
  if (!a.write_sessions.empty()) {
    // Test sessions for the load test: 2 to 8 items of one cluster (picked by popularity).
    std::mt19937_64 rng(a.seed + 2);
    std::discrete_distribution<int32_t> pick(model->supports.begin(), model->supports.end());
    std::string text = "SessionId\tItemId\tTime\n";
    for (int session = 0; session < 20000; ++session) {
      const auto& members =
          catalog.members[static_cast<size_t>(catalog.cluster_of[static_cast<size_t>(pick(rng))])];
      const int length = 2 + static_cast<int>(rng() % 7);
      for (int e = 0; e < length; ++e) {
        text += fmt::format("{}\t{}\t{}\n", session,
                            model->items.id(members[rng() % members.size()]), e);
      }
    }
    std::FILE* file = std::fopen(a.write_sessions.c_str(), "w");
    if (file == nullptr) throw Error(a.write_sessions + ": cannot write");
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
    fmt::print("wrote {}\n", a.write_sessions);
  }
  const int units = a.units;
  const size_t k = 20;

  // Query states (last layer = the whole state: one layer).
  ItemIndex registry;
  RetrievalOptions exact_options;
  exact_options.mode = RetrievalMode::kExact;
  // The exact recommender also advances the sessions (its GRU).
  Recommender exact(model, 1, registry, WeightPrecision::kFloat32, exact_options);
  std::mt19937_64 rng(a.seed + 1);
  std::discrete_distribution<int32_t> by_popularity(model->supports.begin(), model->supports.end());
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::vector<float>> gru_states, item_states;
  if (!a.sessions.empty()) {
    // The state after each event of the test sessions (every 3rd one, to spread the queries
    // over more sessions), until there are enough.
    std::FILE* file = std::fopen(a.sessions.c_str(), "r");
    if (file == nullptr) throw Error(a.sessions + ": cannot read");
    char line[4096];
    std::string current;
    std::vector<float> state(static_cast<size_t>(exact.state_size()), 0.0f);
    int64_t events = 0;
    bool header = true;
    while (std::fgets(line, sizeof line, file) != nullptr &&
           static_cast<int>(gru_states.size()) < a.queries) {
      if (header) {
        header = false;
        continue;
      }
      std::string text(line);
      const size_t tab = text.find('\t'), tab2 = text.find_first_of("\t\n", tab + 1);
      const std::string session = text.substr(0, tab), id = text.substr(tab + 1, tab2 - tab - 1);
      if (session != current) {
        current = session;
        std::fill(state.begin(), state.end(), 0.0f);
      }
      const int32_t item = model->items.find(id);
      if (item < 0) continue;
      exact.advance(state, item);
      if (events++ % 3 == 0) gru_states.push_back(state);
    }
    std::fclose(file);
  }
  for (int q = 0; q < a.queries; ++q) {
    if (a.sessions.empty()) {
      const auto& members = catalog.members[static_cast<size_t>(
          catalog.cluster_of[static_cast<size_t>(by_popularity(rng))])];
      std::vector<float> state(static_cast<size_t>(exact.state_size()), 0.0f);
      const int length = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < length; ++e) exact.advance(state, members[rng() % members.size()]);
      gru_states.push_back(std::move(state));
    }
    const int32_t j = by_popularity(rng);
    std::vector<float> h(static_cast<size_t>(units));
    for (int u = 0; u < units; ++u)
      h[static_cast<size_t>(u)] = std::tanh(2.0f * model->weights.Wy(j, u) + 0.1f * normal(rng));
    item_states.push_back(std::move(h));
  }

  // Exact top-20 of every query (batches of 32 through the scorer) and exact single-request
  // latency through the Recommender (one request at a time: one product of one state).
  const ItemScorer scorer(model->weights.Wy, std::span<const float>(model->weights.By.data(),
                                                                    static_cast<size_t>(a.items)));
  const auto exact_top = [&](const std::vector<std::vector<float>>& states) {
    std::vector<std::vector<int32_t>> tops;
    MatrixR<float> batch(32, units), scores(32, a.items);
    std::vector<ScoredItem> out(k);
    for (size_t q0 = 0; q0 < states.size(); q0 += 32) {
      const size_t rows = std::min<size_t>(32, states.size() - q0);
      for (size_t r = 0; r < rows; ++r)
        std::copy_n(states[q0 + r].data(), units, &batch(static_cast<Eigen::Index>(r), 0));
      scorer.score(batch.data(), static_cast<int>(rows), units, scores.data(),
                   static_cast<int>(a.items));
      for (size_t r = 0; r < rows; ++r) {
        const size_t n = top_k(std::span<const float>(&scores(static_cast<Eigen::Index>(r), 0),
                                                      static_cast<size_t>(a.items)),
                               k, out);
        std::vector<int32_t> top;
        for (size_t i = 0; i < n; ++i) top.push_back(out[i].item);
        tops.push_back(std::move(top));
      }
    }
    return tops;
  };
  t0 = Clock::now();
  const auto gru_exact = exact_top(gru_states), item_exact = exact_top(item_states);
  fmt::print("exact top-20 of {} queries in {:.1f} s\n", 2 * a.queries,
             std::chrono::duration<double>(Clock::now() - t0).count());
  std::set<int32_t> distinct;
  for (const auto& top : gru_exact) distinct.insert(top.begin(), top.end());
  std::set<int32_t> distinct_items;
  for (const auto& top : item_exact) distinct_items.insert(top.begin(), top.end());
  fmt::print("distinct items in the exact top-20 lists: gru {} / items {} (of {} x 20)\n",
             distinct.size(), distinct_items.size(), a.queries);
  std::vector<ScoredItem> out(1000);
  const auto time_requests = [&](const Recommender& rec, int n) {
    std::vector<double> micros;
    RecommendOptions options;
    options.k = k;
    for (int q = 0; q < n; ++q) {
      const auto& state = gru_states[static_cast<size_t>(q) % gru_states.size()];
      const auto start = Clock::now();
      rec.recommend(state, options, out);
      micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    return micros;
  };
  if (a.exact) {
    const auto micros = time_requests(exact, std::min(a.queries, 200));
    fmt::print(
        "exact: single request p50 {:.0f} us p99 {:.0f} us; scorer weights {:.0f} MiB ({})\n",
        percentile(micros, 0.5), percentile(micros, 0.99),
        static_cast<double>(scorer.bytes()) / (1 << 20), ItemScorer::kernel_name());
  }

  // The approximate recommender, as gru4rec serve builds it.
  RetrievalOptions ann_options;
  ann_options.mode = RetrievalMode::kAnn;
  ann_options.index = parse_ann_index_type(a.index);
  ann_options.nlist = a.nlist;
  ann_options.nprobe = a.nprobe;
  ann_options.hnsw_m = a.hnsw_m;
  ann_options.ef_search = a.ef_search;
  ann_options.ef_construction = a.ef_construction;
  Recommender ann(model, 2, registry,
                  a.float16 ? WeightPrecision::kFloat16 : WeightPrecision::kFloat32, ann_options);
  fmt::print("{}\n", ann.retrieval_summary());
  const auto overlap = [&](const std::vector<std::vector<float>>& states,
                           const std::vector<std::vector<int32_t>>& truth, int breadth,
                           std::vector<double>& micros) {
    double sum = 0;
    std::vector<int32_t> found(k);
    for (size_t q = 0; q < states.size(); ++q) {
      const auto start = Clock::now();
      const size_t n = ann.ann_index()->search(states[q], found, breadth);
      micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      size_t hits = 0;
      for (size_t i = 0; i < n; ++i)
        hits += std::count(truth[q].begin(), truth[q].end(), found[i]) > 0 ? 1 : 0;
      sum += static_cast<double>(hits) / static_cast<double>(truth[q].size());
    }
    return sum / static_cast<double>(states.size());
  };
  std::vector<int> sweep = a.sweep;
  if (sweep.empty()) sweep.push_back(0);
  fmt::print("{:>8} {:>12} {:>12} {:>10} {:>10}\n", "breadth", "overlap gru", "overlap items",
             "p50 us", "p99 us");
  for (int breadth : sweep) {
    std::vector<double> micros;
    const double og = overlap(gru_states, gru_exact, breadth, micros);
    const double oi = overlap(item_states, item_exact, breadth, micros);
    fmt::print("{:>8} {:>12.4f} {:>12.4f} {:>10.0f} {:>10.0f}\n", breadth, og, oi,
               percentile(micros, 0.5), percentile(micros, 0.99));
  }
  const auto micros = time_requests(ann, a.queries);
  fmt::print("ann: single request (search + exact rescoring) p50 {:.0f} us p99 {:.0f} us\n",
             percentile(micros, 0.5), percentile(micros, 0.99));
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "ann_bench: {}\n", e.what());
  return 1;
}
