// gru4rec: the command-line front-end. It only parses arguments and dispatches to the
// subcommands, which are thin layers over the library.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "gru4rec/core/error.h"

namespace {

// The official run.py spells some options with one dash and two letters (-ps, -pf, -ss, -sk,
// -ik, -tk); CLI11 reads single-dash options as one letter, so these are rewritten to their
// double-dash forms.
std::vector<std::string> translate_official_options(int argc, char** argv) {
  static const char* const kTwoLetter[] = {"-ps", "-pf", "-ss", "-sk", "-ik", "-tk"};
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {  // CLI11 takes the arguments in reverse order
    std::string arg = argv[i];
    for (const char* option : kTwoLetter) {
      if (arg == option) arg = std::string("-") + option;
    }
    args.push_back(std::move(arg));
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gru4rec: session-based recommendation with GRU4Rec (train, evaluate, serve, inspect)",
      "gru4rec"};
  app.set_version_flag("--version", std::string("gru4rec ") + GRU4REC_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  gru4rec::cli::add_train_command(app);
  gru4rec::cli::add_eval_command(app);
  gru4rec::cli::add_baseline_command(app);
  gru4rec::cli::add_predict_command(app);
  gru4rec::cli::add_tune_command(app);
  gru4rec::cli::add_prepare_command(app);
  gru4rec::cli::add_serve_command(app);
  gru4rec::cli::add_replay_command(app);
  gru4rec::cli::add_export_command(app);
  gru4rec::cli::add_split_command(app);
  gru4rec::cli::add_info_command(app);
  gru4rec::cli::add_synth_command(app);
  std::vector<std::string> args = translate_official_options(argc, argv);
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const gru4rec::InternalError& e) {
    // EX_SOFTWARE (sysexits.h): the program is wrong, whatever the input.
    fmt::print(stderr,
               "gru4rec: internal error (a bug in gru4rec, not in your input; please report it "
               "with the command line): {}\n",
               e.what());
    return 70;
  } catch (const gru4rec::TrainingDiverged& e) {
    fmt::print(stderr, "gru4rec: error: {}\n", e.what());
    return 3;
  } catch (const gru4rec::Error& e) {
    fmt::print(stderr, "gru4rec: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "gru4rec: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gru4rec: internal error: {}\n", e.what());
    return 1;
  }
  return 0;
}
