// Loss values against closed forms computed here in plain arithmetic (the gradients are
// checked against these values by finite differences in gradient_test.cpp).
#include "gru4rec/train/losses.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gru4rec {
namespace {

double sigmoid(double x) {
  return 1 / (1 + std::exp(-x));
}

// Row i's positive is column i.
const double kScores[2][3] = {{1.0, 0.0, 2.0}, {0.5, -1.0, 0.0}};

double loss_of(const LossConfig& config) {
  MatrixR<double> scores(2, 3);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) scores(i, j) = kScores[i][j];
  }
  LossWorkspace<double> workspace;
  workspace.reserve(2, 3);
  MatrixR<double> grad(2, 3);
  return loss_forward_backward<double>(config, scores, workspace, grad, 1.0);
}

// softmax over the negatives of row i
std::vector<double> negative_softmax(const double* r, int i) {
  std::vector<double> s(3, 0.0);
  double total = 0;
  for (int j = 0; j < 3; ++j) {
    if (j != i) total += s[static_cast<size_t>(j)] = std::exp(r[j]);
  }
  for (double& v : s) v /= total;
  return s;
}

TEST(Losses, CrossEntropyAndLabelSmoothing) {
  double expected = 0, smoothed = 0;
  const double eps = 0.3, n = 3;
  for (int i = 0; i < 2; ++i) {
    const double* r = kScores[i];
    const double lse = std::log(std::exp(r[0]) + std::exp(r[1]) + std::exp(r[2]));
    expected += lse - r[i];
    double all = 0;
    for (int j = 0; j < 3; ++j) all += lse - r[j];
    smoothed += (1 - n * eps / (n - 1)) * (lse - r[i]) + eps / (n - 1) * all;
  }
  LossConfig config;
  EXPECT_NEAR(loss_of(config), expected, 1e-12);
  config.smoothing = eps;
  EXPECT_NEAR(loss_of(config), smoothed, 1e-12);
}

TEST(Losses, BprMaxWithScoreRegularization) {
  const double bpreg = 0.7;
  double expected = 0;
  for (int i = 0; i < 2; ++i) {
    const double* r = kScores[i];
    const auto s = negative_softmax(r, i);
    double t = 0, q = 0;
    for (int j = 0; j < 3; ++j) {
      t += s[static_cast<size_t>(j)] * sigmoid(r[i] - r[j]);
      q += s[static_cast<size_t>(j)] * r[j] * r[j];
    }
    expected += -std::log(t + 1e-24) + bpreg * q;
  }
  LossConfig config{LossKind::kBprMax, Activation{}, bpreg, 0};
  EXPECT_NEAR(loss_of(config), expected, 1e-12);
}

TEST(Losses, BprMaxAppliesTheEluFirst) {
  const double alpha = 0.5;
  auto elu = [&](double x) { return x > 0 ? x : alpha * (std::exp(x) - 1); };
  double expected = 0;
  for (int i = 0; i < 2; ++i) {
    double r[3];
    for (int j = 0; j < 3; ++j) r[j] = elu(kScores[i][j]);
    const auto s = negative_softmax(r, i);
    double t = 0, q = 0;
    for (int j = 0; j < 3; ++j) {
      t += s[static_cast<size_t>(j)] * sigmoid(r[i] - r[j]);
      q += s[static_cast<size_t>(j)] * r[j] * r[j];
    }
    expected += -std::log(t + 1e-24) + q;
  }
  LossConfig config{LossKind::kBprMax, Activation{Activation::Kind::kElu, alpha}, 1.0, 0};
  EXPECT_NEAR(loss_of(config), expected, 1e-12);
}

TEST(Losses, Top1MaxTop1AndBpr) {
  double top1_max = 0, top1 = 0, bpr = 0;
  for (int i = 0; i < 2; ++i) {
    const double* r = kScores[i];
    const auto s = negative_softmax(r, i);
    double mean = 0;
    for (int j = 0; j < 3; ++j) {
      const double term = sigmoid(r[j] - r[i]) + sigmoid(r[j] * r[j]);
      top1_max += s[static_cast<size_t>(j)] * term;
      mean += term / 3;
      bpr += -std::log(sigmoid(r[i] - r[j]));  // the diagonal adds log 2
    }
    top1 += mean - sigmoid(r[i] * r[i]) / 3;
  }
  EXPECT_NEAR(loss_of(LossConfig{LossKind::kTop1Max, Activation{}, 1, 0}), top1_max, 1e-12);
  EXPECT_NEAR(loss_of(LossConfig{LossKind::kTop1, Activation{}, 1, 0}), top1, 1e-12);
  EXPECT_NEAR(loss_of(LossConfig{LossKind::kBpr, Activation{}, 1, 0}), bpr, 1e-12);
}

// A block of rows that starts at row k of a mini-batch (SplitStep's loss phase) has its
// positives in columns k, k+1, ...: with positive_offset=k it gives those rows' losses and
// gradients of the whole mini-batch.
TEST(Losses, ABlockOfRowsWithAnOffsetMatchesTheWholeMiniBatch) {
  MatrixR<double> scores(4, 7);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 7; ++j) scores(i, j) = std::sin(1.3 * i + 0.7 * j) * (1 + 0.2 * j);
  }
  for (const LossKind kind : {LossKind::kCrossEntropy, LossKind::kBprMax, LossKind::kTop1Max,
                              LossKind::kTop1, LossKind::kBpr}) {
    LossConfig config;
    config.kind = kind;
    config.final_act = Activation{kind == LossKind::kCrossEntropy ? Activation::Kind::kSoftmax
                                                                  : Activation::Kind::kLinear};
    config.smoothing = kind == LossKind::kCrossEntropy ? 0.1 : 0.0;
    LossWorkspace<double> workspace;
    workspace.reserve(4, 7);
    MatrixR<double> whole_grad(4, 7), block_grad(2, 7);
    const double whole = loss_forward_backward<double>(config, scores, workspace, whole_grad, 0.5);
    const double first =
        loss_forward_backward<double>(config, scores.topRows(2), workspace, block_grad, 0.5, 0);
    EXPECT_TRUE(block_grad.isApprox(whole_grad.topRows(2), 1e-12)) << loss_name(kind);
    const double second =
        loss_forward_backward<double>(config, scores.bottomRows(2), workspace, block_grad, 0.5, 2);
    EXPECT_TRUE(block_grad.isApprox(whole_grad.bottomRows(2), 1e-12)) << loss_name(kind);
    EXPECT_NEAR(first + second, whole, 1e-12) << loss_name(kind);
    // Without the offset the block's positives would be columns 0 and 1: another loss.
    const double wrong =
        loss_forward_backward<double>(config, scores.bottomRows(2), workspace, block_grad, 0.5);
    EXPECT_GT(std::abs(wrong - second), 1e-3) << loss_name(kind);
  }
}

}  // namespace
}  // namespace gru4rec
