// The benchmark suite: one command that measures what docs/performance.md reports.
//   build/bench/gru4rec_bench [--data DIR] [--runs N] [--threads N]
// It prints, as Markdown tables:
//   - the CPU, the library copy the loader chose, and the measured FMA peak (float32) on one
//     core and on every core at once;
//   - training speed for the two reference settings on RetailRocket with 1 and N threads:
//     events/s and mini-batches/s (medians of the runs), achieved GFLOP/s of the dense products,
//     peak resident memory against the budget 1.3 x (parameters + optimizer state + data) +
//     100 MB;
//   - full-ranking evaluation speed on Diginetica (43k items, 100 units) with 1 and N threads:
//     predictions/s and GFLOP/s of the score products against the all-core peak.
// With --accuracy it instead trains the reference settings on yoochoose and RetailRocket with 1
// and N threads, 3 seeds each, and compares Recall@20 and MRR@20 (minutes to an hour).
// Figures are medians of --runs runs; compare ratios measured in one run of the suite (the
// machines are shared and their speed drifts).
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gru4rec/core/cpu_info.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/matrix.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/core/text.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string thousands(double value) {
  return gru4rec::with_thousands(static_cast<int64_t>(value + 0.5));
}

std::string mib(double bytes) {
  return fmt::format("{:.0f} MiB", bytes / (1 << 20));
}

// ---- Machine -------------------------------------------------------------------------------

// "AMD EPYC (CPUID: Oxide Virtual Turin-like Processor, family 26 model 2)": /proc/cpuinfo's
// name and the processor's own brand string, which virtual machines often set differently.
std::string cpu_model() {
  std::string name = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      name = line.substr(line.find(':') + 2);
      break;
    }
  }
  const gru4rec::CpuInfo cpu = gru4rec::detect_cpu();
  return fmt::format("{} (CPUID: {}, family {} model {})", name, cpu.model, cpu.family,
                     cpu.model_number);
}

// ---- Memory --------------------------------------------------------------------------------

// Resets the kernel's peak-RSS mark of this process (Linux >= 4.0); false if not possible.
bool reset_peak_rss() {
  malloc_trim(0);
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.close();
  return static_cast<bool>(out);
}

double status_bytes(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(line.find(':') + 1)) * 1024.0;
  }
  return 0;
}

template <typename V>
double vector_bytes(const V& v) {
  return static_cast<double>(v.capacity() * sizeof(typename V::value_type));
}

double string_bytes(const std::vector<std::string>& strings) {
  double bytes = vector_bytes(strings);
  for (const std::string& s : strings) {
    if (s.capacity() > 15) bytes += static_cast<double>(s.capacity() + 1);
  }
  return bytes;
}

// The loaded training data: the session log and the item dictionary (ids and hash index).
double data_bytes(const gru4rec::SessionLog& log, const gru4rec::ItemIndex& items) {
  const double index_entry = sizeof(std::string) + sizeof(int32_t) + sizeof(uint64_t);
  return vector_bytes(log.items) + vector_bytes(log.times) + vector_bytes(log.offsets) +
         string_bytes(log.session_ids) + string_bytes(items.ids()) +
         2.0 * items.size() * index_entry;  // the hash table keeps a load factor of <= 0.5
}

// ---- Training ------------------------------------------------------------------------------

struct Setting {
  const char* name;
  const char* params;
};

const Setting kSettings[] = {
    {"RetailRocket best (bpr-max, 224 units, batch 80)",
     "loss=bpr-max,elu_param=0.5,layers=224,batch_size=80,dropout_p_embed=0.5,"
     "dropout_p_hidden=0.05,learning_rate=0.05,momentum=0.4,n_sample=2048,sample_alpha=0.4,"
     "bpreg=1.95,constrained_embedding=True"},
    {"RSC15 (cross-entropy + logQ, 100 units, batch 32)",
     "loss=cross-entropy,logq=1,layers=100,batch_size=32,dropout_p_embed=0.0,"
     "dropout_p_hidden=0.4,learning_rate=0.2,momentum=0.2,n_sample=2048,sample_alpha=0.5,"
     "bpreg=0,constrained_embedding=True"},
};

