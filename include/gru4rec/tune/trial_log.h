// The tuning log: one CSV row per finished trial, so that a search can be inspected and
// resumed. Columns: trial, one per parameter of the space (its value as parameter text),
// objective (nan for a failed trial), seconds, status (ok, stopped at epoch E, or the error of a
// failed trial), curve (the validation metric after each epoch, ';'-separated, when the search
// stops trials early; logs without this column are read too).
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
  std::vector<double> curve;  // validation metric after each epoch (with early stopping)
  int stopped_epoch = 0;      // the epoch after which the rule stopped it (0: it was not)
  int would_stop_epoch = 0;   // audit: the epoch at which the rule would have stopped it
};

std::string format_trial_log(const ParamSpace& space, const std::vector<TrialRecord>& records);

// Throws Error ("source:line: ...") when the header does not match the space (a log of another
// search) or a row is malformed.
std::vector<TrialRecord> parse_trial_log(const ParamSpace& space, std::string_view text,
                                         std::string_view source);

// The parameter string of a trial's values ("name=value,..."), in the space's order.
std::string trial_params(const ParamSpace& space, const std::vector<double>& values);

}  // namespace gru4rec
