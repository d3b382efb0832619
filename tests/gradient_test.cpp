// Finite-difference checks of the training step's gradients, in double precision, for every
// loss, every embedding mode and stacked layers (dropout off). The objective is the step's cost
// (summed row losses / batch_size) as a function of every weight, with the previous hidden
// states, the inputs and the target columns fixed. Items that do not occur in the step must
// get exactly zero gradient, which checks the sparse bookkeeping too.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "gru4rec/core/random.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/train_step.h"

namespace gru4rec {
namespace {

constexpr int32_t kItems = 9;
constexpr int kRows = 4;  // batch_size: the loss is divided by it
// Inputs and columns repeat items on purpose (duplicates must be summed).
const std::vector<int32_t> kInputs = {0, 3, 3, 5};
const std::vector<int32_t> kColumns = {1, 4, 0, 6, /* samples: */ 2, 4, 7};

struct GradientCase {
  std::string name;
  std::string params;
  bool logq_shift = false;
  bool dropout = false;  // with fixed masks (the same seed for every evaluation)
};

void PrintTo(const GradientCase& c, std::ostream* os) {
  *os << c.name;
}

class GradientTest : public ::testing::TestWithParam<GradientCase> {};

// Scatters the step's gradients into dense tensors with the weights' layout.
NetworkWeights<double> dense_gradients(const NetworkShape& shape, StepGradients<double>& g) {
  NetworkWeights<double> out = NetworkWeights<double>::zeros(shape);
  for (size_t l = 0; l < shape.layers.size(); ++l) {
    if (!(l == 0 && shape.mode == EmbeddingMode::kOneHot)) out.layers[l].Wx = g.layers[l].Wx;
    out.layers[l].Urz = g.layers[l].Urz;
    out.layers[l].Uh = g.layers[l].Uh;
    out.layers[l].bh = g.layers[l].bh;
  }
  auto scatter = [](const SparseRowGrad<double>& rows, auto& target) {
    auto ids = rows.ids();
    for (size_t k = 0; k < ids.size(); ++k) {
      if (ids[k] == SparseRowGrad<double>::kFolded) {
        EXPECT_EQ(rows.rows().row(static_cast<Eigen::Index>(k)).squaredNorm(), 0.0);
        continue;
      }
      if (target.rows() == 1) {
        target(0, ids[k]) += rows.rows()(static_cast<Eigen::Index>(k), 0);
      } else {
        target.row(ids[k]) += rows.rows().row(static_cast<Eigen::Index>(k));
      }
    }
  };
  scatter(g.wy_rows, out.Wy);
  scatter(g.by_rows, out.By);
  if (shape.mode == EmbeddingMode::kSeparate) scatter(g.input_rows, out.E);
  if (shape.mode == EmbeddingMode::kOneHot) scatter(g.input_rows, out.layers[0].Wx);
  return out;
}

TEST_P(GradientTest, MatchesFiniteDifferences) {
  const GradientCase& c = GetParam();
  Params params;
  apply_param_string(params, c.params);
  params.batch_size = kRows;
  params.dropout_p_embed = c.dropout ? 0.3 : 0;
  params.dropout_p_hidden = c.dropout ? 0.4 : 0;
  validate_params(params);
  const NetworkShape shape = NetworkShape::from_params(params, kItems);
  NetworkWeights<double> w = initialize_network<double>(shape, params, 11);
  // Non-zero biases and larger item vectors, so that every term is exercised.
  Rng rng(5);
  w.for_each_tensor([&](const std::string&, auto& t) {
    for (Eigen::Index i = 0; i < t.size(); ++i) t.data()[i] += 0.4 * (rng.uniform() - 0.5);
  });
  std::vector<MatrixR<double>> h_prev;
  for (int size : shape.layers) {
    MatrixR<double> h(kRows, size);
    for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = rng.uniform() - 0.5;
    h.row(1).setZero();  // a row that just started a session
    h_prev.push_back(h);
  }
  std::vector<double> shift;
  if (c.logq_shift) {
    for (size_t j = 0; j < kColumns.size(); ++j) shift.push_back(0.3 + rng.uniform());
  }
  TrainStep<double> step(shape, StepConfig::from_params(params), kRows,
                         static_cast<int>(kColumns.size()));
  auto cost = [&]() {
    std::vector<MatrixR<double>> hidden = h_prev;
    Rng masks(77);
    return step.run(w, w.item_tables(), kInputs, kColumns, shift, hidden,
                    c.dropout ? &masks : nullptr) /
           kRows;
  };
  const double base = cost();
  ASSERT_TRUE(std::isfinite(base));
  NetworkWeights<double> analytic = dense_gradients(shape, step.gradients());

  std::map<std::string, const double*> analytic_data;
  analytic.for_each_tensor(
      [&](const std::string& name, const auto& t) { analytic_data[name] = t.data(); });
  int checked = 0, nonzero = 0;
  const double h = 1e-6;
  w.for_each_tensor([&](const std::string& name, auto& t) {
    for (Eigen::Index i = 0; i < t.size(); ++i) {
      double& x = t.data()[i];
      const double saved = x;
      x = saved + h;
      const double plus = cost();
      x = saved - h;
      const double minus = cost();
      x = saved;
      const double numeric = (plus - minus) / (2 * h);
      const double exact = analytic_data[name][i];
      const double tolerance = 1e-7 + 1e-5 * std::max(std::abs(numeric), std::abs(exact));
      ASSERT_NEAR(exact, numeric, tolerance) << c.name << ": " << name << "[" << i << "]";
      ++checked;
      nonzero += exact != 0 ? 1 : 0;
    }
  });
  EXPECT_GT(checked, 100);
  EXPECT_GT(nonzero, checked / 5) << "too few non-zero gradients to be a meaningful check";
}

INSTANTIATE_TEST_SUITE_P(
    AllLossesAndModes, GradientTest,
    ::testing::Values(
        GradientCase{"xe_shared", "loss=cross-entropy,layers=5"},
        GradientCase{"xe_logq", "loss=cross-entropy,logq=1,layers=5", true},
        GradientCase{"xe_smoothing", "loss=cross-entropy,smoothing=0.2,layers=5"},
        GradientCase{"bprmax_elu_bpreg", "loss=bpr-max,elu_param=0.5,bpreg=1.95,layers=5"},
        GradientCase{"bprmax_linear_no_reg", "loss=bpr-max,elu_param=0,bpreg=0,layers=5"},
        GradientCase{"bprmax_elu1_logq", "loss=bpr-max,elu_param=1,bpreg=0.5,logq=1,layers=5",
                     true},
        GradientCase{"top1max", "loss=top1-max,layers=5"},
        GradientCase{"top1_tanh", "loss=top1,final_act=tanh,layers=5"},
        GradientCase{"bpr_linear", "loss=bpr,final_act=linear,layers=5"},
        GradientCase{"bprmax_selu", "loss=bpr-max,final_act=selu-1.05-1.67,layers=5"},
        GradientCase{"xe_separate",
                     "loss=cross-entropy,constrained_embedding=False,embedding=3,layers=5"},
        GradientCase{"bprmax_separate_layersize",
                     "loss=bpr-max,constrained_embedding=False,embedding=layersize,layers=4"},
        GradientCase{"xe_onehot",
                     "loss=cross-entropy,constrained_embedding=False,embedding=0,layers=5"},
        GradientCase{"bprmax_onehot_two_layers",
                     "loss=bpr-max,constrained_embedding=False,embedding=0,layers=4/3"},
        GradientCase{"xe_shared_two_layers", "loss=cross-entropy,logq=1,layers=4/3", true},
        GradientCase{"bprmax_shared_two_layers", "loss=bpr-max,layers=3/5"},
        GradientCase{"xe_separate_two_layers",
                     "loss=cross-entropy,constrained_embedding=False,embedding=6,layers=5/4"},
        GradientCase{"hidden_relu", "loss=cross-entropy,hidden_act=relu,layers=5"},
        GradientCase{"hidden_leaky", "loss=bpr-max,hidden_act=leaky-0.1,layers=5"},
        GradientCase{"hidden_elu", "loss=cross-entropy,hidden_act=elu-1,layers=5"},
        GradientCase{"dropout_shared_two_layers", "loss=bpr-max,layers=4/5", false, true},
        GradientCase{"dropout_separate",
                     "loss=cross-entropy,constrained_embedding=False,embedding=4,layers=5", false,
                     true},
        GradientCase{"dropout_onehot",
                     "loss=cross-entropy,constrained_embedding=False,embedding=0,layers=5", false,
                     true}),
    [](const ::testing::TestParamInfo<GradientCase>& info) { return info.param.name; });

}  // namespace
}  // namespace gru4rec
