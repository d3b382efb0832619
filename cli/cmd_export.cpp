// gru4rec export: the item vectors of a model as a TSV or NumPy file (model/vectors.h).
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/vectors.h"

namespace gru4rec::cli {
namespace {

void run_export(const std::string& model_path, const std::string& items_path) {
  const Model model = load_model(model_path);
  const std::vector<std::string> written =
      save_vectors(items_path, "ItemId", model.items.ids(), model.weights.Wy);
  fmt::print(stderr, "{} item vectors of {} values written to {}\n", model.num_items(),
             model.weights.Wy.cols(), fmt::join(written, " and "));
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto items = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "write a model's item vectors (the output weights a session state is scored against; "
      "with constrained_embedding also the input embedding)");
  cmd->add_option("MODEL", *model, "model file written by gru4rec train -s")->required();
  cmd->add_option("--items", *items,
                  "output: TSV (ItemId, v0, v1, ...), or NumPy when it ends in .npy (float32, "
                  "items x units; the ids, one per line, in FILE.ids.txt)")
      ->required();
  cmd->callback([model, items]() { run_export(*model, *items); });
}

}  // namespace gru4rec::cli
