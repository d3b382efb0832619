// The sparse Adagrad+momentum update against a reference written from the formulas: touched
// rows (duplicates summed before squaring) follow the dense update; untouched rows keep their
// weights, accumulators and velocities ("lazy" momentum). Also the early update of the output
// side: applying it before the rest gives the same result as one update.
#include "gru4rec/train/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "gru4rec/core/random.h"

namespace gru4rec {
namespace {

struct Reference {
  MatrixR<double> p, acc, vel;
  void update(int row, const RowVector<double>& g, double lr, double mu) {
    for (Eigen::Index j = 0; j < g.size(); ++j) {
      acc(row, j) += g(j) * g(j);
      const double step = g(j) / std::sqrt(acc(row, j) + 1e-6);
      if (mu > 0) {
        vel(row, j) = mu * vel(row, j) - lr * step;
        p(row, j) += vel(row, j);
      } else {
        p(row, j) -= lr * step;
      }
    }
  }
};

StepGradients<double> empty_gradients(const NetworkShape& shape, int max_rows) {
  StepGradients<double> g;
  const int h = shape.layers[0];
  g.layers.resize(1);
  g.layers[0] = GruLayerWeights<double>{
      MatrixR<double>::Zero(shape.input_size(0), 3 * h), MatrixR<double>::Zero(h, 2 * h),
      MatrixR<double>::Zero(h, h), RowVector<double>::Zero(3 * h)};
  g.wy_rows.reserve(shape.num_items, max_rows, shape.output_size());
  g.by_rows.reserve(shape.num_items, max_rows, 1);
  return g;
}

MatrixR<double> accumulators_of(const AdagradMomentum<double>& optimizer, int rows, int cols) {
  const ItemRows<const double> acc = optimizer.wy_accumulators();
  MatrixR<double> out(rows, cols);
  for (int r = 0; r < rows; ++r) {
    out.row(r) = Eigen::Map<const RowVector<double>>(acc.row(r), cols);
  }
  return out;
}

class OptimizerTest : public ::testing::TestWithParam<double> {};

TEST_P(OptimizerTest, SparseRowsMatchTheReferenceWithDuplicatesSummed) {
  const double momentum = GetParam();
  const double lr = 0.1;
  const NetworkShape shape{EmbeddingMode::kShared, 6, 0, {3}};
  NetworkWeights<double> w = NetworkWeights<double>::zeros(shape);
  Rng rng(1);
  for (Eigen::Index i = 0; i < w.Wy.size(); ++i) w.Wy.data()[i] = rng.uniform();
  Reference ref{w.Wy, MatrixR<double>::Zero(6, 3), MatrixR<double>::Zero(6, 3)};
  AdagradMomentum<double> optimizer(w, OptimizerConfig{lr, momentum, 0});
  EXPECT_EQ(w.Wy.size(), 0) << "the optimizer holds the item weights while training";

  StepGradients<double> g = empty_gradients(shape, 8);
  // Three steps touching different rows, with a duplicate id in the first.
  const std::vector<std::vector<int32_t>> steps = {{1, 4, 1}, {2}, {4, 0}};
  for (const auto& ids : steps) {
    g.wy_rows.clear();
    g.by_rows.clear();
    g.output_side_applied = false;
    std::map<int32_t, RowVector<double>> summed;
    for (int32_t id : ids) {
      RowVector<double> row(3);
      for (int j = 0; j < 3; ++j) row(j) = rng.uniform() - 0.5;
      g.wy_rows.add(id, row);
      if (summed.count(id) != 0) {
        summed[id] += row;
      } else {
        summed[id] = row;
      }
    }
    optimizer.update(w, g);
    for (const auto& [id, row] : summed) ref.update(id, row, lr, momentum);
    NetworkWeights<double> exported = w;
    optimizer.export_items(exported);
    ASSERT_TRUE(exported.Wy.isApprox(ref.p, 1e-12)) << "\n" << exported.Wy << "\nvs\n" << ref.p;
    ASSERT_TRUE(accumulators_of(optimizer, 6, 3).isApprox(ref.acc, 1e-12));
  }
  // Rows 3 and 5 were never touched.
  const MatrixR<double> acc = accumulators_of(optimizer, 6, 3);
  EXPECT_EQ(acc.row(3).squaredNorm(), 0.0);
  EXPECT_EQ(acc.row(5).squaredNorm(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutMomentum, OptimizerTest, ::testing::Values(0.0, 0.4));

TEST(Optimizer, EarlyOutputSideUpdateEqualsOneUpdate) {
  const NetworkShape shape{EmbeddingMode::kShared, 8, 0, {2}};
  NetworkWeights<double> w = NetworkWeights<double>::zeros(shape);
  Rng rng(3);
  for (Eigen::Index i = 0; i < w.Wy.size(); ++i) w.Wy.data()[i] = rng.uniform();
  NetworkWeights<double> w2 = w;
  AdagradMomentum<double> whole(w, OptimizerConfig{0.2, 0.5, 0});
  AdagradMomentum<double> split(w2, OptimizerConfig{0.2, 0.5, 0});
  StepGradients<double> g = empty_gradients(shape, 8);
  g.wy_rows.add_zero(2);  // an input row, completed later
  g.wy_input_slots = 1;
  for (int32_t id : {5, 2, 7}) {
    g.wy_rows.add(id, RowVector<double>::Constant(2, 0.1 * id));
    g.by_rows.add_scalar(id, 0.3);
  }
  g.output_side_applied = false;
  whole.update(w, g);
  split.update_output_side(g);
  split.update(w2, g);
  whole.export_items(w);
  split.export_items(w2);
  EXPECT_TRUE(w.Wy.isApprox(w2.Wy, 1e-15));
  EXPECT_TRUE(w.By.isApprox(w2.By, 1e-15));
  EXPECT_NE(w.By(5), 0.0);
}

TEST(Optimizer, DenseUpdateWithMomentumAndL2) {
  const NetworkShape shape{EmbeddingMode::kShared, 3, 0, {2}};
  NetworkWeights<double> w = NetworkWeights<double>::zeros(shape);
  w.layers[0].Uh << 1, 2, 3, 4;
  AdagradMomentum<double> optimizer(w, OptimizerConfig{0.5, 0.9, 0.01});
  StepGradients<double> g = empty_gradients(shape, 1);
  g.layers[0].Uh << 0.5, -1, 0, 2;
  // Two steps by hand for element (0,0): p=1, g=0.5.
  optimizer.update(w, g);
  // acc = 0.25; step = 0.5/sqrt(0.25+1e-6); v = -0.5*(step + 0.01*1); p = 1 + v
  const double step1 = 0.5 / std::sqrt(0.25 + 1e-6);
  const double v1 = -0.5 * (step1 + 0.01 * 1.0);
  EXPECT_NEAR(w.layers[0].Uh(0, 0), 1 + v1, 1e-12);
  optimizer.update(w, g);
  const double p1 = 1 + v1;
  const double step2 = 0.5 / std::sqrt(0.5 + 1e-6);
  const double v2 = 0.9 * v1 - 0.5 * (step2 + 0.01 * p1);
  EXPECT_NEAR(w.layers[0].Uh(0, 0), p1 + v2, 1e-12);
  // Element (1,0): p=3, g=0, so every Adagrad step is 0 and only L2 and momentum move it.
  // v1 = -0.5 * 0.01 * 3 = -0.015, p = 2.985; v2 = 0.9 * v1 - 0.5 * 0.01 * 2.985 = -0.028425,
  // p = 2.956575.
  EXPECT_NEAR(w.layers[0].Uh(1, 0), 2.956575, 1e-12);
}

}  // namespace
}  // namespace gru4rec
