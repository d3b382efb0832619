// The raw formats and preparation steps of the datasets of the GRU4Rec papers (reference
// section 4), by name: rsc15, yoochoose, retailrocket, diginetica, rees46, coveo.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/prepare/prepare.h"
#include "gru4rec/prepare/raw_events.h"

namespace gru4rec {

struct Preset {
  std::string name;
  std::string input;  // the raw file(s) it reads
  RawFormat format;
  PrepareOptions options;
};

const std::vector<Preset>& presets();
// Throws Error listing the presets for an unknown name.
const Preset& find_preset(std::string_view name);

}  // namespace gru4rec
