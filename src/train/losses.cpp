#include "gru4rec/train/losses.h"

#include <cmath>
#include <limits>

#include "gru4rec/core/error.h"
#include "gru4rec/model/activation_kernels.h"

namespace gru4rec {
namespace {

// The official implementation guards the logarithms of bpr-max and cross-entropy with this.
constexpr double kLogGuard = 1e-24;

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// s = softmax of `y` over the columns j != i (s_i = 0). `y` is restored before returning.
template <typename Row, typename Out>
void softmax_of_negatives(Row& y, Eigen::Index i, Out& s) {
  using T = typename Row::Scalar;
  const T own = y(i);
  y(i) = std::numeric_limits<T>::lowest();  // hide the positive from the max
  const T max = y.maxCoeff();
  y(i) = own;
  s.array() = (y.array() - max).exp();
  s(i) = T(0);
  s /= s.sum();
}

template <typename T>
T cross_entropy_row(const LossConfig& config, const T* x_data, Eigen::Index cols, Eigen::Index i,
                    T* g_data) {
  Eigen::Map<const RowVector<T>> x(x_data, cols);
  Eigen::Map<RowVector<T>> g(g_data, cols);
  const T max = x.maxCoeff();
  g.array() = (x.array() - max).exp();
  const T total = g.sum();
  g /= total;  // g = p = softmax(x)
  const T p_i = g(i);
  const T guard = static_cast<T>(kLogGuard);
  T loss = -std::log(p_i + guard);
  // d(-log(p_i + guard))/dx_j = (p_i / (p_i + guard)) (p_j - [j == i])
  const T k = p_i / (p_i + guard);
  if (config.smoothing > 0) {
    const T n = static_cast<T>(cols);
    const T eps = static_cast<T>(config.smoothing);
    const T w_own = T(1) - n * eps / (n - T(1));
    const T w_all = eps / (n - T(1));
    const T log_sum_exp = max + std::log(total);
    loss = w_own * loss + w_all * (n * log_sum_exp - x.sum());
    // d(sum_j -log p_j)/dx_j = n p_j - 1
    g.array() = w_own * k * g.array() + w_all * (n * g.array() - T(1));
    g(i) -= w_own * k;
  } else {
    g *= k;
    g(i) -= k;
  }
  return loss;
}

}  // namespace

LossConfig LossConfig::from_params(const Params& params) {
  LossConfig config;
  config.kind = params.loss;
  config.final_act = final_activation(params);
  config.bpreg = params.bpreg;
  config.smoothing = params.loss == LossKind::kCrossEntropy ? params.smoothing : 0.0;
  return config;
}

template <typename T>
void LossWorkspace<T>::reserve(Eigen::Index rows, Eigen::Index cols) {
  activated.resize(rows, cols);
  weights.resize(cols);
  pair.resize(cols);
  extra.resize(cols);
}

template <typename T>
T loss_forward_backward(const LossConfig& config, ConstMatrixRef<T> scores, LossWorkspace<T>& ws,
                        MatrixRef<T> grad, T grad_scale, Eigen::Index positive_offset) {
  const Eigen::Index rows = scores.rows();
  const Eigen::Index cols = scores.cols();
  const Eigen::Index offset = positive_offset;
  GRU4REC_CHECK(offset >= 0 && cols >= rows + offset && grad.rows() == rows && grad.cols() == cols);
  GRU4REC_CHECK(ws.activated.rows() >= rows && ws.activated.cols() >= cols);
  T total = 0;
  if (config.kind == LossKind::kCrossEntropy) {
    for (Eigen::Index i = 0; i < rows; ++i) {
      total +=
          cross_entropy_row(config, scores.row(i).data(), cols, i + offset, grad.row(i).data());
    }
    grad *= grad_scale;
    return total;
  }
  auto y_all = ws.activated.topLeftCorner(rows, cols);
  apply_activation(config.final_act, scores, y_all);
  auto s = ws.weights.head(cols);
  auto pair = ws.pair.head(cols);
  auto extra = ws.extra.head(cols);
  const T guard = static_cast<T>(kLogGuard);
  const T inv_cols = T(1) / static_cast<T>(cols);
  for (Eigen::Index row = 0; row < rows; ++row) {
    auto y = y_all.row(row);
    auto g = grad.row(row);
    const Eigen::Index i = row + offset;  // the positive's column
    const T y_i = y(i);
    switch (config.kind) {
      case LossKind::kBprMax: {
        softmax_of_negatives(y, i, s);
        pair.array() = (y_i - y.array()).logistic();  // a_j = sigmoid(y_i - y_j)
        const T t = (s.array() * pair.array()).sum();
        const T q = (s.array() * y.array().square()).sum();
        const T bpreg = static_cast<T>(config.bpreg);
        total += -std::log(t + guard) + bpreg * q;
        const T inv = T(1) / (t + guard);
        // d t/d y_j = s_j (a_j^2 - t); d q/d y_j = s_j (y_j^2 + 2 y_j - q), for j != i.
        g.array() = -inv * s.array() * (pair.array().square() - t) +
                    bpreg * s.array() * (y.array().square() + T(2) * y.array() - q);
        g(i) = -inv * (s.array() * pair.array() * (T(1) - pair.array())).sum();
        break;
      }
      case LossKind::kTop1Max: {
        softmax_of_negatives(y, i, s);
        pair.array() = (y.array() - y_i).logistic();    // sigmoid(y_j - y_i)
        extra.array() = y.array().square().logistic();  // sigmoid(y_j^2)
        const T loss = (s.array() * (pair.array() + extra.array())).sum();
        total += loss;
        const T d_own = -(s.array() * pair.array() * (T(1) - pair.array())).sum();
        g.array() = s.array() *
                    (pair.array() + extra.array() - loss + pair.array() * (T(1) - pair.array()) +
                     T(2) * y.array() * extra.array() * (T(1) - extra.array()));
        g(i) = d_own;
        break;
      }
      case LossKind::kTop1: {
        pair.array() = (y.array() - y_i).logistic();
        extra.array() = y.array().square().logistic();
        total += inv_cols * (pair.sum() + extra.sum() - extra(i));
        const T d_own = -inv_cols * ((pair.array() * (T(1) - pair.array())).sum() - T(0.25));
        g.array() = inv_cols * (pair.array() * (T(1) - pair.array()) +
                                T(2) * y.array() * extra.array() * (T(1) - extra.array()));
        g(i) = d_own;
        break;
      }
      case LossKind::kBpr: {
        // -log sigmoid(u) = softplus(-u), computed stably; u = y_i - y_j.
        pair.array() = y.array() - y_i;  // -u
        total += (pair.array().max(T(0)) + (-pair.array().abs()).exp().log1p()).sum();
        g.array() = pair.array().logistic();  // sigmoid(y_j - y_i)
        g(i) = -(g.sum() - g(i));
        break;
      }
      case LossKind::kCrossEntropy: break;
    }
  }
  multiply_by_activation_derivative(config.final_act, y_all, grad);
  grad *= grad_scale;
  return total;
}

template struct LossWorkspace<float>;
template struct LossWorkspace<double>;
template float loss_forward_backward<float>(const LossConfig&, ConstMatrixRef<float>,
                                            LossWorkspace<float>&, MatrixRef<float>, float,
                                            Eigen::Index);
template double loss_forward_backward<double>(const LossConfig&, ConstMatrixRef<double>,
                                              LossWorkspace<double>&, MatrixRef<double>, double,
                                              Eigen::Index);

}  // namespace gru4rec
