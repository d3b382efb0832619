// gru4rec info: a summary of a model file.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "gru4rec/core/cpu_budget.h"
#include "gru4rec/core/cpu_info.h"
#include "gru4rec/core/error.h"
#include "gru4rec/data/data_stats.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/serve/serving_floor.h"

namespace gru4rec::cli {
namespace {

std::string_view mode_name(EmbeddingMode mode) {
  switch (mode) {
    case EmbeddingMode::kShared: return "shared (constrained_embedding)";
    case EmbeddingMode::kSeparate: return "separate embedding";
    case EmbeddingMode::kOneHot: return "none (one-hot input)";
  }
  return "?";
}

// A timestamp as a UTC date when it looks like unix seconds or milliseconds, else as a number.
std::string format_time(double value) {
  double seconds = value;
  if (value >= 1e12 && value < 1e14) seconds = value / 1000;  // milliseconds
  if (seconds < 1e8 || seconds >= 1e10) return fmt::format("{}", value);
  const auto time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc);
  return fmt::format("{} UTC ({})", text, value);
}

bool is_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 8 && std::string_view(magic, 8) == "GRU4RECm";
}

// A data file (SessionId, ItemId, Time): the statistics gru4rec prepare prints.
void run_data_info(const std::string& path, const DataOptions& data, bool json) {
  ItemIndex items;
  const SessionLog log = read_training_log(path, data.read_options(), items);
  double first = 0, last = 0;
  if (!log.times.empty()) {
    first = *std::min_element(log.times.begin(), log.times.end());
    last = *std::max_element(log.times.begin(), log.times.end());
  }
  const DataStats s = compute_stats(log.offsets, log.items, first, last);
  if (json) {
    fmt::print("{}\n", json_text(Json{{"file", path},
                                      {"events", s.events},
                                      {"sessions", s.sessions},
                                      {"items", s.items},
                                      {"min_length", s.min_length},
                                      {"median_length", s.median_length},
                                      {"mean_length", s.mean_length},
                                      {"p90_length", s.p90_length},
                                      {"max_length", s.max_length},
                                      {"first_time", s.first_time},
                                      {"last_time", s.last_time}}));
    return;
  }
  fmt::print("Data file {}\n  {}\n  time {} .. {}\n", path,
             describe_stats(s, last >= 1e12 ? "ms" : "s"), format_time(first), format_time(last));
}

void run_info(const std::string& path, const DataOptions& data, bool json) {
  if (!is_model_file(path)) {
    run_data_info(path, data, json);
    return;
  }
  const Model model = load_model(path);
  const auto file_bytes = std::filesystem::file_size(path);
  const NetworkShape& shape = model.weights.shape;
  std::vector<std::string> layers;
  for (int size : shape.layers) layers.push_back(std::to_string(size));
  Json tensors = Json::array();
  model.weights.for_each_tensor([&](const std::string& name, const auto& tensor) {
    tensors.push_back(Json{{"name", name}, {"rows", tensor.rows()}, {"cols", tensor.cols()}});
  });
  Json params = Json::object();
  for (const auto& [name, value] : format_params(model.params)) params[name] = value;
  const TrainingStats& s = model.stats;
  Json lineage = Json::array();
  for (const LineageStep& step : model.lineage) {
    lineage.push_back(Json{{"model_id", fmt::format("{:016x}", step.model_id)},
                           {"items", step.items},
                           {"events", step.events},
                           {"sessions", step.sessions},
                           {"time_min", step.time_min},
                           {"time_max", step.time_max},
                           {"epochs", step.epochs}});
  }
  if (json) {
    Json info{{"file", path},
              {"file_bytes", file_bytes},
              {"format_version", kModelFormatVersion},
              {"items", model.num_items()},
              {"layers", shape.layers},
              {"embedding", mode_name(shape.mode)},
              {"parameters", model.weights.parameter_count()},
              {"tensors", tensors},
              {"params", params},
              {"training", Json{{"events", s.events},
                                {"sessions", s.sessions},
                                {"transitions", s.transitions},
                                {"time_min", s.time_min},
                                {"time_max", s.time_max},
                                {"epochs", s.epochs},
                                {"final_loss", s.final_loss}}},
              {"model_id", fmt::format("{:016x}", model.content_id)},
              {"optimizer_state", model.optimizer_state != nullptr},
              {"lineage", lineage}};
    fmt::print("{}\n", json_text(info));
    return;
  }
  fmt::print("Model file      {} ({} bytes, format version {})\n", path,
             with_thousands(static_cast<int64_t>(file_bytes)), kModelFormatVersion);
  fmt::print("Items           {}\n", with_thousands(model.num_items()));
  fmt::print("GRU layers      {}\n", fmt::join(layers, "/"));
  fmt::print(
      "Embedding       {}{}\n", mode_name(shape.mode),
      shape.mode == EmbeddingMode::kSeparate ? fmt::format(", size {}", shape.embedding_size) : "");
  fmt::print("Parameters      {}\n", with_thousands(model.weights.parameter_count()));
  fmt::print("Loss            {}\n", loss_name(model.params.loss));
  fmt::print("Training data   {} events, {} sessions, {} pairs per epoch\n",
             with_thousands(s.events), with_thousands(s.sessions), with_thousands(s.transitions));
  fmt::print("Time range      {} .. {}\n", format_time(s.time_min), format_time(s.time_max));
  fmt::print("Epochs trained  {} (final loss {:.6f})\n", s.epochs, s.final_loss);
  fmt::print("Model id        {:016x}\n", model.content_id);
  fmt::print("Optimizer state {}\n",
             !model.optimizer_state ? "not saved (a continued training starts it from zero)"
             : model.optimizer_state->velocities ? "saved (Adagrad accumulators, momentum)"
                                                 : "saved (Adagrad accumulators)");
  if (model.lineage.empty()) {
    fmt::print("Lineage         trained from scratch\n");
  } else {
    fmt::print("Lineage         continued from {} earlier model(s), oldest first:\n",
               model.lineage.size());
    for (const LineageStep& step : model.lineage) {
      fmt::print("  {:016x}: {} items, {} events, {} sessions, {} epochs, time {} .. {}\n",
                 step.model_id, with_thousands(step.items), with_thousands(step.events),
                 with_thousands(step.sessions), step.epochs, format_time(step.time_min),
                 format_time(step.time_max));
    }
  }
  fmt::print("Tensors\n");
  model.weights.for_each_tensor([&](const std::string& name, const auto& tensor) {
    fmt::print("  {:<14} {} x {}\n", name, tensor.rows(), tensor.cols());
  });
  fmt::print("Parameters (as a parameter string)\n  ");
  std::vector<std::string> pairs;
  for (const auto& [name, value] : format_params(model.params)) pairs.push_back(name + "=" + value);
  fmt::print("{}\n", fmt::join(pairs, ","));
}

