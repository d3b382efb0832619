// gru4rec synth: write the embedded synthetic data set (train.tsv and test.tsv).
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/data/synthetic.h"

namespace gru4rec::cli {
namespace {

void run_synth(const std::string& directory, const SyntheticOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw Error(fmt::format("{}: cannot create directory: {}", directory, ec.message()));
  const SyntheticData data = generate_synthetic_data(options);
  const std::string train_path = (std::filesystem::path(directory) / "train.tsv").string();
  const std::string test_path = (std::filesystem::path(directory) / "test.tsv").string();
  write_file_atomically(train_path, [&](std::ostream& out) { out << data.train_tsv; });
  write_file_atomically(test_path, [&](std::ostream& out) { out << data.test_tsv; });
  fmt::print("Wrote {}: {} events in {} sessions\n", train_path, with_thousands(data.train_events),
             with_thousands(data.train_sessions));
  fmt::print("Wrote {}: {} events in {} sessions (the last {} days)\n", test_path,
             with_thousands(data.test_events), with_thousands(data.test_sessions),
             options.test_days);
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto directory = std::make_shared<std::string>();
  auto options = std::make_shared<SyntheticOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "write a deterministic synthetic session log (DIR/train.tsv, DIR/test.tsv)");
  cmd->add_option("DIR", *directory, "output directory")->required();
  cmd->add_option("--items", options->num_items, "number of items")
      ->check(CLI::Range(10, 100000000))
      ->capture_default_str();
  cmd->add_option("--sessions", options->num_sessions, "number of sessions")
      ->check(CLI::Range(int64_t{10}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--topics", options->num_topics, "number of latent topics")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--days", options->days, "days covered by the log")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  cmd->add_option("--test-days", options->test_days, "last days that form the test set")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "random seed")->capture_default_str();
  cmd->callback([directory, options]() {
    if (options->test_days >= options->days) {
      throw Error(fmt::format("--test-days ({}) must be less than --days ({})", options->test_days,
                              options->days));
    }
    run_synth(*directory, *options);
  });
}

}  // namespace gru4rec::cli
