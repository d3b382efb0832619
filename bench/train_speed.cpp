// Training speed on a real data file with the settings of the speed targets: loads the data
// once, trains one epoch per run, and reports the median of several runs.
//   build/bench/train_speed ../shared/data/retailrocket-preprocessed/train.tsv [runs] [epochs]
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"

namespace {

struct Setting {
  const char* name;
  const char* params;
  double target_events_per_second;
};

const Setting kSettings[] = {
    {"retailrocket-bprmax (best params)",
     "loss=bpr-max,elu_param=0.5,layers=224,batch_size=80,dropout_p_embed=0.5,"
     "dropout_p_hidden=0.05,learning_rate=0.05,momentum=0.4,n_sample=2048,sample_alpha=0.4,"
     "bpreg=1.95,constrained_embedding=True",
     15000},
    {"rsc15-xe (rsc15_xe_shared_100_best)",
     "loss=cross-entropy,logq=1,layers=100,batch_size=32,dropout_p_embed=0.0,"
     "dropout_p_hidden=0.4,learning_rate=0.2,momentum=0.2,n_sample=2048,sample_alpha=0.5,"
     "bpreg=0,constrained_embedding=True",
     30000},
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: {} TRAIN.tsv [runs=3] [epochs=1]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int runs = argc > 2 ? std::max(1, std::stoi(argv[2])) : 3;
  const int epochs = argc > 3 ? std::max(1, std::stoi(argv[3])) : 1;
  try {
    gru4rec::ItemIndex items;
    const gru4rec::SessionLog train = gru4rec::read_training_log(path, {}, items);
    fmt::print("{}: {} events, {} sessions, {} items; {} run(s) of {} epoch(s), one thread\n\n",
               path, train.num_events(), train.num_sessions(), items.size(), runs, epochs);
    fmt::print("| setting | events/s (median) | mini-batches/s | runs (events/s) | target |\n");
    fmt::print("|---|---|---|---|---|\n");
    for (const Setting& setting : kSettings) {
      gru4rec::Params params;
      gru4rec::apply_param_string(params, setting.params);
      params.n_epochs = epochs;
      params.threads = 1;
      params.step_shares = 1;  // the unsplit step: the fastest on one thread
      std::vector<double> events_per_second, steps_per_second;
      for (int run = 0; run < runs; ++run) {
        gru4rec::Model model = gru4rec::Model::initialize(params, items, train, path);
        const gru4rec::TrainSummary summary = gru4rec::train_model(model, train);
        int64_t events = 0, steps = 0;
        for (const auto& e : summary.epochs) events += e.events, steps += e.steps;
        events_per_second.push_back(static_cast<double>(events) / summary.seconds);
        steps_per_second.push_back(static_cast<double>(steps) / summary.seconds);
      }
      std::vector<std::string> each;
      for (double v : events_per_second) each.push_back(fmt::format("{:.0f}", v));
      fmt::print("| {} | {:.0f} | {:.1f} | {} | >= {:.0f} |\n", setting.name,
                 median(events_per_second), median(steps_per_second), fmt::join(each, ", "),
                 setting.target_events_per_second);
      std::fflush(stdout);
    }
  } catch (const gru4rec::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