// gru4rec info --system: the CPU, the copy of the library the loader chose, and the measured
// FMA peak (one core and every core), the denominators of the speed figures.
void run_system_info(bool json) {
  const CpuInfo cpu = detect_cpu();
  const LibraryBuild build = library_build();
  const FmaPeak one = measure_fma_peak(1);
  const FmaPeak all = measure_fma_peak(cpu.logical_cores);
  if (json) {
    fmt::print("{}\n", json_text(Json{{"cpu",
                                       {{"model", cpu.model},
                                        {"vendor", cpu.vendor},
                                        {"family", cpu.family},
                                        {"model_number", cpu.model_number},
                                        {"logical_cores", cpu.logical_cores},
                                        {"usable_cores", cpu_budget().describe()},
                                        {"isa", cpu.isa},
                                        {"level", cpu.best_level}}},
                                      {"library",
                                       {{"level", build.level},
                                        {"path", build.path},
                                        {"eigen_simd", build.eigen_simd},
                                        {"scorer_kernel", build.scorer_kernel}}},
                                      {"fma_peak_gflops",
                                       {{"one_core", one.gflops},
                                        {"all_cores", all.gflops},
                                        {"cores", all.threads},
                                        {"vector_width", one.vector_width}}}}));
    return;
  }
  fmt::print("CPU                {} ({}, family {} model {})\n", cpu.model, cpu.vendor, cpu.family,
             cpu.model_number);
  fmt::print("Usable cores       {}\n", cpu_budget().describe());
  fmt::print("Instruction sets   {} (level {})\n", fmt::join(cpu.isa, " "), cpu.best_level);
  fmt::print("Library copy       {} ({})\n", build.level, build.path);
  fmt::print("Kernels            Eigen {}; serving scorer {} (Highway)\n", build.eigen_simd,
             build.scorer_kernel);
  fmt::print("FMA peak (float32) {:.1f} GFLOP/s on one core, {:.1f} on {} cores ({} vectors)\n",
             one.gflops, all.gflops, all.threads, one.vector_width);
}

