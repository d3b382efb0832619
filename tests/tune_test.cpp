#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "gru4rec/core/error.h"
#include "gru4rec/tune/param_space.h"
#include "gru4rec/tune/tpe.h"
#include "gru4rec/tune/trial_log.h"

namespace gru4rec {
namespace {

constexpr const char* kSpace =
    R"({"name": "layers", "dtype": "int", "values": [64, 512], "step": 32}
{"name": "learning_rate", "dtype": "float", "values": [0.0001, 1.0], "log": true}

{"name": "momentum", "dtype": "float", "values": [0.0, 0.9], "step": 0.05}
{"name": "elu_param", "dtype": "categorical", "values": [0.5, 1, 0]}
)";

std::string error_of(const std::string& text) {
  try {
    parse_param_space(text, "space.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ParamSpace, ParsesTheOfficialFormatAndSnapsToTheGrid) {
  const ParamSpace space = parse_param_space(kSpace, "space.json");
  ASSERT_EQ(space.params.size(), 4u);
  const SpaceParam& layers = space.params[0];
  EXPECT_EQ(layers.type, SpaceParam::Type::kInt);
  EXPECT_EQ(layers.snap(100), 96);
  EXPECT_EQ(layers.snap(1000), 512);
  EXPECT_EQ(layers.format(96), "96");
  EXPECT_TRUE(space.params[1].log);
  EXPECT_DOUBLE_EQ(space.params[1].snap(0.01234), 0.01234);  // continuous
  EXPECT_DOUBLE_EQ(space.params[2].snap(0.0749), 0.05);      // grid 0, 0.05, ..., 0.9
  EXPECT_DOUBLE_EQ(space.params[2].snap(0.076), 0.1);
  EXPECT_EQ(space.params[2].format(space.params[2].snap(0.15000001)), "0.15");
  EXPECT_EQ(space.params[3].choices, (std::vector<std::string>{"0.5", "1", "0"}));
}

TEST(ParamSpace, BadSpacesNameTheLineAndTheProblem) {
  EXPECT_NE(error_of(R"({"name": "layer", "dtype": "int", "values": [1, 2]})")
                .find("space.json:1: unknown parameter \"layer\""),
            std::string::npos);
  EXPECT_NE(error_of("\n{\"name\": \"layers\", \"dtype\": \"int\", \"values\": [64, 32]}")
                .find("space.json:2: the range is empty"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "layers", "dtype": "int", "values": [64)").find("malformed JSON"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "momentum", "dtype": "float", "values": [0, 1], "step": 0})")
                .find("\"step\" must be a number > 0"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "momentum", "dtype": "float", "values": [0, 1], "log": true})")
                .find("log scale needs low > 0"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "momentum", "dtype": "double", "values": [0, 1]})").find("dtype"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "loss", "dtype": "categorical", "values": []})").find("non-empty"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "loss", "dtype": "categorical", "values": ["bpr-max", "hinge"]})")
                .find("space.json:1:"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"name": "momentum", "dtype": "float", "values": [0, 1], "steps": 1})")
                .find("unknown field \"steps\""),
            std::string::npos);
  EXPECT_NE(
      error_of(std::string(kSpace) + R"({"name": "layers", "dtype": "int", "values": [1, 2]})")
          .find("appears twice"),
      std::string::npos);
  EXPECT_NE(error_of("\n\n").find("no parameter"), std::string::npos);
}

// A cheap objective with its optimum at layers 416, learning_rate 0.02, momentum 0.7,
// elu_param "1" (index 1): 0 there, negative elsewhere.
double objective(const std::vector<double>& v) {
  const double layers = (v[0] - 416) / 448, lr = std::log10(v[1] / 0.02) / 4,
               momentum = (v[2] - 0.7) / 0.9;
  return -(layers * layers + lr * lr + momentum * momentum + (v[3] == 1 ? 0.0 : 0.3));
}

TEST(Tpe, FindsTheOptimumOfASyntheticObjectiveFasterThanRandomSearch) {
  const ParamSpace space = parse_param_space(kSpace, "space.json");
  constexpr int kSeeds = 10, kTrials = 40;
  double tpe_total = 0, random_total = 0;
  int tpe_wins = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    TpeOptions options;
    options.seed = static_cast<uint64_t>(seed);
    TpeSampler tpe(space, options), random(space, options);
    std::vector<Trial> history;
    double tpe_best = -1e9, random_best = -1e9;
    for (int t = 0; t < kTrials; ++t) {
      const std::vector<double> point = tpe.propose(history);
      for (size_t p = 0; p < point.size(); ++p) {
        const SpaceParam& param = space.params[p];
        if (param.type == SpaceParam::Type::kCategorical) {  // the index of one of the choices
          EXPECT_EQ(point[p], std::floor(point[p]));
          EXPECT_GE(point[p], 0);
          EXPECT_LT(point[p], static_cast<double>(param.choices.size()));
        } else {
          EXPECT_EQ(point[p], param.snap(point[p]));  // always on the grid
        }
      }
      history.push_back(Trial{point, objective(point)});
      tpe_best = std::max(tpe_best, history.back().objective);
      random_best = std::max(random_best, objective(random.random_point()));
    }
    tpe_total += tpe_best;
    random_total += random_best;
    tpe_wins += tpe_best > random_best ? 1 : 0;
  }
  EXPECT_GT(tpe_total / kSeeds, random_total / kSeeds);
  EXPECT_GE(tpe_wins, 7) << "TPE beat random search in " << tpe_wins << " of " << kSeeds;
}

