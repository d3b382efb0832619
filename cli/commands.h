// Registration of the gru4rec subcommands. Each adds its options to the app and sets a
// callback that runs the command; errors are thrown as gru4rec::Error.
#pragma once

#include <CLI/CLI.hpp>

namespace gru4rec::cli {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_replay_command(CLI::App& app);
void add_baseline_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_tune_command(CLI::App& app);
void add_prepare_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_split_command(CLI::App& app);

}  // namespace gru4rec::cli
