#include "gru4rec/model/inference.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace gru4rec {
namespace {

// One event at a time through the single-step API gives the same states and scores as
// advancing many sessions together (the evaluator's path).
TEST(Predictor, SingleStepMatchesBatchedRows) {
  const Model model =
      testing::train_small_model("n_epochs=1,layers=8/6,n_sample=8,batch_size=8", 200);
  const Predictor predictor(model);
  EXPECT_EQ(predictor.state_size(), 14);
  const std::vector<std::vector<int32_t>> sessions = {{1, 2, 3}, {4, 4, 5}, {7, 0, 9}};
  auto single = predictor.make_scratch(1);
  auto batch = predictor.make_scratch(3);
  std::vector<std::vector<float>> states(3, std::vector<float>(14, 0.0f));
  for (size_t step = 0; step < 3; ++step) {
    std::vector<int32_t> items;
    for (size_t s = 0; s < 3; ++s) {
      items.push_back(sessions[s][step]);
      predictor.advance(states[s], sessions[s][step], single);
    }
    predictor.advance_rows(items, batch.states, batch.forward);
    for (size_t s = 0; s < 3; ++s) {
      for (int j = 0; j < 6; ++j) {
        EXPECT_NEAR(states[s][8 + static_cast<size_t>(j)],
                    batch.states[1](static_cast<Eigen::Index>(s), j), 1e-5);
      }
    }
  }
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  predictor.score(states[0], scores);
  const Eigen::RowVectorXf h = batch.states[1].row(0);
  for (int32_t i = 0; i < model.num_items(); ++i) {
    const float expected = h.dot(model.weights.Wy.row(i)) + model.weights.By(i);
    EXPECT_NEAR(scores[static_cast<size_t>(i)], expected, 1e-4);
  }
}

}  // namespace
}  // namespace gru4rec
