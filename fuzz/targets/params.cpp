// Parameters as users give them: the official parameter string (-ps), a TOML file, or the
// official Python parameter file (an OrderedDict). Parameters that apply must format back to a
// string that applies to the same parameters.
#include "gru4rec/model/params.h"

#include <string>

#include "fuzz_targets.h"
#include "gru4rec/core/error.h"
#include "gru4rec/model/param_sources.h"

namespace gru4rec::fuzz {
namespace {

std::string formatted(const Params& params) {
  std::string out;
  for (const auto& [name, value] : format_params(params)) out += name + "=" + value + ",";
  return out;
}

}  // namespace

int params(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Params params;
  try {
    switch (data[0] % 3) {
      case 0: apply_param_string(params, text); break;
      case 1: apply_param_toml(params, text, "fuzz.toml"); break;
      default: apply_param_python(params, text, "fuzz.py"); break;
    }
  } catch (const Error&) {
    return 0;
  }
  try {
    validate_params(params);  // notes, or Error for parameters that do not fit together
  } catch (const Error&) {
    return 0;
  }
  // The round trip: values that hold no separator of the string format.
  const std::string first = formatted(params);
  for (const auto& [name, value] : format_params(params)) {
    if (value.find_first_of(",=") != std::string::npos) return 0;
  }
  Params again;
  std::string string_form = first;
  if (!string_form.empty()) string_form.pop_back();  // the last comma
  try {
    apply_param_string(again, string_form);
  } catch (const Error&) {
    FUZZ_CHECK(!"formatted parameters apply again");
  }
  FUZZ_CHECK(formatted(again) == first);
  return 0;
}

}  // namespace gru4rec::fuzz