// A failed trial (NaN) is ranked as the worst trial: the proposals after a history with failed
// trials are those after the same history with the failures given an objective below every
// other, and not those with the failures given the best objective.
TEST(Tpe, FailedTrialsCountAsTheWorst) {
  const ParamSpace space = parse_param_space(kSpace, "space.json");
  TpeSampler random(space, TpeOptions{});
  std::vector<Trial> failed, worst, best;
  for (int t = 0; t < 30; ++t) {
    const std::vector<double> point = random.random_point();
    const bool fails = t % 3 == 0;
    failed.push_back(Trial{point, fails ? std::nan("") : objective(point)});
    worst.push_back(Trial{point, fails ? -1e9 : objective(point)});
    best.push_back(Trial{point, fails ? 1e9 : objective(point)});
  }
  TpeSampler with_failed(space, TpeOptions{}), with_worst(space, TpeOptions{}),
      with_best(space, TpeOptions{});
  int differs_from_best = 0;
  for (int t = 0; t < 20; ++t) {
    const std::vector<double> a = with_failed.propose(failed);
    EXPECT_EQ(a, with_worst.propose(worst)) << "proposal " << t;
    differs_from_best += a != with_best.propose(best) ? 1 : 0;
  }
  EXPECT_GT(differs_from_best, 10);
}

TEST(TrialLog, RoundTripsAndRefusesTheLogOfAnotherSpace) {
  const ParamSpace space = parse_param_space(kSpace, "space.json");
  std::vector<TrialRecord> records{
      {Trial{{96, 0.02, 0.7, 1}, 0.25}, 12.5, "ok"},
      {Trial{{512, 0.5, 0.0, 2}, std::nan("")}, 1.0, "failed: diverged, lr too high"},
      {Trial{{64, 0.1, 0.0, 1}, 0.125}, 3.0, "stopped at epoch 2 of 10", {0.1, 0.125}}};
  const std::string text = format_trial_log(space, records);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "trial,layers,learning_rate,momentum,elu_param,objective,seconds,status,curve");
  EXPECT_NE(text.find("1,96,0.02,0.7,1,0.25,12.500,ok,\n"), std::string::npos) << text;
  EXPECT_NE(text.find("3,64,0.1,0,1,0.125,3.000,stopped at epoch 2 of 10,0.1;0.125\n"),
            std::string::npos)
      << text;
  const std::vector<TrialRecord> back = parse_trial_log(space, text, "log.csv");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[2].curve, records[2].curve);
  EXPECT_EQ(back[2].stopped_epoch, 2);
  EXPECT_EQ(back[0].stopped_epoch, 0);
  // A log written before the curve column reads as before.
  const std::vector<TrialRecord> old =
      parse_trial_log(space,
                      "trial,layers,learning_rate,momentum,elu_param,objective,seconds,status\n"
                      "1,96,0.02,0.7,1,0.25,12.500,ok (would have stopped at epoch 3 of 10)\n",
                      "old.csv");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_TRUE(old[0].curve.empty());
  EXPECT_EQ(old[0].would_stop_epoch, 3);
  EXPECT_EQ(back[0].trial.values, records[0].trial.values);
  EXPECT_DOUBLE_EQ(back[0].trial.objective, 0.25);
  EXPECT_TRUE(std::isnan(back[1].trial.objective));
  EXPECT_EQ(back[1].status, "failed: diverged; lr too high");  // commas replaced
  EXPECT_EQ(trial_params(space, back[1].trial.values),
            "layers=512,learning_rate=0.5,momentum=0,elu_param=0");
  const ParamSpace other = parse_param_space(
      R"({"name": "layers", "dtype": "int", "values": [64, 512], "step": 32})", "other.json");
  EXPECT_THROW(parse_trial_log(other, text, "log.csv"), Error);
  EXPECT_THROW(parse_trial_log(space, text + "3,96,x,0.7,1,0.1,1,ok\n", "log.csv"), Error);
}

}  // namespace
}  // namespace gru4rec