// gru4rec info MODEL --floor: the least time serving an event of this model can take on one
// core of this machine (serve/serving_floor.h), for batches of 1 to 64 events, with the item
// matrix in float32 and in float16, read from DRAM and from L3.
void run_floor(const std::string& path, bool json) {
  if (!is_model_file(path))
    throw gru4rec::Error(fmt::format("{}: --floor needs a model file", path));
  const Model model = load_model(path);
  const CpuInfo cpu = detect_cpu();
  const LibraryBuild build = library_build();
  CoreSpeed speed;
  speed.dram_gb_per_s = measure_read_bandwidth(kDramProbeBytes);
  speed.l3_gb_per_s = measure_read_bandwidth(kL3ProbeBytes);
  speed.fma_gflops = measure_fma_peak(1).gflops;
  const std::vector<int> batches{1, 2, 4, 8, 16, 32, 64};
  const std::pair<WeightPrecision, const char*> precisions[] = {
      {WeightPrecision::kFloat32, "float32"},
      {WeightPrecision::kFloat16, "float16"},
      {WeightPrecision::kInt8, "int8"}};
  const EventWork one = event_work(model.weights.shape, WeightPrecision::kFloat32);
  const Floor event_floor = batch_floor(one, speed, 1);
  if (json) {
    Json rows = Json::array();
    for (const auto& [precision, name] : precisions) {
      const EventWork w = event_work(model.weights.shape, precision);
      for (int b : batches) {
        const Floor dram = batch_floor(w, speed, b), l3 = batch_floor(w, speed, b, true);
        rows.push_back(Json{{"item_weights", name},
                            {"batch", b},
                            {"dram_seconds", dram.seconds()},
                            {"dram_events_per_second", dram.events_per_second()},
                            {"l3_seconds", l3.seconds()},
                            {"l3_events_per_second", l3.events_per_second()}});
      }
    }
    fmt::print("{}\n", json_text(Json{{"model", path},
                                      {"cpu", fmt::format("{} (family {} model {})", cpu.model,
                                                          cpu.family, cpu.model_number)},
                                      {"library", build.level},
                                      {"dram_gb_per_s", speed.dram_gb_per_s},
                                      {"l3_gb_per_s", speed.l3_gb_per_s},
                                      {"fma_gflops", speed.fma_gflops},
                                      {"item_bytes_float32", one.item_bytes},
                                      {"step_bytes", one.step_bytes},
                                      {"score_flops", one.score_flops},
                                      {"step_flops", one.step_flops},
                                      {"event_floor_seconds", event_floor.seconds()},
                                      {"batches", rows}}));
    return;
  }
  fmt::print("Floor of serving {} ({} items, {} units) on one core\n", path,
             with_thousands(model.num_items()), model.weights.shape.output_size());
  fmt::print("CPU: {} (family {} model {}), library copy {}\n", cpu.model, cpu.family,
             cpu.model_number, build.level);
  fmt::print(
      "One core reads {:.1f} GB/s from DRAM and {:.1f} GB/s from L3; FMA peak {:.1f} "
      "GFLOP/s\n",
      speed.dram_gb_per_s, speed.l3_gb_per_s, speed.fma_gflops);
  fmt::print(
      "An event: scores {:.2f} MFLOP over an item matrix of {:.2f} MB (float32, read once "
      "per batch); GRU step {:.3f} MFLOP over {:.3f} MB\n",
      one.score_flops / 1e6, one.item_bytes / 1e6, one.step_flops / 1e6, one.step_bytes / 1e6);
  fmt::print(
      "The floor of one event (DRAM + FMA, float32): {:.0f} us ({:.0f} us memory, {:.0f} us "
      "FMA)\n",
      event_floor.seconds() * 1e6, event_floor.memory_seconds * 1e6, event_floor.fma_seconds * 1e6);
  fmt::print(
      "\nA batch of B events scored together: events/s the floor allows, with the item "
      "matrix read from DRAM / from L3\n");
  fmt::print("{:>5}  {:>21}  {:>21}  {:>21}\n", "B", "float32", "float16", "int8");
  for (int b : batches) {
    std::string line = fmt::format("{:>5}", b);
    for (const auto& [precision, name] : precisions) {
      const EventWork w = event_work(model.weights.shape, precision);
      line += fmt::format("  {:>10.0f} / {:>8.0f}", batch_floor(w, speed, b).events_per_second(),
                          batch_floor(w, speed, b, true).events_per_second());
    }
    fmt::print("{}\n", line);
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto data = std::make_shared<DataOptions>();
  auto system = std::make_shared<bool>(false);
  auto floor = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "info",
      "summarize a model file, or a data file (events, sessions, items, lengths, time span), or "
      "this machine (--system)");
  auto* file = cmd->add_option("FILE", *path, "model file, or data file (SessionId, ItemId, Time)");
  cmd->add_flag("--system", *system,
                "describe the CPU, the kernels chosen for it and its measured FMA peak "
                "(takes about 3 s)")
      ->excludes(file);
  cmd->add_flag("--floor", *floor,
                "with a model file: the least time serving an event can take on one core of this "
                "machine (measured bandwidth and FMA peak; about 2 s), for batches of 1 to 64")
      ->needs(file);
  cmd->add_flag("--json", *json, "print the summary as JSON");
  data->add_to(*cmd);
  cmd->callback([path, json, data, system, floor]() {
    if (*system) return run_system_info(*json);
    if (path->empty()) throw CLI::RequiredError("FILE (or --system)");
    if (*floor) return run_floor(*path, *json);
    run_info(*path, *data, *json);
  });
}

}  // namespace gru4rec::cli
