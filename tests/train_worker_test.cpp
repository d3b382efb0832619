#include "gru4rec/train/train_worker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "gru4rec/data/session_reader.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/param_sources.h"

namespace gru4rec {
namespace {

TEST(LogQShift, InBatchColumnsUseSupportAndSampledColumnsSupportToAlpha) {
  Params params;
  apply_param_string(params, "logq=1,sample_alpha=0.5");
  const LogQShift shift(params, {1, 10, 100});
  ASSERT_TRUE(shift.enabled());
  const std::vector<int32_t> columns = {2, 0, 1, 2};
  std::vector<float> out(4);
  shift.fill(columns, 2, out);  // two targets, then two samples
  EXPECT_NEAR(out[0], std::log(100.0), 1e-6);
  EXPECT_NEAR(out[1], 0.0, 1e-6);
  EXPECT_NEAR(out[2], 0.5 * std::log(10.0), 1e-6);
  EXPECT_NEAR(out[3], 0.5 * std::log(100.0), 1e-6);
  Params half;
  apply_param_string(half, "logq=0.5,sample_alpha=1");
  LogQShift(half, {1, 10, 100}).fill(columns, 2, out);
  EXPECT_NEAR(out[0], 0.5 * std::log(100.0), 1e-6);
  EXPECT_NEAR(out[3], 0.5 * std::log(100.0), 1e-6);
  EXPECT_FALSE(LogQShift(Params{}, {1, 10, 100}).enabled());
}

// Every row's state after a step is the state of its session's prefix (computed here one
// session at a time from a zero state), states of rows whose session ended are zero, and rows
// are compacted correctly when the batch shrinks. Items are unique to sessions, so a row's
// input names its session and position. The learning rate is too small to change a weight.
TEST(TrainWorker, CarriesResetsAndCompactsTheHiddenStates) {
  const std::vector<std::vector<int>> sessions = {{0, 1, 2, 3},         {4, 5},  {6, 7, 8}, {9},
                                                  {10, 11, 12, 13, 14}, {15, 16}};
  std::string text = "SessionId\tItemId\tTime\n";
  std::map<int, std::pair<size_t, size_t>> where;  // item -> (session, position)
  double time = 0;
  for (size_t s = 0; s < sessions.size(); ++s) {
    for (size_t p = 0; p < sessions[s].size(); ++p) {
      text += "s" + std::to_string(s) + "\ti" + std::to_string(sessions[s][p]) + "\t" +
              std::to_string(time++) + "\n";
      where[sessions[s][p]] = {s, p};
    }
  }
  ItemIndex items;
  const SessionLog log = parse_training_log(text, "t", ReadOptions{}, items);
  Params params;
  apply_param_string(params, "layers=4/3,batch_size=3,n_sample=2,learning_rate=1e-30,n_epochs=1");
  Model model = Model::initialize(params, std::move(items), log, "t");
  const Model reference = model;  // the weights do not move with this learning rate
  const Predictor predictor(reference);
  auto scratch = predictor.make_scratch(1);
  auto reference_state = [&](size_t session, size_t position) {
    std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
    for (size_t p = 0; p <= position; ++p) {
      predictor.advance(state, reference.items.find("i" + std::to_string(sessions[session][p])),
                        scratch);
    }
    return state;
  };

  AliasSampler sampler(model.supports, params.sample_alpha);
  TrainWorker worker(model, &sampler, 1);
  AdagradMomentum<float> optimizer(model.weights, OptimizerConfig::from_params(params));
  SessionBatcher batcher(log, session_order_by_time(log), params.batch_size);
  SessionBatcher::Step batch;
  int steps = 0, shrinks = 0, checked_rows = 0;
  while (batcher.next(batch)) {
    shrinks += batch.kept_rows.empty() ? 0 : 1;
    worker.train(batch, model.weights, optimizer);
    ++steps;
    const auto& h = worker.hidden_states();
    for (size_t row = 0; row < batch.inputs.size(); ++row) {
      const auto r = static_cast<Eigen::Index>(row);
      if (batch.session_ends[row] != 0) {
        EXPECT_EQ(h[0].row(r).squaredNorm(), 0.0f) << "step " << steps << " row " << row;
        EXPECT_EQ(h[1].row(r).squaredNorm(), 0.0f);
        continue;
      }
      const std::string& id = reference.items.id(batch.inputs[row]);
      const auto [session, position] = where.at(std::stoi(id.substr(1)));
      const std::vector<float> expected = reference_state(session, position);
      for (int j = 0; j < 4; ++j) EXPECT_NEAR(h[0](r, j), expected[static_cast<size_t>(j)], 1e-5);
      for (int j = 0; j < 3; ++j)
        EXPECT_NEAR(h[1](r, j), expected[4 + static_cast<size_t>(j)], 1e-5);
      ++checked_rows;
    }
  }
  EXPECT_EQ(steps, 5);  // 11 pairs over 3 rows that shrink to 1 at the end
  EXPECT_GE(shrinks, 1);
  EXPECT_GT(checked_rows, 5);
}

}  // namespace
}  // namespace gru4rec
