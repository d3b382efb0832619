// gru4rec split: cut the last sessions of a training file into a validation file, for tuning
// without the test data (data/holdout.h).
#include <fmt/format.h>

#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/data/holdout.h"

namespace gru4rec::cli {
namespace {

struct SplitCommandOptions {
  std::string input, train_path, valid_path;
  double valid_share = 0.1;
  DataOptions data;
};

void run_split(const SplitCommandOptions& o) {
  check_writable(o.train_path);
  check_writable(o.valid_path);
  ItemIndex items;
  ReadReport report;
  const SessionLog log = read_training_log(o.input, o.data.read_options(), items, &report);
  const HoldoutSplit split = split_last_sessions(log, o.valid_share);
  write_session_log(o.train_path, split.train, items);
  write_session_log(o.valid_path, split.valid, items);
  fmt::print("Wrote {}: {} events in {} sessions\n", o.train_path,
             with_thousands(split.train.num_events()), with_thousands(split.train.num_sessions()));
  fmt::print(
      "Wrote {}: {} events in {} sessions (the last sessions by start time; {} events with "
      "items unknown to the training part and {} sessions left with one event dropped)\n",
      o.valid_path, with_thousands(split.valid.num_events()),
      with_thousands(split.valid.num_sessions()), with_thousands(split.dropped_events),
      with_thousands(split.dropped_sessions));
}

}  // namespace

void add_split_command(CLI::App& app) {
  auto options = std::make_shared<SplitCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "split",
      "cut the last sessions of a training file (by start time; file order for equal times) into "
      "a validation file, whole sessions only, for tuning without the test data");
  cmd->add_option("TRAIN", options->input, "training data (SessionId, ItemId, Time)")->required();
  cmd->add_option("--train-out", options->train_path, "the training part (TSV)")->required();
  cmd->add_option("--valid-out", options->valid_path, "the validation part (TSV)")->required();
  cmd->add_option("--valid-share", options->valid_share,
                  "share of the events that go to validation (the last sessions)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  options->data.add_to(*cmd);
  cmd->callback([options]() { run_split(*options); });
}

}  // namespace gru4rec::cli