// FLOPs of the dense products of one epoch: per row, the GRU layers forward (x Wx, h Urz,
// (r*h) Uh) and twice that backward; per step, the scores against batch + n_sample columns
// and their two backward products. Element-wise work is not counted.
double epoch_flops(const gru4rec::Model& model, const gru4rec::EpochReport& epoch) {
  const gru4rec::NetworkShape& shape = model.weights.shape;
  const gru4rec::Params& p = model.params;
  double per_row = 0;
  for (size_t l = 0; l < shape.layers.size(); ++l) {
    const double h = shape.layers[l];
    const double in = l == 0 ? (shape.mode == gru4rec::EmbeddingMode::kOneHot
                                    ? 0.0  // a row gather, no product
                                    : static_cast<double>(shape.input_size(0)))
                             : static_cast<double>(shape.layers[l - 1]);
    per_row += 3.0 * 2.0 * (in * 3 * h + 3 * h * h);
  }
  const double columns = p.batch_size + p.n_sample;
  const double rows_per_step = static_cast<double>(epoch.events) / static_cast<double>(epoch.steps);
  const double per_step = 3.0 * 2.0 * rows_per_step * shape.output_size() * columns;
  return per_row * static_cast<double>(epoch.events) + per_step * static_cast<double>(epoch.steps);
}

