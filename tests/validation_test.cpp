// Validation during training: the stop metric, early stopping and keeping the best snapshot.
#include "gru4rec/train/validation.h"

#include <gtest/gtest.h>

#include "gru4rec/core/error.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/param_sources.h"
#include "test_support.h"

namespace gru4rec {
namespace {

TEST(StopMetric, ParsedAgainstTheCutoffs) {
  const std::vector<int> cutoffs{5, 10, 20};
  StopMetric m = parse_stop_metric("", cutoffs);
  EXPECT_EQ(m.kind, StopMetric::Kind::kMrr);
  EXPECT_EQ(m.cutoff_index, 2u);
  EXPECT_EQ(m.name, "mrr@20");
  m = parse_stop_metric("recall@5", cutoffs);
  EXPECT_EQ(m.kind, StopMetric::Kind::kRecall);
  EXPECT_EQ(m.cutoff_index, 0u);
  m = parse_stop_metric("ndcg@10", cutoffs);
  EXPECT_EQ(m.kind, StopMetric::Kind::kNdcg);
  EXPECT_EQ(m.cutoff_index, 1u);
  EvalResult result;
  result.recall = {0.1, 0.2, 0.3};
  result.mrr = {0.01, 0.02, 0.03};
  result.ndcg = {0.4, 0.5, 0.6};
  EXPECT_EQ(m.value_of(result), 0.5);
  for (const char* bad : {"mrr@7", "hit@5", "mrr", "mrr@x", "recall@"}) {
    try {
      parse_stop_metric(bad, cutoffs);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("5 10 20"), std::string::npos) << e.what();
    }
  }
}

class ValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SyntheticOptions options;
    options.num_items = 60;
    options.num_sessions = 600;
    options.num_topics = 5;
    options.seed = 3;
    const SyntheticData data = generate_synthetic_data(options);
    train_ = parse_training_log(data.train_tsv, "synthetic-train", ReadOptions{}, items_);
    valid_ = parse_test_log(data.test_tsv, "synthetic-test", ReadOptions{}, items_);
  }

  // A learning rate of 0.5 makes later epochs worse than earlier ones: early stopping has
  // something to do.
  Model fresh_model(int epochs, const std::string& learning_rate = "0.5") const {
    Params params;
    apply_param_string(params, "layers=16,batch_size=16,n_sample=0,threads=1,learning_rate=" +
                                   learning_rate + ",n_epochs=" + std::to_string(epochs));
    return Model::initialize(params, ItemIndex(items_), train_, "synthetic-train");
  }

  ItemIndex items_;
  SessionLog train_, valid_;
};

TEST_F(ValidationTest, KeepsTheBestSnapshotAndStopsAfterPatience) {
  Model model = fresh_model(8);
  EvalOptions eval;
  eval.cutoffs = {5, 20};
  eval.threads = 1;
  Validation validation(
      valid_,
      ValidationOptions{.eval = eval, .stop_metric = "recall@5", .patience = 1, .every = 1});
  std::vector<int> seen;
  train_with_validation(model, train_, validation, {},
                        [&](const ValidationRecord& r) { seen.push_back(r.epoch); });
  const auto& history = validation.history();
  ASSERT_FALSE(history.empty());
  ASSERT_EQ(seen.size(), history.size());
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].epoch, static_cast<int>(i) + 1);
    EXPECT_EQ(history[i].value, history[i].result.recall[0]);
  }
  // The best record is the first that beats every earlier one, and no later one beats it.
  const ValidationRecord* best = validation.best();
  ASSERT_NE(best, nullptr);
  for (const ValidationRecord& r : history) EXPECT_LE(r.value, best->value);
  // With patience 1 it stops right after the first validation that is no better, or runs all.
  // With patience 1 it stops right after the first validation that is no better, or runs all.
  if (validation.stopped_early()) {
    ASSERT_GE(history.size(), 2u);
    EXPECT_FALSE(history.back().best);
    EXPECT_TRUE(history[history.size() - 2].best);
  } else {
    EXPECT_EQ(history.size(), 8u);
  }
  // The model kept is the best snapshot: its epoch, and the same figure evaluated again.
  EXPECT_EQ(model.stats.epochs, best->epoch);
  EXPECT_EQ(evaluate(model, valid_, validation.options().eval).recall[0], best->value);
}

TEST_F(ValidationTest, StopsAfterExactlyPatienceValidationsWithoutProgress) {
  // A learning rate far below the weights' float resolution: no weight moves, every
  // validation gives the same figure, so only the first is "better" (on any CPU).
  Model model = fresh_model(8, "1e-30");
  EvalOptions eval;
  eval.threads = 1;
  ValidationOptions options;
  options.eval = eval;
  options.patience = 2;
  Validation validation(valid_, options);
  train_with_validation(model, train_, validation);
  const auto& history = validation.history();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_TRUE(history[0].best);
  EXPECT_FALSE(history[1].best);
  EXPECT_FALSE(history[2].best);
  EXPECT_EQ(history[1].value, history[0].value);
  EXPECT_TRUE(validation.stopped_early());
  EXPECT_EQ(validation.best()->epoch, 1);
  EXPECT_EQ(model.stats.epochs, 1);  // the first epoch's snapshot, not the third's
}

TEST_F(ValidationTest, WithoutPatienceEveryEpochRunsAndTheLastModelStays) {
  Model model = fresh_model(5);
  EvalOptions eval;
  eval.threads = 1;
  ValidationOptions options;
  options.eval = eval;
  options.every = 2;
  Validation validation(valid_, options);
  train_with_validation(model, train_, validation);
  // Every second epoch and after the last one.
  std::vector<int> epochs;
  for (const ValidationRecord& r : validation.history()) epochs.push_back(r.epoch);
  EXPECT_EQ(epochs, (std::vector<int>{2, 4, 5}));
  EXPECT_EQ(validation.best_model(), nullptr);
  EXPECT_FALSE(validation.stopped_early());
  EXPECT_EQ(model.stats.epochs, 5);
  EXPECT_EQ(evaluate(model, valid_, validation.options().eval).mrr[0],
            validation.history().back().value);
}

TEST_F(ValidationTest, AverageEpochsAndEarlyStoppingAreRefusedTogether) {
  Model model = fresh_model(4);
  model.params.average_epochs = 2;
  EvalOptions eval;
  eval.threads = 1;
  Validation stopping(valid_, ValidationOptions{.eval = eval, .patience = 1, .every = 1});
  try {
    train_with_validation(model, train_, stopping);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("average_epochs=2 and early stopping"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(model.stats.epochs, 0);  // refused before training
  // Without early stopping the validations run and the averaged model stays.
  Validation watching(valid_, ValidationOptions{.eval = eval, .every = 1});
  train_with_validation(model, train_, watching);
  EXPECT_EQ(watching.history().size(), 4u);
  EXPECT_EQ(model.stats.epochs, 4);
}

TEST_F(ValidationTest, BadOptionsAreRefused) {
  ValidationOptions metric, patience, every;
  metric.stop_metric = "mrr@5";  // the default cut-offs are {20}
  patience.patience = -1;
  every.every = 0;
  for (const ValidationOptions& bad : {metric, patience, every})
    EXPECT_THROW(Validation(valid_, bad), Error);
}

}  // namespace
}  // namespace gru4rec
