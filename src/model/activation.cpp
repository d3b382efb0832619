#include "gru4rec/model/activation.h"

#include <stdexcept>

#include "gru4rec/core/text.h"

namespace gru4rec {

std::string Activation::to_string() const {
  switch (kind) {
    case Kind::kLinear: return "linear";
    case Kind::kRelu: return "relu";
    case Kind::kTanh: return "tanh";
    case Kind::kLeaky: return "leaky-" + format_double(alpha);
    case Kind::kElu: return "elu-" + format_double(alpha);
    case Kind::kSelu: return "selu-" + format_double(lambda) + "-" + format_double(alpha);
    case Kind::kSoftmax: return "softmax";
  }
  return "?";
}

Activation Activation::parse(std::string_view text) {
  text = trim(text);
  const auto invalid = [&]() {
    return std::invalid_argument(
        "expected linear, relu, tanh, softmax, leaky-<slope>, elu-<alpha> or "
        "selu-<lambda>-<alpha>");
  };
  Activation act;
  if (text == "linear") return act;
  if (text == "relu") return act.kind = Kind::kRelu, act;
  if (text == "tanh") return act.kind = Kind::kTanh, act;
  if (text == "softmax") return act.kind = Kind::kSoftmax, act;
  auto dash = text.find('-');
  if (dash == std::string_view::npos) throw invalid();
  std::string_view name = text.substr(0, dash);
  std::vector<std::string_view> numbers = split(text.substr(dash + 1), '-');
  std::vector<double> values;
  for (auto number : numbers) {
    auto value = parse_double(number);
    if (!value || *value < 0) throw invalid();
    values.push_back(*value);
  }
  if (name == "leaky" && values.size() == 1) {
    act.kind = Kind::kLeaky;
    act.alpha = values[0];
  } else if (name == "elu" && values.size() == 1) {
    act.kind = values[0] == 0 ? Kind::kLinear : Kind::kElu;
    act.alpha = values[0];
  } else if (name == "selu" && values.size() == 2) {
    act.kind = Kind::kSelu;
    act.lambda = values[0];
    act.alpha = values[1];
  } else {
    throw invalid();
  }
  return act;
}

}  // namespace gru4rec