void bench_training(const std::string& path, int runs, const std::vector<int>& thread_counts,
                    double peak_one, double peak_all) {
  const Clock::time_point load_start = Clock::now();
  gru4rec::ItemIndex items;
  const gru4rec::SessionLog train = gru4rec::read_training_log(path, {}, items);
  fmt::print(
      "Training: `{}` ({} events, {} sessions, {} items, loaded in {:.2f} s), one epoch "
      "per run, median of {} runs.\n\n",
      path, thousands(static_cast<double>(train.num_events())),
      thousands(static_cast<double>(train.num_sessions())), thousands(items.size()),
      seconds_since(load_start), runs);
  fmt::print(
      "| setting | threads | events/s | mini-batches/s | GFLOP/s | of peak | runs (events/s) "
      "| peak RSS | RSS budget |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  const double data = data_bytes(train, items);
  for (const Setting& setting : kSettings) {
    // Several threads: both parallel modes (sync, the default, and hogwild).
    std::vector<std::pair<int, gru4rec::ParallelMode>> configs;
    for (int threads : thread_counts) {
      configs.emplace_back(threads, gru4rec::ParallelMode::kSync);
      if (threads > 1) configs.emplace_back(threads, gru4rec::ParallelMode::kHogwild);
    }
    for (const auto& [threads, mode] : configs) {
      gru4rec::Params params;
      gru4rec::apply_param_string(params, setting.params);
      params.n_epochs = 1;
      params.threads = threads;
      if (threads == 1) params.step_shares = 1;  // the unsplit step; otherwise every core
      params.parallel = mode;
      std::vector<double> events_per_second, steps_per_second, gflops;
      double peak_rss = 0, budget = 0;
      bool rss_reset = true;
      for (int run = 0; run < runs; ++run) {
        gru4rec::Model model = gru4rec::Model::initialize(params, items, train, path);
        rss_reset = reset_peak_rss() && rss_reset;
        const gru4rec::TrainSummary summary = gru4rec::train_model(model, train);
        peak_rss = std::max(peak_rss, status_bytes("VmHWM"));
        const gru4rec::EpochReport& epoch = summary.epochs.front();
        events_per_second.push_back(epoch.events_per_second());
        steps_per_second.push_back(epoch.steps_per_second());
        gflops.push_back(epoch_flops(model, epoch) / epoch.seconds / 1e9);
        // Parameters, their Adagrad accumulators and (with momentum) velocities, as floats.
        const double weights = static_cast<double>(model.weights.parameter_count()) * 4.0;
        const double state = weights * (params.momentum > 0 ? 2.0 : 1.0);
        budget = 1.3 * (weights + state + data) + 100.0 * (1 << 20);
      }
      std::vector<std::string> each;
      for (double v : events_per_second) each.push_back(thousands(v));
      const double achieved = median(gflops);
      const double peak = threads == 1 ? peak_one : peak_all;
      fmt::print("| {} | {}{} | **{}** | {:.1f} | {:.1f} | {:.0f}% | {} | {}{} | {} ({}) |\n",
                 setting.name, threads,
                 threads > 1 ? fmt::format(" ({})", gru4rec::parallel_mode_name(mode)) : "",
                 thousands(median(events_per_second)), median(steps_per_second), achieved,
                 100.0 * achieved / peak, fmt::join(each, ", "), mib(peak_rss),
                 rss_reset ? "" : " (since start)", mib(budget),
                 peak_rss <= budget ? "within" : "OVER");
      std::fflush(stdout);
    }
  }
  fmt::print("\n");
}

// ---- Evaluation ----------------------------------------------------------------------------

void bench_evaluation(const std::string& train_path, const std::string& test_path, int runs,
                      const std::vector<int>& thread_counts, double peak_all) {
  gru4rec::ItemIndex items;
  const gru4rec::SessionLog train = gru4rec::read_training_log(train_path, {}, items);
  gru4rec::Params params;
  gru4rec::apply_param_string(params, "layers=100,loss=cross-entropy");
  // The speed of full ranking does not depend on the weights' values: an untrained model
  // scores exactly as much as a trained one.
  const gru4rec::Model model =
      gru4rec::Model::initialize(params, std::move(items), train, train_path);
  const gru4rec::SessionLog test = gru4rec::read_test_log(test_path, {}, model.items);
  fmt::print(
      "Evaluation: `{}` against all {} items of `{}`, 100 units, Recall/MRR@1,5,10,20 "
      "(standard ties), median of {} runs.\n\n",
      test_path, thousands(model.num_items()), train_path, runs);
  fmt::print("| threads | predictions/s | GFLOP/s (scores) | of all-core peak | runs (s) |\n");
  fmt::print("|---|---|---|---|---|\n");
  for (int threads : thread_counts) {
    std::vector<double> seconds;
    int64_t predictions = 0;
    for (int run = 0; run < runs; ++run) {
      gru4rec::EvalOptions options;
      options.cutoffs = {1, 5, 10, 20};
      options.threads = threads;
      const gru4rec::EvalResult result = gru4rec::evaluate(model, test, options);
      seconds.push_back(result.seconds);
      predictions = result.predictions;
    }
    const double s = median(seconds);
    const double flops =
        2.0 * static_cast<double>(predictions) * 100.0 * static_cast<double>(model.num_items());
    std::vector<std::string> each;
    for (double v : seconds) each.push_back(fmt::format("{:.3f}", v));
    fmt::print("| {} | **{}** | {:.1f} | {:.0f}% | {} |\n", threads,
               thousands(static_cast<double>(predictions) / s), flops / s / 1e9,
               100.0 * flops / s / 1e9 / peak_all, fmt::join(each, ", "));
    std::fflush(stdout);
  }
  fmt::print("\n");
}

// ---- Accuracy of the parallel mode ---------------------------------------------------------

// Recall@20 and MRR@20 with 1 and `threads` threads, each averaged over seeds 1..3.
void bench_accuracy(const std::string& data_dir, int threads, int rr_epochs) {
  struct Case {
    const char* name;
    std::string train, test;
    std::string params;
  };
  const Case cases[] = {
      {"yoochoose-clicks-100k (RSC15 XE setting, 10 epochs)",
       data_dir + "/yoochoose-rsc15/yoochoose-clicks-100k_train_full.txt",
       data_dir + "/yoochoose-rsc15/yoochoose-clicks-100k_test.txt",
       std::string(kSettings[1].params) + ",n_epochs=10"},
      {"RetailRocket (best bpr-max setting)", data_dir + "/retailrocket-preprocessed/train.tsv",
       data_dir + "/retailrocket-preprocessed/test.tsv",
       std::string(kSettings[0].params) + ",n_epochs=" + std::to_string(rr_epochs)},
  };
  fmt::print(
      "Accuracy of {} threads against 1 (Recall@20, MRR@20, standard ties; mean over seeds "
      "1, 2, 3; RetailRocket trained {} epochs).\n\n",
      threads, rr_epochs);
  fmt::print(
      "| data | threads | Recall@20 | MRR@20 | per seed (Recall@20 / MRR@20) | training s "
      "(mean) |\n|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    gru4rec::ItemIndex items;
    const gru4rec::SessionLog train = gru4rec::read_training_log(c.train, {}, items);
    double base_recall = 0, base_mrr = 0;
    for (int t : {1, threads}) {
      double recall = 0, mrr = 0, seconds = 0;
      std::vector<std::string> each;
      for (int seed = 1; seed <= 3; ++seed) {
        gru4rec::Params params;
        gru4rec::apply_param_string(params, c.params);
        params.threads = t;
        if (t == 1) params.step_shares = 1;  // the unsplit step against the default split
        params.seed = seed;
        gru4rec::Model model = gru4rec::Model::initialize(params, items, train, c.train);
        seconds += gru4rec::train_model(model, train).seconds;
        const gru4rec::SessionLog test = gru4rec::read_test_log(c.test, {}, model.items);
        gru4rec::EvalOptions options;
        options.cutoffs = {20};
        const gru4rec::EvalResult result = gru4rec::evaluate(model, test, options);
        recall += result.recall[0] / 3;
        mrr += result.mrr[0] / 3;
        each.push_back(fmt::format("{:.4f} / {:.4f}", result.recall[0], result.mrr[0]));
      }
      std::string relative;
      if (t == 1) {
        base_recall = recall;
        base_mrr = mrr;
      } else {
        relative = fmt::format(" ({:+.2f}%)", 100.0 * (recall / base_recall - 1));
      }
      fmt::print("| {} | {} | {:.4f}{} | {:.4f}{} | {} | {:.1f} |\n", c.name, t, recall, relative,
                 mrr, t == 1 ? "" : fmt::format(" ({:+.2f}%)", 100.0 * (mrr / base_mrr - 1)),
                 fmt::join(each, ", "), seconds / 3);
      std::fflush(stdout);
    }
  }
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "../shared/data";
  int runs = 3;
  int cores = gru4rec::available_cores();
  bool train = true, eval = true, accuracy = false;
  int rr_epochs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc) {
      data_dir = argv[++i];
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::stoi(argv[++i]));
    } else if (arg == "--threads" && i + 1 < argc) {
      cores = std::max(1, std::stoi(argv[++i]));
    } else if (arg == "--train-only") {
      eval = false;
    } else if (arg == "--eval-only") {
      train = false;
    } else if (arg == "--accuracy") {
      accuracy = true;
    } else if (arg == "--rr-epochs" && i + 1 < argc) {
      rr_epochs = std::max(1, std::stoi(argv[++i]));
    } else {
      fmt::print(stderr,
                 "usage: {} [--data DIR] [--runs N] [--threads N] [--train-only | --eval-only]\n"
                 "       {} --accuracy [--data DIR] [--threads N] [--rr-epochs N]\n",
                 argv[0], argv[0]);
      return 2;
    }
  }
  try {
    const std::vector<int> thread_counts =
        cores > 1 ? std::vector<int>{1, cores} : std::vector<int>{1};
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    fmt::print("gru4rec {} benchmark suite, {}\nMachine: {}, {} hardware threads\n\n",
               GRU4REC_VERSION, date, cpu_model(), gru4rec::available_cores());
    if (accuracy) {
      bench_accuracy(data_dir, std::max(2, cores), rr_epochs);
      return 0;
    }
    // The peak of the CPU with the vectors of the library copy the loader chose: the
    // denominator of every "of peak" column.
    const gru4rec::LibraryBuild build = gru4rec::library_build();
    const gru4rec::CpuInfo cpu = gru4rec::detect_cpu();
    const double peak_one = gru4rec::measure_fma_peak(1, 1.0).gflops;
    const double peak_all = cores > 1 ? gru4rec::measure_fma_peak(cores, 1.0).gflops : peak_one;
    fmt::print("Instruction sets: {} (level {}); library copy {} (Eigen {}, scorer {})\n\n",
               fmt::join(cpu.isa, " "), cpu.best_level, build.level, build.eigen_simd,
               build.scorer_kernel);
    fmt::print("| FMA peak (float32, {} vectors) | GFLOP/s |\n|---|---|\n",
               gru4rec::measure_fma_peak(1, 0.05).vector_width);
    fmt::print("| one core | {:.1f} |\n| {} threads | {:.1f} |\n\n", peak_one, cores, peak_all);
    std::fflush(stdout);
    if (train) {
      bench_training(data_dir + "/retailrocket-preprocessed/train.tsv", runs, thread_counts,
                     peak_one, peak_all);
    }
    if (eval) {
      const std::string dir = data_dir + "/diginetica-cikm16/gcegnn-preprocessed/";
      bench_evaluation(dir + "train.tsv", dir + "test.tsv", runs, thread_counts, peak_all);
    }
  } catch (const gru4rec::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
