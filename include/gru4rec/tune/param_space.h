// Hyperparameter search spaces in the official GRU4Rec JSON-lines format (paropt.py): one JSON
// object per line,
//   {"name": "layers", "dtype": "int", "values": [64, 512], "step": 32}
//   {"name": "learning_rate", "dtype": "float", "values": [0.01, 0.25], "step": 0.005}
//   {"name": "momentum", "dtype": "float", "values": [0.0, 0.9], "log": false}
//   {"name": "elu_param", "dtype": "categorical", "values": [0.5, 1, 0]}
// int and float ranges are inclusive; "step" (optional) puts values on the grid lo + i * step;
// "log" (optional) draws on a log scale (lo > 0). Categorical values are strings or numbers.
// Every name must be a GRU4Rec training parameter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gru4rec {

struct SpaceParam {
  enum class Type { kInt, kFloat, kCategorical };
  std::string name;
  Type type = Type::kFloat;
  double low = 0, high = 0;  // int, float
  double step = 0;           // 0: continuous (float) / 1 (int)
  bool log = false;
  std::vector<std::string> choices;  // categorical, as parameter text

  // The value nearest to x that the parameter can take (clamped, on the step grid; an
  // integer for int).
  double snap(double x) const;
  // The parameter text of a numeric value (an integer without decimals for int).
  std::string format(double value) const;
};

struct ParamSpace {
  std::vector<SpaceParam> params;
};

// Parses the JSON-lines text; `source` names it in errors ("file:line: ..."). Throws Error for
// malformed JSON, a missing or unknown field, an unknown parameter name, a duplicate, an empty
// or reversed range, a step <= 0, a log scale with lo <= 0, or an empty choice list.
ParamSpace parse_param_space(std::string_view text, std::string_view source);
ParamSpace read_param_space(const std::string& path);

}  // namespace gru4rec
