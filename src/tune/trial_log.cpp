#include "gru4rec/tune/trial_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"

namespace gru4rec {
namespace {

std::string header(const ParamSpace& space) {
  std::vector<std::string> columns{"trial"};
  for (const SpaceParam& p : space.params) columns.push_back(p.name);
  columns.insert(columns.end(), {"objective", "seconds", "status", "curve"});
  return join(columns, ",");
}

// The header of logs written before the curve column.
std::string header_without_curve(const ParamSpace& space) {
  std::string text = header(space);
  return text.substr(0, text.size() - std::string(",curve").size());
}

std::string value_text(const SpaceParam& p, double value) {
  return p.type == SpaceParam::Type::kCategorical ? p.choices[static_cast<size_t>(value)]
                                                  : p.format(value);
}

// Status texts are free-form error messages: keep them to one CSV field.
std::string clean_status(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == ',' || c == '\n' || c == '\r'; }, ';');
  return text;
}

}  // namespace

std::string trial_params(const ParamSpace& space, const std::vector<double>& values) {
  std::vector<std::string> parts;
  for (size_t p = 0; p < space.params.size(); ++p)
    parts.push_back(space.params[p].name + "=" + value_text(space.params[p], values[p]));
  return join(parts, ",");
}

std::string format_trial_log(const ParamSpace& space, const std::vector<TrialRecord>& records) {
  std::string text = header(space) + "\n";
  for (size_t r = 0; r < records.size(); ++r) {
    const TrialRecord& record = records[r];
    std::vector<std::string> fields{fmt::format("{}", r + 1)};
    for (size_t p = 0; p < space.params.size(); ++p)
      fields.push_back(value_text(space.params[p], record.trial.values[p]));
    fields.push_back(std::isnan(record.trial.objective)
                         ? "nan"
                         : fmt::format("{:.10g}", record.trial.objective));
    fields.push_back(fmt::format("{:.3f}", record.seconds));
    fields.push_back(clean_status(record.status));
    std::vector<std::string> curve;
    for (const double v : record.curve) curve.push_back(fmt::format("{:.10g}", v));
    fields.push_back(join(curve, ";"));
    text += join(fields, ",") + "\n";
  }
  return text;
}

std::vector<TrialRecord> parse_trial_log(const ParamSpace& space, std::string_view text,
                                         std::string_view source) {
  std::vector<TrialRecord> records;
  int line_number = 0;
  size_t columns = space.params.size() + 5;
  for (std::string_view line : split(text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    if (line_number == 1) {
      if (line == header_without_curve(space)) {
        columns = space.params.size() + 4;
        continue;
      }
      if (line != header(space)) {
        throw Error(
            fmt::format("{}:1: the log's columns are not those of this search space; "
                        "expected {}",
                        source, header(space)));
      }
      continue;
    }
    const std::vector<std::string_view> fields = split(line, ',');
    const auto fail = [&](const std::string& what) {
      return Error(fmt::format("{}:{}: {}", source, line_number, what));
    };
    if (fields.size() != columns)
      throw fail(fmt::format("expected {} fields, got {}", columns, fields.size()));
    TrialRecord record;
    for (size_t p = 0; p < space.params.size(); ++p) {
      const SpaceParam& param = space.params[p];
      const std::string_view field = fields[p + 1];
      if (param.type == SpaceParam::Type::kCategorical) {
        const auto found = std::find(param.choices.begin(), param.choices.end(), field);
        if (found == param.choices.end())
          throw fail(fmt::format("{} is not a choice of {}", quote_for_message(field), param.name));
        record.trial.values.push_back(static_cast<double>(found - param.choices.begin()));
      } else {
        const std::optional<double> value = parse_double(field);
        if (!value)
          throw fail(
              fmt::format("{}: expected a number, got {}", param.name, quote_for_message(field)));
        record.trial.values.push_back(*value);
      }
    }
    const std::string_view objective = fields[space.params.size() + 1];
    const std::optional<double> value = parse_double(objective);
    if (objective == "nan")
      record.trial.objective = std::nan("");
    else if (value)
      record.trial.objective = *value;
    else
      throw fail(
          fmt::format("objective: expected a number or nan, got {}", quote_for_message(objective)));
    const std::optional<double> seconds = parse_double(fields[space.params.size() + 2]);
    if (!seconds) throw fail("seconds: expected a number");
    record.seconds = *seconds;
    record.status = std::string(fields[space.params.size() + 3]);
    if (columns > space.params.size() + 4 && !trim(fields[space.params.size() + 4]).empty()) {
      for (std::string_view v : split(fields[space.params.size() + 4], ';')) {
        const std::optional<double> point = parse_double(v);
        if (!point)
          throw fail(fmt::format("curve: expected numbers, got {}", quote_for_message(v)));
        record.curve.push_back(*point);
      }
    }
    // "stopped at epoch E" and "ok (would have stopped at epoch E)" from the status.
    const auto epoch_after = [&](std::string_view marker) {
      const size_t at = record.status.find(marker);
      if (at == std::string::npos) return 0;
      const auto value =
          parse_int(std::string_view(record.status)
                        .substr(at + marker.size(),
                                record.status.find_first_not_of("0123456789", at + marker.size()) -
                                    at - marker.size()));
      return value ? static_cast<int>(*value) : 0;
    };
    record.stopped_epoch = record.status.starts_with("stopped") ? epoch_after("epoch ") : 0;
    record.would_stop_epoch = epoch_after("would have stopped at epoch ");
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace gru4rec
