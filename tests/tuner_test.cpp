// The tuning loop: trials run until the count, resumed logs continue, failed trials never win.
#include "gru4rec/tune/tuner.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gru4rec/core/error.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/data/synthetic.h"

namespace gru4rec {
namespace {

class TunerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SyntheticOptions options;
    options.num_items = 40;
    options.num_sessions = 300;
    options.seed = 5;
    const SyntheticData data = generate_synthetic_data(options);
    train_ = parse_training_log(data.train_tsv, "train", ReadOptions{}, items_);
    valid_ = parse_test_log(data.test_tsv, "valid", ReadOptions{}, items_);
  }
  ItemIndex items_;
  SessionLog train_, valid_;
  TuneOptions options_{.fixed = "n_epochs=1,batch_size=16,n_sample=0",
                       .trials = 3,
                       .cutoff = 10,
                       .metric = "recall",
                       .mode = TieMode::kStandard,
                       .jobs = 1,
                       .seed = 2};
};

TEST_F(TunerTest, ResumesToTheTrialCountAndReportsEachTrial) {
  const ParamSpace space = parse_param_space(
      R"({"name": "layers", "dtype": "int", "values": [4, 12], "step": 4})", "space");
  std::vector<TrialRecord> records;
  records.push_back(TrialRecord{Trial{{8}, 0.25}, 1.0, "ok"});  // as read from a log
  int trials_seen = 0, rounds = 0;
  run_tuning(space, options_, items_, train_, valid_, records,
             TuneCallbacks{.on_trial = [&](const std::vector<TrialRecord>&) { ++trials_seen; },
                           .on_round = [&](const std::vector<TrialRecord>&) { ++rounds; }});
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(trials_seen, 2);
  EXPECT_EQ(rounds, 2);  // one trial per round with jobs = 1
  for (size_t r = 1; r < records.size(); ++r) {
    EXPECT_EQ(records[r].status, "ok");
    EXPECT_GE(records[r].trial.objective, 0.0);
    EXPECT_LE(records[r].trial.objective, 1.0);
    const double layers = records[r].trial.values[0];
    EXPECT_TRUE(layers == 4 || layers == 8 || layers == 12) << layers;
  }
  // The best is the highest objective among them.
  const int best = best_trial(records);
  ASSERT_GE(best, 0);
  for (const TrialRecord& r : records)
    EXPECT_LE(r.trial.objective, records[static_cast<size_t>(best)].trial.objective);
  EXPECT_EQ(all_trial_params(space, options_, records[0]),
            "n_epochs=1,batch_size=16,n_sample=0,layers=8");
}

TEST_F(TunerTest, FailedTrialsAreRecordedAndNeverWin) {
  // final_act=softmax needs loss=cross-entropy: every trial fails as its parameters are checked.
  const ParamSpace space = parse_param_space(
      R"({"name": "loss", "dtype": "categorical", "values": ["bpr-max", "top1-max"]})", "space");
  std::vector<TrialRecord> records;
  options_.trials = 2;
  options_.fixed += ",final_act=softmax";
  run_tuning(space, options_, items_, train_, valid_, records);
  ASSERT_EQ(records.size(), 2u);
  for (const TrialRecord& r : records) {
    EXPECT_TRUE(std::isnan(r.trial.objective));
    EXPECT_NE(r.status.find("failed: "), std::string::npos) << r.status;
    EXPECT_NE(r.status.find("final_act=softmax needs"), std::string::npos) << r.status;
  }
  EXPECT_EQ(best_trial(records), -1);
  // A NaN never beats a number, wherever it stands.
  records.push_back(TrialRecord{Trial{{0}, 0.1}, 1.0, "ok"});
  records.insert(records.begin(), TrialRecord{Trial{{1}, 0.05}, 1.0, "ok"});
  EXPECT_EQ(best_trial(records), 3);
}

TEST_F(TunerTest, ContradictoryOptionsAreRefused) {
  const ParamSpace space = parse_param_space(
      R"({"name": "layers", "dtype": "int", "values": [4, 12], "step": 4})", "space");
  TuneOptions both = options_;
  both.fixed = "layers=8";
  EXPECT_THROW(check_tune_options(space, both), Error);
  TuneOptions metric = options_;
  metric.metric = "hits";
  EXPECT_THROW(check_tune_options(space, metric), Error);
  TuneOptions bad_fixed = options_;
  bad_fixed.fixed = "no_such_param=1";
  EXPECT_THROW(check_tune_options(space, bad_fixed), Error);
}

}  // namespace
}  // namespace gru4rec
