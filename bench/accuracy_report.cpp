// The accuracy harness of the parallel training mode (scripts/accuracy.sh): every published
// setting of the reference's section 5.1 (the six parameter files, the five settings of the
// other loss, and the older RSC15 bpr-max setting) on the closest dataset of ../shared/data,
// trained with the unsplit step on one thread (threads=1,step_shares=1: the computation of the
// official code) and with the defaults (every core; parallel=sync splits every step into as
// many shares, whose model is the same on any number of threads), over several seeds;
// Recall@20 and MRR@20 (standard ties, full ranking) after 3 epochs, and for the six parameter
// files after 10 epochs too (seed 1). Each finished run is appended to a JSON-lines log, so an
// interrupted harness resumes where it stopped; the Markdown tables are printed from the log.
//
//   build/bench/accuracy_report [--data DIR] [--log FILE] [--seeds 1,2,3] [--settings a,b]
//                               [--epochs 3] [--long-epochs 10] [--modes 1,default,hogwild]
//                               [--report-only] [--list-settings]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/core/text.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"

namespace {

using namespace gru4rec;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Dataset {
  std::string train, test;
};

struct Setting {
  std::string name;     // e.g. "yoochoose bpr-max"
  std::string source;   // where the setting is published
  std::string dataset;  // key of datasets()
  std::string params;   // parameter string without n_epochs, seed and threads
  bool parameter_file;  // one of the six best parameter files: also trained for long_epochs
};

std::map<std::string, Dataset> datasets(const std::string& data) {
  return {
      {"yoochoose-100k",
       {data + "/yoochoose-rsc15/yoochoose-clicks-100k_train_full.txt",
        data + "/yoochoose-rsc15/yoochoose-clicks-100k_test.txt"}},
      {"diginetica",
       {data + "/diginetica-cikm16/gcegnn-preprocessed/train.tsv",
        data + "/diginetica-cikm16/gcegnn-preprocessed/test.tsv"}},
      {"retailrocket",
       {data + "/retailrocket-preprocessed/train.tsv",
        data + "/retailrocket-preprocessed/test.tsv"}},
      {"tmall", {data + "/tmall-preprocessed/train.tsv", data + "/tmall-preprocessed/test.tsv"}},
  };
}

// Reference section 5.1. All: constrained_embedding=True, n_sample=2048, one layer. Datasets
// without a copy here: Rees46 (large multi-category shop, user sessions) -> Tmall, the largest
// catalogue here; Coveo (one shop's browsing sessions) -> RetailRocket.
std::vector<Setting> settings() {
  const std::string common = "constrained_embedding=True,n_sample=2048,";
  const std::string xe = common + "loss=cross-entropy,logq=1,";
  const std::string bpr = common + "loss=bpr-max,logq=0,";
  return {
      {"rsc15 xe", "rsc15_xe_shared_100_best.py", "yoochoose-100k",
       xe + "layers=100,batch_size=32,dropout_p_embed=0,dropout_p_hidden=0.4,"
            "learning_rate=0.2,momentum=0.2,sample_alpha=0.5,bpreg=0",
       true},
      {"yoochoose xe", "yoochoose_xe_shared_best.py", "yoochoose-100k",
       xe + "layers=480,batch_size=48,dropout_p_embed=0,dropout_p_hidden=0.2,"
            "learning_rate=0.07,momentum=0,sample_alpha=0.2,bpreg=0",
       true},
      {"rees46 xe", "rees46_xe_shared_best.py", "tmall",
       xe + "layers=512,batch_size=240,dropout_p_embed=0.45,dropout_p_hidden=0,"
            "learning_rate=0.065,momentum=0,sample_alpha=0.5,bpreg=0",
       true},
      {"coveo bpr-max", "coveo_bprmax_shared_best.py", "retailrocket",
       bpr + "elu_param=1,layers=512,batch_size=144,dropout_p_embed=0.35,dropout_p_hidden=0,"
             "learning_rate=0.05,momentum=0.4,sample_alpha=0.2,bpreg=1.85",
       true},
      {"retailrocket bpr-max", "retailrocket_bprmax_shared_best.py", "retailrocket",
       bpr + "elu_param=0.5,layers=224,batch_size=80,dropout_p_embed=0.5,dropout_p_hidden=0.05,"
             "learning_rate=0.05,momentum=0.4,sample_alpha=0.4,bpreg=1.95",
       true},
      {"diginetica bpr-max", "diginetica_bprmax_shared_best.py", "diginetica",
       bpr + "elu_param=1,layers=512,batch_size=128,dropout_p_embed=0.5,dropout_p_hidden=0.3,"
             "learning_rate=0.05,momentum=0.15,sample_alpha=0.3,bpreg=0.9",
       true},
      {"yoochoose bpr-max", "comparison study, other loss", "yoochoose-100k",
       bpr + "elu_param=0,layers=448,batch_size=48,dropout_p_embed=0.25,dropout_p_hidden=0,"
             "learning_rate=0.075,momentum=0.1,sample_alpha=0.2,bpreg=0.5",
       false},
      {"rees46 bpr-max", "comparison study, other loss", "tmall",
       bpr + "elu_param=0.5,layers=512,batch_size=32,dropout_p_embed=0.1,dropout_p_hidden=0,"
             "learning_rate=0.03,momentum=0.55,sample_alpha=0.2,bpreg=0.75",
       false},
      {"coveo xe", "comparison study, other loss", "retailrocket",
       xe + "layers=512,batch_size=32,dropout_p_embed=0.4,dropout_p_hidden=0.15,"
            "learning_rate=0.03,momentum=0,sample_alpha=0,bpreg=0",
       false},
      {"retailrocket xe", "comparison study, other loss", "retailrocket",
       xe + "layers=192,batch_size=240,dropout_p_embed=0.5,dropout_p_hidden=0.05,"
            "learning_rate=0.085,momentum=0.3,sample_alpha=0.3,bpreg=0",
       false},
      {"diginetica xe", "comparison study, other loss", "diginetica",
       xe + "layers=192,batch_size=128,dropout_p_embed=0.45,dropout_p_hidden=0.15,"
            "learning_rate=0.1,momentum=0,sample_alpha=0,bpreg=0",
       false},
      {"rsc15 bpr-max", "param_samples (BPR-max, shared)", "yoochoose-100k",
       bpr + "elu_param=0.5,layers=100,batch_size=32,dropout_p_embed=0,dropout_p_hidden=0,"
             "learning_rate=0.2,momentum=0.1,sample_alpha=0,bpreg=0.5",
       false},
  };
}

// One evaluated model: a run's snapshot after `epoch` epochs.
struct Record {
  std::string setting, mode;  // mode: "1" or "default"
  int threads = 1, seed = 0, epochs_run = 0, epoch = 0;
  double recall = 0, mrr = 0, train_seconds = 0;
  bool fell_back = false;
};

Json to_json(const Record& r) {
  return Json{{"setting", r.setting},
              {"mode", r.mode},
              {"threads", r.threads},
              {"seed", r.seed},
              {"epochs_run", r.epochs_run},
              {"epoch", r.epoch},
              {"recall20", r.recall},
              {"mrr20", r.mrr},
              {"train_seconds", r.train_seconds},
              {"fell_back", r.fell_back}};
}

Record from_json(const Json& j) {
  return Record{j.at("setting").get<std::string>(),  j.at("mode").get<std::string>(),
                j.at("threads").get<int>(),          j.at("seed").get<int>(),
                j.at("epochs_run").get<int>(),       j.at("epoch").get<int>(),
                j.at("recall20").get<double>(),      j.at("mrr20").get<double>(),
                j.at("train_seconds").get<double>(), j.at("fell_back").get<bool>()};
}

std::vector<Record> read_log(const std::string& path) {
  std::vector<Record> records;
  std::ifstream in(path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (trim(line).empty()) continue;
    try {
      records.push_back(from_json(Json::parse(line)));
    } catch (const std::exception& e) {
      throw Error(fmt::format("{}:{}: not a run record ({})", path, number, e.what()));
    }
  }
  return records;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / static_cast<double>(v.size());
}

// Runs one (setting, mode, seed) and returns a record per evaluated epoch.
std::vector<Record> run_one(const Setting& setting, const Dataset& data, const SessionLog& train,
                            const ItemIndex& items, const SessionLog& test, const std::string& mode,
                            int seed, int epochs, int short_epochs) {
  Params params;
  apply_param_string(params, setting.params);
  params.n_epochs = epochs;
  params.seed = seed;
  if (mode == "1") {  // otherwise the default: every core
    params.threads = 1;
    params.step_shares = 1;
  }
  if (mode == "hogwild") params.parallel = ParallelMode::kHogwild;
  validate_params(params);
  Model model = Model::initialize(params, ItemIndex(items), train, data.train);
  EvalOptions eval;
  eval.cutoffs = {20};
  eval.list_metrics = false;
  std::vector<Record> records;
  const auto start = Clock::now();
  double eval_seconds = 0;  // not part of the training time
  TrainCallbacks callbacks;
  callbacks.snapshot_every = 1;
  callbacks.on_notice = [&](const std::string& note) { fmt::print(stderr, "  note: {}\n", note); };
  callbacks.on_snapshot = [&](const EpochReport& report, const Model& snapshot) {
    if (report.epoch != short_epochs && report.epoch != epochs) return true;
    const auto eval_start = Clock::now();
    const double train_seconds =
        std::chrono::duration<double>(eval_start - start).count() - eval_seconds;
    const EvalResult result = evaluate(snapshot, test, eval);
    eval_seconds += std::chrono::duration<double>(Clock::now() - eval_start).count();
    records.push_back(Record{setting.name, mode, params.threads, seed, epochs, report.epoch,
                             result.recall[0], result.mrr[0], train_seconds, false});
    fmt::print(stderr,
               "  {} threads={} seed {} epoch {}: loss {:.4f} R@20 {:.4f} MRR@20 {:.4f} "
               "({:.0f} s)\n",
               setting.name, params.threads, seed, report.epoch, report.loss, result.recall[0],
               result.mrr[0], train_seconds);
    return true;
  };
  const TrainSummary summary = train_model(model, train, callbacks);
  // After a fall back to one thread the epochs start again: keep the last record per epoch.
  std::map<int, Record> last;
  for (const Record& r : records) last[r.epoch] = r;
  records.clear();
  for (const auto& [epoch, r] : last) records.push_back(r);
  for (Record& r : records) {
    r.fell_back = summary.fell_back_to_one_thread;
    r.threads = summary.threads;
  }
  return records;
}

std::string ratio_text(double value, double base) {
  return fmt::format("{:.1f}%", 100 * value / base);
}

// The Markdown tables from the records.
void print_report(const std::vector<Record>& records, int short_epochs, int long_epochs) {
  const auto select = [&](const std::string& setting, const std::string& mode, int epoch,
                          bool long_run) {
    std::vector<Record> out;
    for (const Record& r : records) {
      if (r.setting == setting && r.mode == mode && r.epoch == epoch &&
          (!long_run || r.epochs_run == long_epochs) &&
          // A seed's 3-epoch result may come from a 3-epoch and a 10-epoch run: count it once.
          std::none_of(out.begin(), out.end(), [&](const Record& o) { return o.seed == r.seed; }))
        out.push_back(r);
    }
    std::sort(out.begin(), out.end(),
              [](const Record& a, const Record& b) { return a.seed < b.seed; });
    return out;
  };
  const auto field = [](const std::vector<Record>& rs, double Record::*f) {
    std::vector<double> v;
    for (const Record& r : rs) v.push_back(r.*f);
    return v;
  };
  const auto short_table = [&](const std::string& mode, const std::string& title) {
    int threads = 0;
    for (const Record& r : records)
      if (r.mode == mode) threads = std::max(threads, r.threads);
    if (threads == 0) return;
    fmt::print(
        "\n#### After {} epochs: one thread, unsplit (threads=1,step_shares=1) against {} ({} "
        "threads), mean of the seeds\n\n",
        short_epochs, title, threads);
    fmt::print(
        "| setting (published for) | data | seeds | R@20, 1 thread | R@20, {} | ratio | "
        "MRR@20, 1 thread | MRR@20, {} | ratio | lowest seed (R / MRR) | train s, 1 / {} "
        "| 99% / 97% |\n",
        mode, mode, mode);
    fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const Setting& s : settings()) {
      const auto one = select(s.name, "1", short_epochs, false);
      const auto all = select(s.name, mode, short_epochs, false);
      if (one.empty() || all.empty()) continue;
      const double r1 = mean(field(one, &Record::recall)), m1 = mean(field(one, &Record::mrr));
      const double rd = mean(field(all, &Record::recall)), md = mean(field(all, &Record::mrr));
      double low_r = INFINITY, low_m = INFINITY;
      for (const Record& r : all) {
        low_r = std::min(low_r, r.recall / r1);
        low_m = std::min(low_m, r.mrr / m1);
      }
      bool fell_back = false;
      for (const Record& r : all) fell_back = fell_back || r.fell_back;
      const bool complete = one.size() >= 3 && all.size() >= 3;
      const bool pass = rd >= 0.99 * r1 && md >= 0.99 * m1 && low_r >= 0.97 && low_m >= 0.97;
      fmt::print(
          "| {} | {} | {} / {} | {:.4f} | {:.4f} | {} | {:.4f} | {:.4f} | {} | {:.1f}% / "
          "{:.1f}% | {:.0f} / {:.0f} | {}{} |\n",
          s.name, s.dataset, one.size(), all.size(), r1, rd, ratio_text(rd, r1), m1, md,
          ratio_text(md, m1), 100 * low_r, 100 * low_m, mean(field(one, &Record::train_seconds)),
          mean(field(all, &Record::train_seconds)),
          !complete ? "incomplete"
          : pass    ? "met"
                    : "**missed**",
          fell_back ? " (fell back to 1 thread)" : "");
    }
  };
  short_table("default", "the default (parallel=sync, every core)");
  short_table("hogwild", "parallel=hogwild");
  fmt::print("\n#### After {} epochs (the six parameter files, seed 1)\n\n", long_epochs);
  fmt::print(
      "| setting | data | R@20, 1 thread | R@20, default | ratio | MRR@20, 1 thread | "
      "MRR@20, default | ratio | train s, 1 / default |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  for (const Setting& s : settings()) {
    if (!s.parameter_file) continue;
    const auto one = select(s.name, "1", long_epochs, true);
    const auto all = select(s.name, "default", long_epochs, true);
    if (one.empty() || all.empty()) continue;
    fmt::print("| {} | {} | {:.4f} | {:.4f} | {} | {:.4f} | {:.4f} | {} | {:.0f} / {:.0f} |\n",
               s.name, s.dataset, one[0].recall, all[0].recall,
               ratio_text(all[0].recall, one[0].recall), one[0].mrr, all[0].mrr,
               ratio_text(all[0].mrr, one[0].mrr), one[0].train_seconds, all[0].train_seconds);
  }
  fmt::print("\nSettings (all with n_sample=2048, the shared embedding, one layer):\n\n");
  for (const Setting& s : settings())
    fmt::print("- {} ({}; on {}): `{}`\n", s.name, s.source, s.dataset, s.params);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "../shared/data";
  std::string log_path = "build/accuracy/runs.jsonl";
  std::vector<int> seeds{1, 2, 3};
  std::vector<std::string> modes{"1", "default"};
  std::set<std::string> only;
  int short_epochs = 3, long_epochs = 10;
  bool report_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--data" && has_value) {
      data = argv[++i];
    } else if (arg == "--log" && has_value) {
      log_path = argv[++i];
    } else if (arg == "--seeds" && has_value) {
      seeds.clear();
      for (auto part : split(argv[++i], ',')) seeds.push_back(static_cast<int>(*parse_int(part)));
    } else if (arg == "--settings" && has_value) {
      for (auto part : split(argv[++i], ',')) only.emplace(trim(part));
    } else if (arg == "--epochs" && has_value) {
      short_epochs = std::max(1, std::stoi(argv[++i]));
    } else if (arg == "--long-epochs" && has_value) {
      long_epochs = std::max(1, std::stoi(argv[++i]));
    } else if (arg == "--modes" && has_value) {
      modes.clear();
      for (auto part : split(argv[++i], ',')) {
        const std::string mode(trim(part));
        if (mode != "1" && mode != "default" && mode != "hogwild") {
          fmt::print(stderr, "--modes: expected 1, default or hogwild, got '{}'\n", mode);
          return 2;
        }
        modes.push_back(mode);
      }
    } else if (arg == "--report-only") {
      report_only = true;
    } else if (arg == "--list-settings") {  // name|training file|parameters, one per line
      const auto sets = datasets(data);
      for (const Setting& s : settings())
        fmt::print("{}|{}|{}\n", s.name, sets.at(s.dataset).train, s.params);
      return 0;
    } else {
      fmt::print(stderr,
                 "usage: {} [--data DIR] [--log FILE] [--seeds 1,2,3] [--settings a,b] "
                 "[--epochs 3] [--long-epochs 10] [--modes 1,default,hogwild] [--report-only] "
                 "[--list-settings]\n",
                 argv[0]);
      return 2;
    }
  }
  try {
    for (const std::string& name : only) {
      const auto all = settings();
      if (std::none_of(all.begin(), all.end(), [&](const Setting& s) { return s.name == name; }))
        throw Error(fmt::format("--settings: unknown setting '{}'", name));
    }
    std::vector<Record> records =
        std::filesystem::exists(log_path) ? read_log(log_path) : std::vector<Record>{};
    if (!report_only) {
      if (const auto parent = std::filesystem::path(log_path).parent_path(); !parent.empty())
        std::filesystem::create_directories(parent);
      const auto sets = datasets(data);
      struct Loaded {
        ItemIndex items;
        SessionLog train, test;
      };
      std::map<std::string, Loaded> loaded;
      for (int seed : seeds) {
        for (const Setting& s : settings()) {
          if (!only.empty() && !only.contains(s.name)) continue;
          const int epochs = s.parameter_file && seed == seeds.front() ? long_epochs : short_epochs;
          for (const std::string& mode : modes) {
            const bool done = std::any_of(records.begin(), records.end(), [&](const Record& r) {
              return r.setting == s.name && r.mode == mode && r.seed == seed &&
                     r.epochs_run == epochs && r.epoch == epochs;
            });
            if (done) continue;
            const Dataset& d = sets.at(s.dataset);
            if (!loaded.contains(s.dataset)) {
              Loaded l;
              l.train = read_training_log(d.train, ReadOptions{}, l.items);
              l.test = read_test_log(d.test, ReadOptions{}, l.items);
              loaded.emplace(s.dataset, std::move(l));
            }
            const Loaded& l = loaded.at(s.dataset);
            fmt::print(stderr, "{} on {}, threads={}, seed {}, {} epochs\n", s.name, s.dataset,
                       mode, seed, epochs);
            for (const Record& r :
                 run_one(s, d, l.train, l.items, l.test, mode, seed, epochs, short_epochs)) {
              std::ofstream(log_path, std::ios::app) << to_json(r).dump() << "\n";
              records.push_back(r);
            }
          }
        }
      }
    }
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    fmt::print("Accuracy of the parallel training ({}, {} cores here; runs from {}).\n", date,
               available_cores(), log_path);
    print_report(records, short_epochs, long_epochs);
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
