// gru4rec prepare: raw click logs to the four GRU4Rec files (train_full, test, train_tr,
// train_valid) with a named preset or a generic description of the columns, plus statistics.
#include <fmt/format.h>

#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/prepare/prepare_folder.h"
#include "gru4rec/prepare/presets.h"

namespace gru4rec::cli {
namespace {

struct PrepareCommandOptions {
  std::vector<std::string> inputs;
  std::string output_dir;
  std::string preset;
  bool skip_bad_lines = false;
  bool json = false;
  GenericLayout generic;  // without --preset
  bool no_header = false, no_dedupe = false;
};

void run_prepare(const PrepareCommandOptions& o) {
  const Output out{.json = o.json};
  std::FILE* log = out.log();
  GenericLayout layout = o.generic;
  layout.header = !o.no_header;
  layout.dedupe = !o.no_dedupe;
  if (o.preset.empty()) {  // the library's messages name its fields; these name the options
    if (layout.session_column.empty() == layout.user_column.empty())
      throw Error(
          "give exactly one of --session-col (sessions given) and --user-col (sessions cut at "
          "--gap-minutes)");
    if (layout.item_column.empty() || layout.time_column.empty())
      throw Error("--item-col and --time-col are required");
  }
  const Preset preset = o.preset.empty() ? generic_preset(layout) : find_preset(o.preset);
  PrepareCallbacks callbacks;
  callbacks.on_input_read = [&](const std::string& input, const EventTable& table) {
    fmt::print(log, "Read {}: {} lines so far, {} events{}\n", input, with_thousands(table.lines),
               with_thousands(table.events()),
               table.bad_lines > 0
                   ? fmt::format(", {} bad lines skipped", with_thousands(table.bad_lines))
                   : "");
  };
  callbacks.on_step = [&](const PreparedData::Step& step) {
    fmt::print(log, "  {:<62} {:>12} events {:>10} sessions\n", step.name,
               with_thousands(step.events), with_thousands(step.sessions));
  };
  const bool seconds = preset.options.time_in_seconds;
  callbacks.on_file_written = [&](const PreparedFile& file) {
    fmt::print(log, "{}: {}\n", file.path, describe_stats(file.stats, seconds ? "s" : "ms"));
  };
  const PrepareSummary summary =
      prepare_folder(o.inputs, preset, o.output_dir, o.skip_bad_lines, callbacks);
  fmt::print(log, "Done in {:.1f} s; statistics in {}\n", summary.seconds, summary.stats_path);
  if (o.json) fmt::print("{}\n", summary.stats_json);
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
  generic->add_option("--format", o->generic.format, "csv, tsv or jsonl")
      ->check(CLI::IsMember({"csv", "tsv", "jsonl"}))
      ->capture_default_str();
  generic->add_option("--sep", o->generic.separator, "separator (default: detected; tab for tsv)");
  generic->add_flag("--no-header", o->no_header, "no header line: columns are numbered from 1");
  generic->add_option("--session-col", o->generic.session_column,
                      "session id column (sessions given)");
  generic->add_option("--user-col", o->generic.user_column,
                      "user id column: sessions are cut at --gap-minutes of inactivity");
  generic->add_option("--item-col", o->generic.item_column, "item id column");
  generic->add_option("--time-col", o->generic.time_column, "time column");
  generic->add_option("--time-format", o->generic.time_format, "unix-s, unix-ms or iso8601")
      ->check(CLI::IsMember({"unix-s", "unix-ms", "iso8601"}))
      ->capture_default_str();
  generic->add_option("--type-col", o->generic.type_column, "event type column");
  generic->add_option("--keep-types", o->generic.keep_types, "event types to keep (e.g. view)");
  generic->add_option("--events-array", o->generic.events_array,
                      "jsonl: key of the nested event array (the session key is outside it)");
  generic->add_option("--gap-minutes", o->generic.gap_minutes, "inactivity that ends a session")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  generic->add_flag("--no-dedupe", o->no_dedupe, "keep consecutive repeats of an item");
  generic->add_option("--min-session-length", o->generic.min_session_length)
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  generic->add_option("--min-item-support", o->generic.min_item_support)
      ->check(CLI::Range(1, 1000000000))
      ->capture_default_str();
  generic
      ->add_option("--test-days", o->generic.test_days,
                   "span of the test set (and of the validation set before it)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  generic->add_option("--split-time", o->generic.split_time,
                      "end of the test span, in the input's time unit (default: the last event)");
  generic
      ->add_option("--split-by", o->generic.split_by,
                   "start: test sessions start in the last span; end: they end in it (RSC15)")
      ->check(CLI::IsMember({"start", "end"}))
      ->capture_default_str();
  cmd->callback([o]() { run_prepare(*o); });
}

}  // namespace gru4rec::cli
