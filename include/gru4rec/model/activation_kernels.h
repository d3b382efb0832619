// Element-wise activation kernels on row-major matrices (pure, allocation-free, vectorized:
// Eigen 3.4 does not vectorize select(), so the piecewise functions are written as
// max/min/exp compositions or as plain loops the compiler vectorizes).
#pragma once

#include <Eigen/Core>

#include "gru4rec/core/error.h"
#include "gru4rec/model/activation.h"

namespace gru4rec {

namespace detail {

template <typename T>
void activation_row(const Activation& act, const T* in, T* out, Eigen::Index n) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<const Array> x(in, n);
  Eigen::Map<Array> y(out, n);
  const auto alpha = static_cast<T>(act.alpha);
  const auto lambda = static_cast<T>(act.lambda);
  switch (act.kind) {
    case Activation::Kind::kLinear:
      if (in != out) y = x;
      return;
    case Activation::Kind::kRelu: y = x.max(T(0)); return;
    case Activation::Kind::kTanh: y = x.tanh(); return;
    case Activation::Kind::kLeaky: y = x.max(T(0)) + alpha * x.min(T(0)); return;
    case Activation::Kind::kElu: y = x.max(T(0)) + alpha * (x.min(T(0)).exp() - T(1)); return;
    case Activation::Kind::kSelu:
      y = lambda * (x.max(T(0)) + alpha * (x.min(T(0)).exp() - T(1)));
      return;
    case Activation::Kind::kSoftmax: break;
  }
  GRU4REC_CHECK(false, "softmax is not an element-wise activation");
}

template <typename T>
void activation_derivative_row(const Activation& act, const T* y, T* grad, Eigen::Index n) {
  const auto alpha = static_cast<T>(act.alpha);
  const auto lambda = static_cast<T>(act.lambda);
  switch (act.kind) {
    case Activation::Kind::kLinear: return;
    case Activation::Kind::kRelu:
      for (Eigen::Index i = 0; i < n; ++i) grad[i] = y[i] > T(0) ? grad[i] : T(0);
      return;
    case Activation::Kind::kTanh:
      for (Eigen::Index i = 0; i < n; ++i) grad[i] *= T(1) - y[i] * y[i];
      return;
    case Activation::Kind::kLeaky:
      for (Eigen::Index i = 0; i < n; ++i) grad[i] = y[i] > T(0) ? grad[i] : alpha * grad[i];
      return;
    case Activation::Kind::kElu:
      for (Eigen::Index i = 0; i < n; ++i)
        grad[i] = y[i] > T(0) ? grad[i] : (y[i] + alpha) * grad[i];
      return;
    case Activation::Kind::kSelu:
      for (Eigen::Index i = 0; i < n; ++i) {
        grad[i] = y[i] > T(0) ? lambda * grad[i] : (y[i] + lambda * alpha) * grad[i];
      }
      return;
    case Activation::Kind::kSoftmax: break;
  }
  GRU4REC_CHECK(false, "softmax is not an element-wise activation");
}

}  // namespace detail

// out = act(in), element-wise, for row-major matrices or row blocks of equal shape. `out` and
// `in` may be the same matrix. Softmax is not element-wise (the cross-entropy loss does it).
template <typename In, typename Out>
void apply_activation(const Activation& act, const In& in, Out&& out) {
  for (Eigen::Index r = 0; r < in.rows(); ++r) {
    detail::activation_row(act, in.row(r).data(), out.row(r).data(), in.cols());
  }
}

// grad *= act'(x), computed from the activation's output y = act(x).
template <typename Y, typename Grad>
void multiply_by_activation_derivative(const Activation& act, const Y& y, Grad&& grad) {
  for (Eigen::Index r = 0; r < y.rows(); ++r) {
    detail::activation_derivative_row(act, y.row(r).data(), grad.row(r).data(), y.cols());
  }
}

}  // namespace gru4rec
