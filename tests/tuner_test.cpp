// The tuning loop: trials run until the count, resumed logs continue, failed trials never win.
#include "gru4rec/tune/tuner.h"

#include <fmt/format.h>
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
  // Failing on: the search gives up after 5 failed trials whatever the count asked for.
  std::vector<TrialRecord> more = records;
  options_.trials = 50;
  try {
    run_tuning(space, options_, items_, train_, valid_, more);
    ADD_FAILURE() << "a search whose every trial fails went on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the first 5 trials all failed"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(more.size(), 5u);
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

TEST_F(TunerTest, FirstPointsRunBeforeTheSamplersDrawsAndResumedTrialsCount) {
  const ParamSpace space = parse_param_space(
      "{\"name\": \"layers\", \"dtype\": \"int\", \"values\": [4, 12], \"step\": 4}\n"
      "{\"name\": \"learning_rate\", \"dtype\": \"float\", \"values\": [0.01, 0.2], "
      "\"step\": 0.01}\n"
      "{\"name\": \"loss\", \"dtype\": \"categorical\", \"values\": [\"cross-entropy\", "
      "\"bpr-max\"]}",
      "space");
  // Snapped to the grid; categorical values by their index.
  EXPECT_EQ(point_from_params(space, "loss=bpr-max, layers=8,learning_rate=0.052"),
            (std::vector<double>{8, 0.05, 1}));
  EXPECT_THROW(point_from_params(space, "layers=8,learning_rate=0.05"), Error);  // no loss
  EXPECT_THROW(point_from_params(space, "layers=8,learning_rate=0.05,loss=top1"), Error);
  EXPECT_THROW(point_from_params(space, "layers=40,learning_rate=0.05,loss=bpr-max"), Error);
  EXPECT_THROW(point_from_params(space, "layers=8,learning_rate=0.05,loss=bpr-max,momentum=0"),
               Error);
  options_.trials = 3;
  options_.first_points = {"layers=12,learning_rate=0.1,loss=bpr-max",
                           "layers=4,learning_rate=0.2,loss=cross-entropy"};
  // A resumed log of one trial: its point was the first one, so the second runs next.
  std::vector<TrialRecord> records;
  records.push_back(TrialRecord{Trial{{12, 0.1, 1}, 0.25}, 1.0, "ok"});
  run_tuning(space, options_, items_, train_, valid_, records);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].trial.values, (std::vector<double>{4, 0.2, 0}));
  EXPECT_EQ(records[1].status, "ok");
  TuneOptions bad = options_;
  bad.first_points = {"layers=8"};
  EXPECT_THROW(check_tune_options(space, bad), Error);
}

TEST(MedianRule, StopsOnlyClearlyBelowTheMedianOfEnoughFinishedTrials) {
  // Finished curves; at epoch 2 their best values so far are 0.30, 0.40, 0.50 (median 0.40).
  const std::vector<std::vector<double>> done = {
      {0.2, 0.3, 0.35}, {0.4, 0.35, 0.5}, {0.1, 0.5, 0.6}, {0.9}};  // the last is too short
  EXPECT_TRUE(median_rule_stops(std::vector<double>{0.1, 0.38}, done, 0.02, 3));
  EXPECT_FALSE(median_rule_stops(std::vector<double>{0.1, 0.395}, done, 0.02, 3));  // within 2%
  EXPECT_FALSE(median_rule_stops(std::vector<double>{0.45, 0.2}, done, 0.02, 3));   // best so far
  EXPECT_FALSE(median_rule_stops(std::vector<double>{0.1, 0.2}, done, 0.02, 4));    // too few
  // Epoch 1, four curves long enough: best values 0.2, 0.4, 0.1, 0.9: median (0.2 + 0.4) / 2.
  EXPECT_TRUE(median_rule_stops(std::vector<double>{0.25}, done, 0.0, 3));
  EXPECT_FALSE(median_rule_stops(std::vector<double>{0.31}, done, 0.0, 3));
  EXPECT_FALSE(median_rule_stops(std::vector<double>{}, done, 0.0, 1));
}

TEST_F(TunerTest, EarlyStoppingStopsBadTrialsAndTheAuditOnlyMarksThem) {
  // Trials of 4 epochs whose learning rate is either sound or far too small; after 3 sound
  // ones have finished, the slow ones fall behind the median at once.
  const ParamSpace space = parse_param_space(
      R"({"name": "learning_rate", "dtype": "categorical", "values": ["0.1", "0.0001"]})", "space");
  options_.fixed = "n_epochs=4,batch_size=16,n_sample=0,layers=16,threads=1";
  options_.metric = "recall";
  options_.stop_early = true;
  options_.stop_min_trials = 3;
  std::vector<TrialRecord> records;
  for (int i = 0; i < 3; ++i) records.push_back(TrialRecord{Trial{{0}, 0}, 1.0, "ok"});
  options_.trials = 3;  // nothing to run: only the resumed records
  // The three "finished" trials' curves, as a log would give them: sound values.
  for (auto& r : records) r.curve = {0.3, 0.35, 0.4, 0.42};
  for (auto& r : records) r.trial.objective = 0.42;
  options_.trials = 5;
  options_.seed = 11;
  run_tuning(space, options_, items_, train_, valid_, records);
  ASSERT_EQ(records.size(), 5u);
  int stopped = 0;
  for (size_t r = 3; r < records.size(); ++r) {
    const TrialRecord& t = records[r];
    ASSERT_FALSE(t.curve.empty());
    if (t.stopped_epoch > 0) {
      ++stopped;
      EXPECT_EQ(t.curve.size(), static_cast<size_t>(t.stopped_epoch));
      EXPECT_EQ(t.status, fmt::format("stopped at epoch {} of 4", t.stopped_epoch));
      EXPECT_TRUE(median_rule_stops(t.curve, {records[0].curve, records[1].curve, records[2].curve},
                                    options_.stop_margin, 3));
    } else {
      EXPECT_EQ(t.curve.size(), 4u);
      EXPECT_EQ(t.status, "ok");
    }
  }
  // The same search audited: nothing is stopped, the same trials are marked.
  std::vector<TrialRecord> audited(records.begin(), records.begin() + 3);
  options_.audit_stopping = true;
  run_tuning(space, options_, items_, train_, valid_, audited);
  ASSERT_EQ(audited.size(), 5u);
  for (size_t r = 3; r < audited.size(); ++r) {
    EXPECT_EQ(audited[r].stopped_epoch, 0);
    EXPECT_EQ(audited[r].curve.size(), 4u);
    EXPECT_EQ(audited[r].would_stop_epoch, records[r].stopped_epoch) << r;
  }
  // A stopping rule that never has a chance to act would make this test meaningless.
  EXPECT_GT(stopped, 0);
}

TEST_F(TunerTest, ABudgetStartsNoNewRoundOnceSpent) {
  const ParamSpace space = parse_param_space(
      R"({"name": "layers", "dtype": "int", "values": [4, 12], "step": 4})", "space");
  options_.trials = 50;
  options_.budget_seconds = 1e-9;  // spent before the first round
  std::vector<TrialRecord> records;
  run_tuning(space, options_, items_, train_, valid_, records);
  EXPECT_TRUE(records.empty());
}

}  // namespace
}  // namespace gru4rec
