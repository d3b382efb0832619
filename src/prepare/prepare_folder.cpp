#include "gru4rec/prepare/prepare_folder.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;

Json stats_json(const DataStats& s) {
  return Json{{"events", s.events},
              {"sessions", s.sessions},
              {"items", s.items},
              {"min_length", s.min_length},
              {"median_length", s.median_length},
              {"mean_length", s.mean_length},
              {"p90_length", s.p90_length},
              {"max_length", s.max_length},
              {"first_time", s.first_time},
              {"last_time", s.last_time}};
}

}  // namespace

Preset generic_preset(const GenericLayout& o) {
  Preset p;
  p.name = "generic";
  RawFormat& f = p.format;
  if (o.format != "csv" && o.format != "tsv" && o.format != "jsonl")
    throw Error(fmt::format("format '{}': expected csv, tsv or jsonl", o.format));
  if (o.time_format != "unix-s" && o.time_format != "unix-ms" && o.time_format != "iso8601")
    throw Error(
        fmt::format("time format '{}': expected unix-s, unix-ms or iso8601", o.time_format));
  if (o.split_by != "start" && o.split_by != "end")
    throw Error(fmt::format("split by '{}': expected start or end", o.split_by));
  if (o.separator.size() > 1 && o.separator != "tab")
    throw Error(fmt::format("separator '{}': expected one character or tab", o.separator));
  if (o.gap_minutes <= 0 || o.test_days <= 0)
    throw Error("the session gap and the test span must be positive");
  if (o.min_session_length < 1 || o.min_item_support < 1)
    throw Error("the minimum session length and item support must be at least 1");
  f.kind = o.format == "jsonl" ? RawFormat::Kind::kJsonLines : RawFormat::Kind::kDelimited;
  if (o.format == "tsv") f.separator = '\t';
  if (!o.separator.empty()) f.separator = o.separator == "tab" ? '\t' : o.separator[0];
  f.header = o.header;
  if (o.session_column.empty() == o.user_column.empty())
    throw Error(
        "give exactly one of session_column (sessions given) and user_column (sessions cut at "
        "gap_minutes of inactivity)");
  if (o.item_column.empty() || o.time_column.empty())
    throw Error("item_column and time_column are required");
  f.key = o.session_column.empty() ? o.user_column : o.session_column;
  f.item = o.item_column;
  f.time = o.time_column;
  f.type = o.type_column;
  f.events_array = o.events_array;
  f.keep_types = o.keep_types;
  f.time_format = o.time_format == "unix-ms"   ? TimeFormat::kUnixMilliseconds
                  : o.time_format == "iso8601" ? TimeFormat::kIso8601
                                               : TimeFormat::kUnixSeconds;
  PrepareOptions& x = p.options;
  x.cut_at_gaps = !o.user_column.empty();
  x.gap_ms = static_cast<int64_t>(o.gap_minutes * 60'000);
  x.dedupe = o.dedupe;
  x.min_session_length = o.min_session_length;
  x.min_item_support = o.min_item_support;
  x.test_span_ms = static_cast<int64_t>(o.test_days * 86'400'000);
  x.split = o.split_by == "end" ? PrepareOptions::Split::kBySessionEnd
                                : PrepareOptions::Split::kBySessionStart;
  x.time_in_seconds = f.time_format != TimeFormat::kUnixMilliseconds;
  if (o.split_time >= 0)
    x.split_time_ms = static_cast<int64_t>(o.split_time * (x.time_in_seconds ? 1000 : 1));
  return p;
}

PrepareSummary prepare_folder(const std::vector<std::string>& inputs, const Preset& preset,
                              const std::string& output_dir, bool skip_bad_lines,
                              const PrepareCallbacks& callbacks) {
  if (inputs.empty()) throw Error("no input file to prepare");
  std::error_code created;
  std::filesystem::create_directories(output_dir, created);
  if (created)
    throw Error(
        fmt::format("{}: cannot create the output folder: {}", output_dir, created.message()));
  const auto path = [&](const std::string& name) {
    return (std::filesystem::path(output_dir) / name).string();
  };
  PrepareSummary summary;
  summary.preset = preset.name;
  summary.stats_path = path("stats.json");
  check_writable(summary.stats_path);  // before the long part
  const auto start = std::chrono::steady_clock::now();
  EventTable table;
  for (const std::string& input : inputs) {
    read_raw_events(input, preset.format, skip_bad_lines, table);
    if (callbacks.on_input_read) callbacks.on_input_read(input, table);
  }
  const PreparedData data = prepare_events(table, preset.options);
  summary.steps = data.steps;
  if (callbacks.on_step)
    for (const PreparedData::Step& step : data.steps) callbacks.on_step(step);
  const bool seconds = preset.options.time_in_seconds;
  summary.time_unit = seconds ? "s" : "ms";
  Json outputs = Json::object();
  const std::vector<std::pair<std::string, const PreparedLog*>> logs{
      {"train_full", &data.train_full},
      {"test", &data.test},
      {"train_tr", &data.train_tr},
      {"train_valid", &data.train_valid}};
  // Not a structured binding: clang 14 (the fuzz build's compiler) cannot capture one.
  for (const auto& entry : logs) {
    const std::string& name = entry.first;
    const PreparedLog* prepared = entry.second;
    PreparedFile file{name, path(name + ".tsv"), {}};
    write_file_atomically(file.path,
                          [&](std::ostream& s) { write_log(s, *prepared, table, seconds); });
    double first = 0, last = 0;
    if (!prepared->times.empty()) {
      const auto [lo, hi] = std::minmax_element(prepared->times.begin(), prepared->times.end());
      first = seconds ? static_cast<double>(*lo) / 1000 : static_cast<double>(*lo);
      last = seconds ? static_cast<double>(*hi) / 1000 : static_cast<double>(*hi);
    }
    file.stats = compute_stats(prepared->offsets, prepared->items, first, last);
    outputs[name] = stats_json(file.stats);
    outputs[name]["file"] = file.path;
    if (callbacks.on_file_written) callbacks.on_file_written(file);
    summary.files.push_back(std::move(file));
  }
  Json steps = Json::array();
  for (const PreparedData::Step& step : data.steps)
    steps.push_back(
        Json{{"step", step.name}, {"events", step.events}, {"sessions", step.sessions}});
  summary.lines = table.lines;
  summary.bad_lines = table.bad_lines;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Json stats{{"preset", preset.name},
                   {"inputs", inputs},
                   {"lines", table.lines},
                   {"bad_lines", table.bad_lines},
                   {"time_unit", summary.time_unit},
                   {"steps", steps},
                   {"outputs", outputs},
                   {"seconds", summary.seconds}};
  summary.stats_json = stats.dump(2, ' ', false, Json::error_handler_t::replace);
  write_file_atomically(summary.stats_path,
                        [&](std::ostream& s) { s << summary.stats_json << '\n'; });
  return summary;
}

}  // namespace gru4rec
