// gru4rec prepare: raw click logs to the four GRU4Rec files (train_full, test, train_tr,
// train_valid) with a named preset or a generic description of the columns, plus statistics.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/data/data_stats.h"
#include "gru4rec/prepare/presets.h"

namespace gru4rec::cli {
namespace {

struct PrepareCommandOptions {
  std::vector<std::string> inputs;
  std::string output_dir;
  std::string preset;
  bool skip_bad_lines = false;
  bool json = false;
  // Generic mode.
  std::string format = "csv";
  std::string separator;
  bool no_header = false;
  std::string session_column, user_column, item_column, time_column, type_column;
  std::string events_array;
  std::vector<std::string> keep_types;
  std::string time_format = "unix-s";
  double gap_minutes = 60;
  bool no_dedupe = false;
  int min_session_length = 2;
  int min_item_support = 5;
  double test_days = 1;
  double split_time = -1;  // in the input's time unit; -1: the last event's time
  std::string split_by = "start";
};

Preset generic_preset(const PrepareCommandOptions& o) {
  Preset p;
  p.name = "generic";
  RawFormat& f = p.format;
  f.kind = o.format == "jsonl" ? RawFormat::Kind::kJsonLines : RawFormat::Kind::kDelimited;
  if (o.format == "tsv") f.separator = '\t';
  if (!o.separator.empty()) f.separator = o.separator == "tab" ? '\t' : o.separator[0];
  f.header = !o.no_header;
  if (o.session_column.empty() == o.user_column.empty())
    throw Error(
        "give exactly one of --session-col (sessions given) and --user-col (sessions cut at "
        "--gap-minutes)");
  if (o.item_column.empty() || o.time_column.empty())
    throw Error("--item-col and --time-col are required");
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
  x.dedupe = !o.no_dedupe;
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

void run_prepare(const PrepareCommandOptions& o) {
  const Output out{.json = o.json};
  std::FILE* log = out.log();
  const Preset preset = o.preset.empty() ? generic_preset(o) : find_preset(o.preset);
  std::error_code created;
  std::filesystem::create_directories(o.output_dir, created);
  if (created)
    throw Error(
        fmt::format("{}: cannot create the output folder: {}", o.output_dir, created.message()));
  const auto path = [&](const std::string& name) {
    return (std::filesystem::path(o.output_dir) / name).string();
  };
  check_writable(path("stats.json"));  // before the long part
  const auto start = std::chrono::steady_clock::now();
  EventTable table;
  for (const std::string& input : o.inputs) {
    read_raw_events(input, preset.format, o.skip_bad_lines, table);
    fmt::print(log, "Read {}: {} lines so far, {} events{}\n", input, with_thousands(table.lines),
               with_thousands(table.events()),
               table.bad_lines > 0
                   ? fmt::format(", {} bad lines skipped", with_thousands(table.bad_lines))
                   : "");
  }
  const PreparedData data = prepare_events(table, preset.options);
  for (const PreparedData::Step& step : data.steps) {
    fmt::print(log, "  {:<62} {:>12} events {:>10} sessions\n", step.name,
               with_thousands(step.events), with_thousands(step.sessions));
  }
  const bool seconds = preset.options.time_in_seconds;
  const std::string unit = seconds ? "s" : "ms";
  Json outputs = Json::object();
  const std::vector<std::pair<std::string, const PreparedLog*>> files{
      {"train_full", &data.train_full},
      {"test", &data.test},
      {"train_tr", &data.train_tr},
      {"train_valid", &data.train_valid}};
  for (const auto& [name, prepared] : files) {
    const std::string file = path(name + ".tsv");
    write_file_atomically(file, [&](std::ostream& s) { write_log(s, *prepared, table, seconds); });
    double first = 0, last = 0;
    if (!prepared->times.empty()) {
      const auto [lo, hi] = std::minmax_element(prepared->times.begin(), prepared->times.end());
      first = seconds ? static_cast<double>(*lo) / 1000 : static_cast<double>(*lo);
      last = seconds ? static_cast<double>(*hi) / 1000 : static_cast<double>(*hi);
    }
    const DataStats stats = compute_stats(prepared->offsets, prepared->items, first, last);
    fmt::print(log, "{}: {}\n", file, describe_stats(stats, unit));
    outputs[name] = stats_json(stats);
    outputs[name]["file"] = file;
  }
  Json steps = Json::array();
  for (const PreparedData::Step& step : data.steps)
    steps.push_back(
        Json{{"step", step.name}, {"events", step.events}, {"sessions", step.sessions}});
  const double seconds_taken =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Json summary{{"preset", preset.name}, {"inputs", o.inputs},
                     {"lines", table.lines},  {"bad_lines", table.bad_lines},
                     {"time_unit", unit},     {"steps", steps},
                     {"outputs", outputs},    {"seconds", seconds_taken}};
  write_file_atomically(path("stats.json"),
                        [&](std::ostream& s) { s << json_text(summary) << '\n'; });
  fmt::print(log, "Done in {:.1f} s; statistics in {}\n", seconds_taken, path("stats.json"));
  if (o.json) fmt::print("{}\n", json_text(summary));
}

}  // namespace

void add_prepare_command(CLI::App& app) {
  auto o = std::make_shared<PrepareCommandOptions>();
  std::string preset_help = "named preparation of a dataset of the GRU4Rec papers:";
  for (const Preset& p : presets()) preset_help += "\n  " + p.name + ": " + p.input;
  CLI::App* cmd = app.add_subcommand(
      "prepare",
      "raw click logs to train_full / test / train_tr / train_valid files, as the "
      "GRU4Rec papers prepare them (gzip and zstd inputs read directly)");
  cmd->add_option("INPUT", o->inputs, "raw input files (- for stdin)")->required();
  cmd->add_option("-o,--output", o->output_dir, "output folder")->required();
  cmd->add_option("--preset", o->preset, preset_help);
  cmd->add_flag("--skip-bad-lines", o->skip_bad_lines,
                "count and skip malformed lines instead of stopping at the first");
  cmd->add_flag("--json", o->json, "print the statistics as JSON");
  auto* generic = cmd->add_option_group("generic mode", "without --preset");
  generic->add_option("--format", o->format, "csv, tsv or jsonl")
      ->check(CLI::IsMember({"csv", "tsv", "jsonl"}))
      ->capture_default_str();
  generic->add_option("--sep", o->separator, "separator (default: detected; tab for tsv)");
  generic->add_flag("--no-header", o->no_header, "no header line: columns are numbered from 1");
  generic->add_option("--session-col", o->session_column, "session id column (sessions given)");
  generic->add_option("--user-col", o->user_column,
                      "user id column: sessions are cut at --gap-minutes of inactivity");
  generic->add_option("--item-col", o->item_column, "item id column");
  generic->add_option("--time-col", o->time_column, "time column");
  generic->add_option("--time-format", o->time_format, "unix-s, unix-ms or iso8601")
      ->check(CLI::IsMember({"unix-s", "unix-ms", "iso8601"}))
      ->capture_default_str();
  generic->add_option("--type-col", o->type_column, "event type column");
  generic->add_option("--keep-types", o->keep_types, "event types to keep (e.g. view)");
  generic->add_option("--events-array", o->events_array,
                      "jsonl: key of the nested event array (the session key is outside it)");
  generic->add_option("--gap-minutes", o->gap_minutes, "inactivity that ends a session")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  generic->add_flag("--no-dedupe", o->no_dedupe, "keep consecutive repeats of an item");
  generic->add_option("--min-session-length", o->min_session_length)
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  generic->add_option("--min-item-support", o->min_item_support)
      ->check(CLI::Range(1, 1000000000))
      ->capture_default_str();
  generic
      ->add_option("--test-days", o->test_days,
                   "span of the test set (and of the validation set before it)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  generic->add_option("--split-time", o->split_time,
                      "end of the test span, in the input's time unit (default: the last event)");
  generic
      ->add_option("--split-by", o->split_by,
                   "start: test sessions start in the last span; end: they end in it (RSC15)")
      ->check(CLI::IsMember({"start", "end"}))
      ->capture_default_str();
  cmd->callback([o]() { run_prepare(*o); });
}

}  // namespace gru4rec::cli
