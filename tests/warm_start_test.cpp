// Continuing a model on new events: known items keep their rows, new items get fresh ones,
// the supports add up, the lineage names the parent, shape changes are refused, and a new item
// that the new data makes predictable is recommended afterwards.
#include "gru4rec/train/warm_start.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gru4rec/core/error.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/train/trainer.h"
#include "test_support.h"

namespace gru4rec {
namespace {

constexpr const char* kParams = "layers=16,batch_size=8,n_sample=8,threads=1,n_epochs=2,seed=4";

// New events: sessions where the new item "fresh-b" always follows known item `a`, and
// "fresh-c" follows "fresh-b"; plus a few sessions of known items.
std::string new_day(const std::string& a, const std::string& b, int sessions) {
  std::string tsv = "SessionId\tItemId\tTime\n";
  for (int s = 0; s < sessions; ++s) {
    const int t = 2'000'000'000 + 100 * s;
    tsv += fmt::format("n{}\t{}\t{}\nn{}\tfresh-b\t{}\nn{}\tfresh-c\t{}\n", s, a, t, s, t + 1, s,
                       t + 2);
    tsv += fmt::format("k{}\t{}\t{}\nk{}\t{}\t{}\n", s, b, t + 3, s, a, t + 4);
  }
  return tsv;
}

class WarmStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parent_ = testing::train_small_model(kParams, 400);
    apply_param_string(params_, kParams);
  }
  Model parent_;
  Params params_;
};

TEST_F(WarmStartTest, KnownItemsKeepTheirRowsNewItemsGetFreshOnes) {
  ItemIndex items = parent_.items;
  const std::string a = parent_.items.id(3), b = parent_.items.id(5);
  const SessionLog data = parse_training_log(new_day(a, b, 20), "day", ReadOptions{}, items);
  ASSERT_EQ(items.size(), parent_.num_items() + 2);
  const Model fresh = Model::initialize(params_, ItemIndex(items), data, "day");
  const Model model = warm_start(parent_, params_, ItemIndex(items), data, "day");
  const auto known = static_cast<Eigen::Index>(parent_.num_items());
  ASSERT_EQ(model.num_items(), parent_.num_items() + 2);
  EXPECT_EQ(model.weights.Wy.topRows(known), parent_.weights.Wy);
  EXPECT_EQ(model.weights.By.head(known), parent_.weights.By);
  // New rows: as a fresh model of the new size draws them.
  EXPECT_EQ(model.weights.Wy.bottomRows(2), fresh.weights.Wy.bottomRows(2));
  // The GRU layers: halved by default (init_shrink; see InitShrinkScalesOnlyTheLayers).
  for (size_t l = 0; l < model.weights.layers.size(); ++l)
    EXPECT_EQ(model.weights.layers[l].Uh, (0.5f * parent_.weights.layers[l].Uh).eval());
  // Supports: the parent's plus the new day's.
  EXPECT_EQ(model.supports[3], parent_.supports[3] + 40);  // a: twice per pair of sessions
  EXPECT_EQ(model.supports[5], parent_.supports[5] + 20);
  EXPECT_EQ(model.supports[static_cast<size_t>(items.find("fresh-b"))], 20);
  EXPECT_EQ(model.supports[0], parent_.supports[0]);
  // The lineage: the parent (the id its file has), then this model's own data in stats.
  ASSERT_EQ(model.lineage.size(), 1u);
  EXPECT_EQ(model.lineage[0].model_id,
            load_model_from_bytes(serialize_model(parent_), "parent").content_id);
  EXPECT_EQ(model.lineage[0].events, parent_.stats.events);
  EXPECT_EQ(model.lineage[0].items, parent_.num_items());
  EXPECT_EQ(model.stats.events, data.num_events());
  EXPECT_EQ(model.stats.epochs, 0);
  // The lineage survives the model file, and grows with each continuation.
  const Model loaded = load_model_from_bytes(serialize_model(model), "child");
  ASSERT_EQ(loaded.lineage.size(), 1u);
  EXPECT_EQ(loaded.lineage[0].model_id, model.lineage[0].model_id);
  EXPECT_EQ(loaded.lineage[0].time_max, parent_.stats.time_max);
  ItemIndex again = loaded.items;
  const SessionLog more = parse_training_log(new_day(a, b, 5), "day2", ReadOptions{}, again);
  const Model grandchild = warm_start(loaded, params_, std::move(again), more, "day2");
  ASSERT_EQ(grandchild.lineage.size(), 2u);
  EXPECT_EQ(grandchild.lineage[1].model_id, loaded.content_id);
}

TEST_F(WarmStartTest, InitShrinkScalesOnlyTheLayers) {
  ItemIndex known_items = parent_.items;
  const SessionLog data = parse_training_log(new_day(parent_.items.id(3), parent_.items.id(5), 4),
                                             "day", ReadOptions{}, known_items);
  for (const float shrink : {1.0f, 0.25f}) {  // powers of 2: the products are exact in floats
    const Model model = warm_start(parent_, params_, ItemIndex(known_items), data, "day", shrink);
    const auto known = static_cast<Eigen::Index>(parent_.num_items());
    EXPECT_EQ(model.weights.Wy.topRows(known), parent_.weights.Wy) << shrink;
    EXPECT_EQ(model.weights.By.head(known), parent_.weights.By);
    ASSERT_NE(model.optimizer_state, nullptr);  // the state is not scaled
    EXPECT_EQ(model.optimizer_state->accumulators.layers[0].Uh,
              parent_.optimizer_state->accumulators.layers[0].Uh);
    for (size_t l = 0; l < model.weights.layers.size(); ++l) {
      const GruLayerWeights<float>& was = parent_.weights.layers[l];
      const GruLayerWeights<float>& now = model.weights.layers[l];
      ASSERT_GT(was.Uh.norm(), 0.0f);
      EXPECT_EQ(now.Wx, (shrink * was.Wx).eval()) << shrink;
      EXPECT_EQ(now.Urz, (shrink * was.Urz).eval());
      EXPECT_EQ(now.Uh, (shrink * was.Uh).eval());
      EXPECT_EQ(now.bh, (shrink * was.bh).eval());
    }
  }
  for (const double bad : {0.0, 1.5, -1.0})
    EXPECT_THROW(warm_start(parent_, params_, ItemIndex(known_items), data, "day", bad), Error)
        << bad;
}

