// Approximate top-k (--retrieval ann): against the exact answers on a small well-separated
// catalog, exclude/include lists, exact scores, the auto mode's choice and bad options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/serve/ann_index.h"
#include "gru4rec/serve/recommender.h"

namespace gru4rec {
namespace {

constexpr int kClusters = 8, kPerCluster = 50, kUnits = 16;

// 8 clusters of 50 items: a center of norm ~5 plus noise of norm ~0.4, and a small bias.
std::shared_ptr<const Model> separated_model() {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  ItemIndex items;
  for (int i = 0; i < kClusters * kPerCluster; ++i) items.insert("item" + std::to_string(i));
  SessionLog log;
  log.items = {0, 1};
  log.times = {0, 1};
  log.offsets = {0, 2};
  log.session_ids = {"s"};
  Params params;
  params.layers = {kUnits};
  Model model = Model::initialize(params, std::move(items), log, "separated");
  for (int c = 0; c < kClusters; ++c) {
    std::vector<float> center(kUnits);
    for (float& x : center) x = 1.25f * normal(rng);
    for (int j = 0; j < kPerCluster; ++j) {
      const int i = c * kPerCluster + j;
      for (int u = 0; u < kUnits; ++u)
        model.weights.Wy(i, u) = center[static_cast<size_t>(u)] + 0.1f * normal(rng);
      model.weights.By(i) = 0.05f * normal(rng);
    }
  }
  return std::make_shared<const Model>(std::move(model));
}

// A query state close to cluster c's items.
std::vector<float> state_near(const Model& model, int c, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> state(kUnits);
  const int i = c * kPerCluster + static_cast<int>(rng() % kPerCluster);
  for (int u = 0; u < kUnits; ++u)
    state[static_cast<size_t>(u)] = std::tanh(0.3f * model.weights.Wy(i, u) + 0.1f * normal(rng));
  return state;
}

RetrievalOptions ann_options(AnnIndexType type) {
  RetrievalOptions o;
  o.mode = RetrievalMode::kAnn;
  o.index = type;
  o.nlist = kClusters;
  o.nprobe = 2;
  o.ef_search = 64;
  return o;
}

std::vector<ScoredItem> answer(const Recommender& rec, std::span<const float> state,
                               const RecommendOptions& options) {
  std::vector<ScoredItem> out(options.k);
  out.resize(rec.recommend(state, options, out));
  return out;
}

void expect_same(const std::vector<ScoredItem>& ann, const std::vector<ScoredItem>& exact) {
  ASSERT_EQ(ann.size(), exact.size());
  for (size_t i = 0; i < ann.size(); ++i) {
    EXPECT_EQ(ann[i].item, exact[i].item) << "rank " << i;
    EXPECT_NEAR(ann[i].score, exact[i].score, 1e-4f * (1 + std::abs(exact[i].score)));
  }
}

class AnnRetrieval : public ::testing::TestWithParam<AnnIndexType> {};

TEST_P(AnnRetrieval, EqualsExactOnSeparatedClustersWithListsAndExactScores) {
  const auto model = separated_model();
  ItemIndex registry;
  RetrievalOptions exact_options;
  exact_options.mode = RetrievalMode::kExact;
  const Recommender exact(model, 1, registry, WeightPrecision::kFloat32, exact_options);
  const Recommender ann(model, 2, registry, WeightPrecision::kFloat32, ann_options(GetParam()));
  ASSERT_EQ(exact.retrieval(), RetrievalMode::kExact);
  ASSERT_EQ(ann.retrieval(), RetrievalMode::kAnn);
  ASSERT_NE(ann.ann_index(), nullptr);
  EXPECT_NE(ann.retrieval_summary().find("approximate"), std::string::npos);
  std::mt19937 rng(11);
  for (int q = 0; q < 40; ++q) {
    const std::vector<float> state = state_near(*model, q % kClusters, rng);
    RecommendOptions options;
    options.k = 20;
    const auto plain = answer(exact, state, options);
    expect_same(answer(ann, state, options), plain);
    // The scores answered are the true ones, best first.
    const auto got = answer(ann, state, options);
    for (size_t i = 0; i < got.size(); ++i) {
      float score = model->weights.By(got[i].item);
      for (int u = 0; u < kUnits; ++u)
        score += state[static_cast<size_t>(u)] * model->weights.Wy(got[i].item, u);
      EXPECT_NEAR(got[i].score, score, 1e-5f * (1 + std::abs(score)));
      if (i > 0) {
        EXPECT_GE(got[i - 1].score, got[i].score);
      }
    }
    // Excluded items never come back (the exact top 5 here, twice over): the next ones do.
    std::vector<int32_t> exclude;
    for (size_t i = 0; i < 5; ++i) exclude.push_back(plain[i].item);
    exclude.push_back(plain[0].item);
    options.exclude = exclude;
    const auto without = answer(ann, state, options);
    for (const ScoredItem& s : without)
      EXPECT_EQ(std::count(exclude.begin(), exclude.end(), s.item), 0);
    expect_same(without, answer(exact, state, options));
    // Only included items compete (items of other clusters among them), exclusions apply.
    std::vector<int32_t> include = {3, 77, 150, 151, 260, 399, 5, 3};
    options.include = include;
    exclude = {77};
    options.exclude = exclude;
    options.k = 5;
    const auto only = answer(ann, state, options);
    EXPECT_EQ(only.size(), 5u);
    for (const ScoredItem& s : only) {
      EXPECT_NE(std::count(include.begin(), include.end(), s.item), 0);
      EXPECT_NE(s.item, 77);
    }
    expect_same(only, answer(exact, state, options));
  }
}

INSTANTIATE_TEST_SUITE_P(Index, AnnRetrieval,
                         ::testing::Values(AnnIndexType::kIvf, AnnIndexType::kHnsw),
                         [](const ::testing::TestParamInfo<AnnIndexType>& info) {
                           return std::string(info.param == AnnIndexType::kIvf ? "ivf" : "hnsw");
                         });

TEST(AnnRetrievalOptions, AutoPicksExactBelowTheThreshold) {
  const auto model = separated_model();  // 400 items
  ItemIndex registry;
  RetrievalOptions options;
  EXPECT_EQ(options.mode, RetrievalMode::kAuto);
  EXPECT_EQ(options.resolve(options.auto_min_items - 1), RetrievalMode::kExact);
  EXPECT_EQ(options.resolve(options.auto_min_items), RetrievalMode::kAnn);
  options.auto_min_items = 401;
  EXPECT_EQ(Recommender(model, 1, registry, WeightPrecision::kFloat32, options).retrieval(),
            RetrievalMode::kExact);
  options.auto_min_items = 400;
  options.nlist = 4;
  EXPECT_EQ(Recommender(model, 2, registry, WeightPrecision::kFloat32, options).retrieval(),
            RetrievalMode::kAnn);
  // The default (no retrieval options) stays exact for small catalogs.
  EXPECT_EQ(Recommender(model, 3, registry).retrieval(), RetrievalMode::kExact);
}

TEST(AnnRetrievalOptions, BadOptionsSayWhich) {
  const auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { parse_retrieval_mode("fast"); }).find("--retrieval 'fast'"),
            std::string::npos);
  EXPECT_NE(message([] { parse_ann_index_type("lsh"); }).find("--ann-index 'lsh'"),
            std::string::npos);
  RetrievalOptions o;
  o.nlist = 10;
  o.nprobe = 11;
  EXPECT_NE(message([&] { validate(o); }).find("--ann-nprobe 11"), std::string::npos);
  o = RetrievalOptions{};
  o.nlist = -1;
  EXPECT_NE(message([&] { validate(o); }).find("--ann-nlist -1"), std::string::npos);
  o = RetrievalOptions{};
  o.hnsw_m = 2;
  EXPECT_NE(message([&] { validate(o); }).find("--ann-hnsw-m 2"), std::string::npos);
  o = RetrievalOptions{};
  o.ef_search = 0;
  o.mode = RetrievalMode::kAnn;
  const auto model = separated_model();
  ItemIndex registry;
  EXPECT_NE(message([&] {
              Recommender(model, 1, registry, WeightPrecision::kFloat32, o);
            }).find("--ann-ef-search 0"),
            std::string::npos);
}

}  // namespace
}  // namespace gru4rec
