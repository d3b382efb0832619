// The GRU cell against the formulas of the original GRU4Rec, computed here element by element:
// the reset gate scales the previous state before the recurrent product (not after it, as
// PyTorch's GRUCell does), and Wx's column blocks are [candidate | reset | update].
#include <gtest/gtest.h>

#include <cmath>

#include "gru4rec/model/gru_layer.h"

namespace gru4rec {
namespace {

double sigmoid(double x) {
  return 1 / (1 + std::exp(-x));
}

TEST(GruCell, ForwardMatchesTheOriginalGruByHand) {
  const int in = 2, hidden = 2;
  GruLayerWeights<double> w{MatrixR<double>(in, 3 * hidden), MatrixR<double>(hidden, 2 * hidden),
                            MatrixR<double>(hidden, hidden), RowVector<double>(3 * hidden)};
  double v = 0.1;
  for (Eigen::Index i = 0; i < w.Wx.size(); ++i) w.Wx.data()[i] = (v += 0.13) - 0.8;
  for (Eigen::Index i = 0; i < w.Urz.size(); ++i) w.Urz.data()[i] = (v += 0.11) - 1.2;
  for (Eigen::Index i = 0; i < w.Uh.size(); ++i) w.Uh.data()[i] = (v += 0.17) - 1.9;
  for (Eigen::Index i = 0; i < w.bh.size(); ++i)
    w.bh.data()[i] = 0.05 * static_cast<double>(i) - 0.1;
  MatrixR<double> x(1, in), h_prev(1, hidden);
  x << 0.7, -0.4;
  h_prev << 0.3, -0.6;

  MatrixR<double> a(1, 3 * hidden), h(1, hidden);
  gru_input_projection<double>(w, x, a);
  GruCellCache<double> cache;
  cache.reserve(1, hidden);
  gru_cell_forward<double>(w, Activation{Activation::Kind::kTanh}, a, h_prev, cache, h);

  // x Wx + bh for one block (0 candidate, 1 reset, 2 update) and one unit.
  auto input = [&](int block, int unit) {
    double sum = w.bh(block * hidden + unit);
    for (int i = 0; i < in; ++i) sum += x(0, i) * w.Wx(i, block * hidden + unit);
    return sum;
  };
  for (int k = 0; k < hidden; ++k) {
    double pre_r = input(1, k), pre_z = input(2, k);
    for (int j = 0; j < hidden; ++j) {
      pre_r += h_prev(0, j) * w.Urz(j, k);
      pre_z += h_prev(0, j) * w.Urz(j, hidden + k);
    }
    const double r_k = sigmoid(pre_r);
    const double z_k = sigmoid(pre_z);
    // The candidate needs every component of r * h_prev.
    double pre_c = input(0, k);
    for (int j = 0; j < hidden; ++j) {
      double pre_rj = input(1, j);
      for (int m = 0; m < hidden; ++m) pre_rj += h_prev(0, m) * w.Urz(m, j);
      pre_c += sigmoid(pre_rj) * h_prev(0, j) * w.Uh(j, k);
    }
    const double c_k = std::tanh(pre_c);
    const double expected = (1 - z_k) * h_prev(0, k) + z_k * c_k;
    EXPECT_NEAR(h(0, k), expected, 1e-12) << "unit " << k;
    EXPECT_NEAR(cache.r(0, k), r_k, 1e-12);
    EXPECT_NEAR(cache.z(0, k), z_k, 1e-12);
  }
}

}  // namespace
}  // namespace gru4rec