// One-hot input: layer 0's Wx holds one row per item, kept like the output rows.
TEST(WarmStartOneHot, InitShrinkKeepsTheInputItemRows) {
  SessionLog train;
  const Model parent = testing::train_small_model(
      "layers=12,batch_size=8,n_sample=8,threads=1,n_epochs=1,constrained_embedding=False,"
      "embedding=0",
      200, &train);
  ASSERT_EQ(parent.weights.shape.mode, EmbeddingMode::kOneHot);
  const Model model = warm_start(parent, parent.params, ItemIndex(parent.items), train, "again");
  EXPECT_EQ(model.weights.layers[0].Wx, parent.weights.layers[0].Wx);
  EXPECT_EQ(model.weights.layers[0].Uh, (0.5f * parent.weights.layers[0].Uh).eval());
}

TEST_F(WarmStartTest, ANewItemIsRecommendedAfterTheUpdateThatBringsIt) {
  ItemIndex items = parent_.items;
  const std::string a = parent_.items.id(3), b = parent_.items.id(5);
  const SessionLog data = parse_training_log(new_day(a, b, 60), "day", ReadOptions{}, items);
  Params params = params_;
  params.n_epochs = 5;
  Model model = warm_start(parent_, params, std::move(items), data, "day");
  train_model(model, data);
  const int32_t fresh_b = model.items.find("fresh-b");
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
  predictor.advance(state, model.items.find(a), scratch);
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  predictor.score(state, scores);
  std::vector<ScoredItem> top(5);
  top.resize(top_k(scores, 5, top));
  bool found = false;
  for (const ScoredItem& s : top) found = found || s.item == fresh_b;
  EXPECT_TRUE(found) << "fresh-b is not among the 5 best after " << a;
}

TEST_F(WarmStartTest, ShapeChangesAreRefusedOtherChangesAreNot) {
  for (const char* change : {"layers=32", "layers=16/16", "constrained_embedding=False",
                             "constrained_embedding=False,embedding=8"}) {
    Params changed = params_;
    apply_param_string(changed, change);
    try {
      check_same_shape(params_, changed);
      ADD_FAILURE() << change << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
    }
  }
  Params changed = params_;
  // embedding is ignored with constrained_embedding=True: no change of shape.
  apply_param_string(changed,
                     "learning_rate=0.01,n_epochs=1,loss=bpr-max,final_act=elu-1,embedding=8");
  EXPECT_NO_THROW(check_same_shape(params_, changed));
}

}  // namespace
}  // namespace gru4rec

namespace gru4rec {
namespace {

// With in-batch negatives and no dropout nothing random happens after the initialization: 2
// epochs, saved with the optimizer's state, then 1 more from the file, are the 3 epochs of an
// uninterrupted training, bit for bit. Without the state the third epoch differs (Adagrad's
// accumulators start again from zero).
TEST(WarmStartOptimizerState, ContinuingWithTheStateIsTheUninterruptedTraining) {
  testing::TempDir dir;
  for (const char* momentum : {"0", "0.3"}) {
    const std::string base = std::string(
                                 "layers=12,batch_size=8,n_sample=0,threads=1,seed=9,"
                                 "dropout_p_hidden=0,dropout_p_embed=0,logq=0,momentum=") +
                             momentum;
    SessionLog train;
    const Model three = testing::train_small_model(base + ",n_epochs=3", 300, &train);
    const Model two = testing::train_small_model(base + ",n_epochs=2", 300);
    ASSERT_NE(two.optimizer_state, nullptr);
    EXPECT_EQ(two.optimizer_state->velocities.has_value(), std::string(momentum) != "0");
    save_model(two, dir.file("with.g4r"), true);
    save_model(two, dir.file("without.g4r"));
    const Model with = load_model(dir.file("with.g4r"));
    const Model without = load_model(dir.file("without.g4r"));
    ASSERT_NE(with.optimizer_state, nullptr);
    EXPECT_EQ(without.optimizer_state, nullptr);
    EXPECT_EQ(with.optimizer_state->accumulators.Wy, two.optimizer_state->accumulators.Wy);
    Params params = two.params;
    params.n_epochs = 1;
    const auto continue_from = [&](const Model& parent) {
      // init_shrink 1: the weights as the interrupted training left them.
      Model model = warm_start(parent, params, ItemIndex(parent.items), train, "train", 1.0);
      train_model(model, train);
      return model;
    };
    const Model resumed = continue_from(with);
    const Model restarted = continue_from(without);
    EXPECT_EQ(resumed.weights.Wy, three.weights.Wy) << "momentum " << momentum;
    EXPECT_EQ(resumed.weights.layers[0].Urz, three.weights.layers[0].Urz);
    EXPECT_NE(restarted.weights.Wy, three.weights.Wy);
  }
  // Saving a state that does not exist is refused, and nothing is written.
  Model untrained = testing::train_small_model("layers=8,n_epochs=1,threads=1");
  untrained.optimizer_state.reset();
  EXPECT_THROW(save_model(untrained, dir.file("none.g4r"), true), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.g4r")));
}

}  // namespace
}  // namespace gru4rec
