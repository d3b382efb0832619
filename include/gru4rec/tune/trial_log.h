// The tuning log: one CSV row per finished trial, so that a search can be inspected and
// resumed. Columns: trial, one per parameter of the space (its value as parameter text),
// objective (nan for a failed trial), seconds, status (ok, or the error of a failed trial).
// Pure text functions; the caller writes the file (atomically).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/tune/param_space.h"
#include "gru4rec/tune/tpe.h"

namespace gru4rec {

struct TrialRecord {
  Trial trial;
  double seconds = 0;
  std::string status = "ok";
};

std::string format_trial_log(const ParamSpace& space, const std::vector<TrialRecord>& records);

// Throws Error ("source:line: ...") when the header does not match the space (a log of another
// search) or a row is malformed.
std::vector<TrialRecord> parse_trial_log(const ParamSpace& space, std::string_view text,
                                         std::string_view source);

// The parameter string of a trial's values ("name=value,..."), in the space's order.
std::string trial_params(const ParamSpace& space, const std::vector<double>& values);

}  // namespace gru4rec
