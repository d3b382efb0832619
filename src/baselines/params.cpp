#include <algorithm>
#include <cmath>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"
#include "internal.h"

namespace gru4rec::baseline_detail {

void parse_params(std::string_view algorithm, std::string_view text, NumericParams& params) {
  if (trim(text).empty()) return;
  for (std::string_view pair : split(text, ',')) {
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      throw Error(fmt::format("{} parameters: expected key=value, got {}", algorithm,
                              quote_for_message(pair)));
    }
    const std::string_view key = trim(pair.substr(0, eq));
    const std::string_view value = trim(pair.substr(eq + 1));
    const auto found = params.find(key);
    if (found == params.end()) {
      std::vector<std::string> known;
      for (const auto& [name, _] : params) known.push_back(name);
      throw Error(fmt::format("{} has no parameter {}; its parameters: {}", algorithm,
                              quote_for_message(key),
                              known.empty() ? std::string("none") : join(known, ", ")));
    }
    NumericParam& p = found->second;
    const std::optional<double> number = parse_double(value);
    if (!number || !std::isfinite(*number) || *number < p.low || *number > p.high ||
        (p.integer && std::floor(*number) != *number)) {
      throw Error(fmt::format("{} parameter {}: expected {} from {} to {}, got {}", algorithm, key,
                              p.integer ? "an integer" : "a number", format_double(p.low),
                              format_double(p.high), quote_for_message(value)));
    }
    p.value = *number;
  }
}

std::string format_params(const NumericParams& params) {
  std::vector<std::string> parts;
  for (const auto& [name, p] : params) parts.push_back(name + "=" + format_double(p.value));
  return join(parts, ",");
}

std::vector<float> popularity_fallback(const std::vector<int64_t>& supports) {
  const int64_t top = supports.empty() ? 0 : *std::max_element(supports.begin(), supports.end());
  std::vector<float> fallback(supports.size());
  for (size_t i = 0; i < supports.size(); ++i)
    fallback[i] =
        static_cast<float>(0.5 * static_cast<double>(supports[i]) / static_cast<double>(top + 1));
  return fallback;
}

}  // namespace gru4rec::baseline_detail
