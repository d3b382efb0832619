// Element-wise activation kernels on Eigen array expressions (pure, allocation-free).
#pragma once

#include <Eigen/Core>

#include "gru4rec/core/error.h"
#include "gru4rec/model/activation.h"

namespace gru4rec {

// out = act(in), element-wise. `out` and `in` may alias. Softmax is not element-wise and is
// handled by the cross-entropy loss, so it is not accepted here.
template <typename In, typename Out>
void apply_activation(const Activation& act, const In& in, Out&& out) {
  using Scalar = typename In::Scalar;
  const auto alpha = static_cast<Scalar>(act.alpha);
  const auto lambda = static_cast<Scalar>(act.lambda);
  auto x = in.array();
  switch (act.kind) {
    case Activation::Kind::kLinear: out.array() = x; return;
    case Activation::Kind::kRelu: out.array() = x.max(Scalar(0)); return;
    case Activation::Kind::kTanh: out.array() = x.tanh(); return;
    case Activation::Kind::kLeaky: out.array() = (x > Scalar(0)).select(x, alpha * x); return;
    case Activation::Kind::kElu:
      out.array() = (x > Scalar(0)).select(x, alpha * (x.min(Scalar(0)).exp() - Scalar(1)));
      return;
    case Activation::Kind::kSelu:
      out.array() =
          lambda * (x > Scalar(0)).select(x, alpha * (x.min(Scalar(0)).exp() - Scalar(1)));
      return;
    case Activation::Kind::kSoftmax: break;
  }
  GRU4REC_CHECK(false, "softmax is not an element-wise activation");
}

// grad *= act'(x), computed from the activation's output y = act(x).
template <typename Out, typename Grad>
void multiply_by_activation_derivative(const Activation& act, const Out& y, Grad&& grad) {
  using Scalar = typename Out::Scalar;
  const auto alpha = static_cast<Scalar>(act.alpha);
  const auto lambda = static_cast<Scalar>(act.lambda);
  auto v = y.array();
  switch (act.kind) {
    case Activation::Kind::kLinear: return;
    case Activation::Kind::kRelu:
      grad.array() = (v > Scalar(0)).select(grad.array(), Scalar(0));
      return;
    case Activation::Kind::kTanh: grad.array() *= Scalar(1) - v.square(); return;
    case Activation::Kind::kLeaky:
      grad.array() = (v > Scalar(0)).select(grad.array(), alpha * grad.array());
      return;
    case Activation::Kind::kElu:
      grad.array() = (v > Scalar(0)).select(grad.array(), (v + alpha) * grad.array());
      return;
    case Activation::Kind::kSelu:
      grad.array() = (v > Scalar(0))
                         .select(lambda * grad.array(), (v + lambda * alpha) * grad.array());
      return;
    case Activation::Kind::kSoftmax: break;
  }
  GRU4REC_CHECK(false, "softmax is not an element-wise activation");
}

}  // namespace gru4rec
