#include "gru4rec/tune/param_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/core/text.h"
#include "gru4rec/model/params.h"

namespace gru4rec {

double SpaceParam::snap(double x) const {
  double value = std::clamp(x, low, high);
  if (step > 0) {
    const double steps = std::floor((high - low) / step + 1e-9);
    value = low + std::clamp(std::round((value - low) / step), 0.0, steps) * step;
    value = std::stod(fmt::format("{:.12g}", value));  // 0.07500000000000001 -> 0.075
  }
  if (type == Type::kInt) value = std::round(value);
  return value;
}

std::string SpaceParam::format(double value) const {
  if (type == Type::kInt) return fmt::format("{}", static_cast<int64_t>(std::llround(value)));
  return format_double(value);
}

namespace {

using Json = nlohmann::json;

std::string choice_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return fmt::format("{}", value.get<int64_t>());
  if (value.is_number()) return format_double(value.get<double>());
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  throw std::invalid_argument("a categorical value must be a string, a number or a boolean");
}

SpaceParam parse_line(const Json& json) {
  if (!json.is_object()) throw std::invalid_argument("expected a JSON object");
  for (const auto& [key, _] : json.items()) {
    if (key != "name" && key != "dtype" && key != "values" && key != "step" && key != "log")
      throw std::invalid_argument(
          fmt::format("unknown field \"{}\" (expected name, dtype, values, step, log)", key));
  }
  if (!json.contains("name") || !json["name"].is_string())
    throw std::invalid_argument("\"name\" must be a string");
  SpaceParam p;
  p.name = json["name"].get<std::string>();
  if (find_param(p.name) == nullptr)
    throw std::invalid_argument(fmt::format("unknown parameter \"{}\"", p.name));
  const std::string dtype = json.value("dtype", std::string());
  if (dtype == "int")
    p.type = SpaceParam::Type::kInt;
  else if (dtype == "float")
    p.type = SpaceParam::Type::kFloat;
  else if (dtype == "categorical")
    p.type = SpaceParam::Type::kCategorical;
  else
    throw std::invalid_argument("\"dtype\" must be int, float or categorical");
  if (!json.contains("values") || !json["values"].is_array() || json["values"].empty())
    throw std::invalid_argument("\"values\" must be a non-empty list");
  const Json& values = json["values"];
  Params probe;  // every value must be one the parameter accepts
  if (p.type == SpaceParam::Type::kCategorical) {
    if (json.contains("step") || json.contains("log"))
      throw std::invalid_argument("a categorical parameter takes no step or log");
    for (const Json& v : values) {
      p.choices.push_back(choice_text(v));
      set_param(probe, p.name, p.choices.back());
    }
    return p;
  }
  if (values.size() != 2 || !values[0].is_number() || !values[1].is_number())
    throw std::invalid_argument("\"values\" of an int or float parameter must be [low, high]");
  p.low = values[0].get<double>();
  p.high = values[1].get<double>();
  if (!(p.low <= p.high)) throw std::invalid_argument("the range is empty (low > high)");
  if (json.contains("step")) {
    if (!json["step"].is_number() || !(json["step"].get<double>() > 0))
      throw std::invalid_argument("\"step\" must be a number > 0");
    p.step = json["step"].get<double>();
    if (p.type == SpaceParam::Type::kInt && std::floor(p.step) != p.step)
      throw std::invalid_argument("the step of an int parameter must be an integer");
  } else if (p.type == SpaceParam::Type::kInt) {
    p.step = 1;
  }
  if (p.type == SpaceParam::Type::kInt &&
      (std::floor(p.low) != p.low || std::floor(p.high) != p.high))
    throw std::invalid_argument("the range of an int parameter must be integers");
  if (json.contains("log")) {
    if (!json["log"].is_boolean()) throw std::invalid_argument("\"log\" must be true or false");
    p.log = json["log"].get<bool>();
    if (p.log && !(p.low > 0)) throw std::invalid_argument("a log scale needs low > 0");
  }
  set_param(probe, p.name, p.format(p.low));
  set_param(probe, p.name, p.format(p.high));
  return p;
}

}  // namespace

ParamSpace parse_param_space(std::string_view text, std::string_view source) {
  ParamSpace space;
  int line_number = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_number;
    line = trim(line);
    if (line.empty()) continue;
    try {
      const Json json = Json::parse(line);
      SpaceParam p = parse_line(json);
      for (const SpaceParam& q : space.params) {
        if (q.name == p.name)
          throw std::invalid_argument(fmt::format("\"{}\" appears twice", p.name));
      }
      space.params.push_back(std::move(p));
    } catch (const Json::exception& e) {
      throw Error(
          fmt::format("{}:{}: malformed JSON ({}); expected one object per line like "
                      "{{\"name\": \"layers\", \"dtype\": \"int\", \"values\": [64, 512]}}",
                      source, line_number, e.what()));
    } catch (const std::exception& e) {
      throw Error(fmt::format("{}:{}: {}", source, line_number, e.what()));
    }
  }
  if (space.params.empty()) throw Error(fmt::format("{}: no parameter in the space", source));
  return space;
}

ParamSpace read_param_space(const std::string& path) {
  return parse_param_space(read_file(path), path);
}

}  // namespace gru4rec
