// Where parameters come from: the official parameter string (-ps), a TOML parameter file
// (-pf), or an official Python parameter file (-pf *.py, an OrderedDict named gru4rec_params).
// Later sources override earlier ones. Errors throw gru4rec::Error naming the source.
#pragma once

#include <string>
#include <string_view>

#include "gru4rec/model/params.h"

namespace gru4rec {

// "name=value,name=value"; '/' separates the values of a list (layers=200/200).
void apply_param_string(Params& params, std::string_view text);

// A TOML file of top-level `name = value` pairs (lists as arrays, e.g. layers = [200, 200]),
// or, for a path ending in .py, the official Python parameter file format.
void apply_param_file(Params& params, const std::string& path);

// The same from text in memory (`source_name` is used in messages).
void apply_param_toml(Params& params, std::string_view toml_text, std::string_view source_name);
void apply_param_python(Params& params, std::string_view python_text, std::string_view source_name);

}  // namespace gru4rec
