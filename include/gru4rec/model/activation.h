// Element-wise activations used for the GRU candidate state (`hidden_act`) and for the scores
// before a ranking loss (`final_act`), with the names of the official implementation:
// linear, relu, tanh, leaky-<alpha>, elu-<alpha>, selu-<lambda>-<alpha>, softmax.
// All are monotone, so their derivative can be computed from the output alone.
#pragma once

#include <string>
#include <string_view>

namespace gru4rec {

struct Activation {
  enum class Kind { kLinear, kRelu, kTanh, kLeaky, kElu, kSelu, kSoftmax };
  Kind kind = Kind::kLinear;
  double alpha = 0;   // leaky slope, elu alpha, selu alpha
  double lambda = 1;  // selu scale

  std::string to_string() const;
  // Throws std::invalid_argument with the reason when `text` is not an activation name.
  static Activation parse(std::string_view text);

  friend bool operator==(const Activation&, const Activation&) = default;
};

}  // namespace gru4rec
