// Rolling evaluation of daily retraining (docs/continued-training.md): the sessions of
// one or more logs are cut into periods (calendar days of their start time, or equal shares of
// the sessions in time order for logs whose Time only keeps the order); a model is trained on
// the first periods, then for each later period three models are evaluated on it (the official
// next-item protocol, Recall@20 and MRR@20):
//   never    the initial model, never updated;
//   warm     the previous warm model continued on the previous period's events
//            (train --init, with the optimizer's state; --reset-optimizer: without it);
//   scratch  a new model trained from scratch on every period before.
//   rolling_eval OUT.json --periods N|--day-seconds S --initial K --params P --update-epochs E
//                FILE...
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gru4rec/core/file_io.h"
#include "gru4rec/core/random.h"
#include "gru4rec/gru4rec.h"

using namespace gru4rec;
using Json = nlohmann::json;

namespace {

struct SessionRef {
  const SessionLog* log;
  int64_t session;
  double start;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The sessions as a TSV log (ids as in the files).
std::string tsv_of(const std::vector<const SessionRef*>& sessions, const ItemIndex& ids) {
  std::string text = "SessionId\tItemId\tTime\n";
  for (const SessionRef* ref : sessions) {
    const SessionLog& log = *ref->log;
    const auto begin = static_cast<size_t>(log.offsets[static_cast<size_t>(ref->session)]);
    const std::string& sid = log.session_ids[static_cast<size_t>(ref->session)];
    for (size_t e = begin;
         e < static_cast<size_t>(log.offsets[static_cast<size_t>(ref->session) + 1]); ++e)
      text += fmt::format("{}\t{}\t{:.3f}\n", sid, ids.id(log.items[e]), log.times[e]);
  }
  return text;
}

struct Scored {
  double recall = 0, mrr = 0;
  int64_t predictions = 0;
  double new_item_share = 0;  // of the period's events, items the model does not know
};

Scored score(const Model& model, const std::string& test_tsv, int64_t events) {
  ReadReport report;
  const SessionLog test = parse_test_log(test_tsv, "period", ReadOptions{}, model.items, &report);
  EvalOptions options;
  options.cutoffs = {20};
  options.list_metrics = false;
  const EvalResult r = evaluate(model, test, options);
  return Scored{r.recall[0], r.mrr[0], r.predictions,
                static_cast<double>(report.dropped_unknown_items) / static_cast<double>(events)};
}

// The TSV log without the events of items whose index in `items` is `known` or more (the
// items an update added); `removed` counts them.
std::string without_new_items(std::string_view tsv, const ItemIndex& items, int32_t known,
                              int64_t& removed) {
  std::string kept;
  bool header = true;
  while (!tsv.empty()) {
    const size_t end = tsv.find('\n');
    const std::string_view line = tsv.substr(0, end);
    tsv = end == std::string_view::npos ? std::string_view() : tsv.substr(end + 1);
    const size_t tab = line.find('\t');
    if (!header && items.find(line.substr(tab + 1, line.find('\t', tab + 1) - tab - 1)) >= known) {
      ++removed;
      continue;
    }
    header = false;
    kept.append(line).push_back('\n');
  }
  return kept;
}

Json scored_json(const Scored& s) {
  return Json{{"recall@20", s.recall},
              {"mrr@20", s.mrr},
              {"predictions", s.predictions},
              {"new_item_share", s.new_item_share}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 3) {
      std::fprintf(stderr,
                   "usage: rolling_eval OUT.json [--periods N | --day-seconds S] [--initial K] "
                   "[--params P] [--update-epochs E] [--reset-optimizer] [--skip-scratch] "
                   "[--replay-share R] [--window K] [--initial-model PATH] [--period-supports] "
                   "[--history-supports] [--support-decay F] [--blend-parent B] [--retrain-every "
                   "K] [--age-split] "
                   "[--init-shrink F]\n"
                   "  [--shrink F [--shrink-only gru|items|By]] [--accumulator-scale F "
                   "[--accumulator-only gru|items]] [--perturb P] FILE...\n");
      return 2;
    }
    const std::string out_path = argv[1];
    int periods = 0, initial = 3, update_epochs = 1;
    bool reset_optimizer = false, skip_scratch = false;
    double day_seconds = 0;
    double replay_share = 0;  // older sessions added to each update, as a share of the new ones
    std::string param_string = "loss=cross-entropy,layers=100,n_epochs=5", update_string;
    std::string initial_model_path;
    int window = 1;
    bool period_supports = false, age_split = false, history_supports = false;
    double support_decay = 1, blend_parent = 1;
    int retrain_every = 0;
    double shrink = 1, init_shrink = kDefaultInitShrink;
    std::string shrink_only;
    double accumulator_scale = 1, perturb = 0;
    std::string accumulator_only;
    std::vector<std::string> files;
    for (int a = 2; a < argc; ++a) {
      const std::string arg = argv[a];
      const auto value = [&] {
        if (a + 1 >= argc) throw Error(arg + " needs a value");
        return std::string(argv[++a]);
      };
      if (arg == "--periods")
        periods = std::stoi(value());
      else if (arg == "--day-seconds")
        day_seconds = std::stod(value());
      else if (arg == "--initial")
        initial = std::stoi(value());
      else if (arg == "--params")
        param_string = value();
      else if (arg == "--update-epochs")
        update_epochs = std::stoi(value());
      // Parameters of the updates that differ from --params (e.g. a lower learning rate).
      else if (arg == "--update-params")
        update_string = value();
      else if (arg == "--reset-optimizer")
        reset_optimizer = true;
      // Each update also replays a uniform sample of the sessions before the window (this
      // share of the window's count; gru4rec train --replay-share), before the window's.
      else if (arg == "--replay-share")
        replay_share = std::stod(value());
      // Only the warm models (to compare variants of the update with the scratch figures of an
      // earlier run: with parallel=sync or one thread the scratch models are the same).
      else if (arg == "--skip-scratch")
        skip_scratch = true;
      // The initial model (with its optimizer's state) is read from this file when it exists,
      // else trained and saved there: variants of the update then share one initial training.
      // Each update trains on the last K periods (a sliding window), not only the last one.
      else if (arg == "--window")
        window = std::stoi(value());
      else if (arg == "--initial-model")
        initial_model_path = value();
      // The update's negative sampling and logQ follow the update data's item counts (what its
      // mini-batches really draw from), not the counts of every event seen.
      else if (arg == "--period-supports")
        period_supports = true;
      // The update's sampling and logQ follow each item's events in the whole history so far
      // (as a retraining's), not the sum of every update's data (overlapping windows and replay
      // count an event again each time it is trained on).
      else if (arg == "--history-supports")
        history_supports = true;
      // The supports carried from the previous model multiplied by this before the update's own
      // counts are added (below 1: recent events weigh more).
      else if (arg == "--support-decay")
        support_decay = std::stod(value());
      // After each update, its weights are mixed with the previous model's: B times the
      // update's plus 1 - B times the previous model's (the rows of the items both have, and the
      // GRU layers); 1 keeps the update's.
      else if (arg == "--blend-parent")
        blend_parent = std::stod(value());
      // Every K-th update is a retraining from scratch instead (its time counted as the
      // update's), and the updates after it continue the retrained model: a routine of daily
      // updates with a periodic full retraining. Also with --skip-scratch (then the retraining
      // runs only on those periods).
      else if (arg == "--retrain-every")
        retrain_every = std::stoi(value());
      // At the first update only: warm and scratch also scored without the events of the items
      // the update added (where does the gap come from?).
      else if (arg == "--age-split")
        age_split = true;
      // warm_start's init_shrink (the product's; 1 keeps the GRU layers as they were).
      else if (arg == "--init-shrink")
        init_shrink = std::stod(value());
      // Every weight (or only the GRU layers', or the item rows') multiplied by this before each
      // update ("shrink" of Ash and Adams, NeurIPS 2020, against the generalisation gap of
      // warm-started training), on top of --init-shrink.
      else if (arg == "--shrink")
        shrink = std::stod(value());
      else if (arg == "--shrink-only")  // "items" (E, Wy, By), "gru" (the layers) or "By"
        shrink_only = value();
      // Adagrad's accumulators multiplied by this before each update (below 1: larger steps;
      // 0 is --reset-optimizer for those tensors).
      else if (arg == "--accumulator-scale")
        accumulator_scale = std::stod(value());
      else if (arg == "--accumulator-only")  // "items" or "gru", as --shrink-only
        accumulator_only = value();
      // The "perturb" of Ash and Adams: after the shrink, the GRU layers get this times a fresh
      // initialization added (another seed each period).
      else if (arg == "--perturb")
        perturb = std::stod(value());
      else
        files.push_back(arg);
    }
    if (files.empty() || (periods > 0) == (day_seconds > 0))
      throw Error("give the files and one of --periods and --day-seconds");
    Params params;
    apply_param_string(params, param_string);
    validate_params(params);
    Params update = params;
    update.n_epochs = update_epochs;
    apply_param_string(update, update_string);
    validate_params(update);

    // Every session of every file, by start time.
    ItemIndex ids;
    std::vector<SessionLog> logs;
    logs.reserve(files.size());
    for (const std::string& f : files) logs.push_back(read_training_log(f, ReadOptions{}, ids));
    std::vector<SessionRef> sessions;
    for (const SessionLog& log : logs) {
      for (int64_t s = 0; s < log.num_sessions(); ++s)
        sessions.push_back(
            {&log, s, log.times[static_cast<size_t>(log.offsets[static_cast<size_t>(s)])]});
    }
    std::stable_sort(sessions.begin(), sessions.end(),
                     [](const SessionRef& a, const SessionRef& b) { return a.start < b.start; });
    std::map<int, std::vector<const SessionRef*>> by_period;
    for (size_t i = 0; i < sessions.size(); ++i) {
      const int p = day_seconds > 0
                        ? static_cast<int>((sessions[i].start - sessions[0].start) / day_seconds)
                        : static_cast<int>(i * static_cast<size_t>(periods) / sessions.size());
      by_period[p].push_back(&sessions[i]);
    }
    std::vector<std::vector<const SessionRef*>> period;
    for (auto& [p, list] : by_period) period.push_back(std::move(list));
    if (static_cast<int>(period.size()) <= initial)
      throw Error(fmt::format("{} periods: need more than --initial {}", period.size(), initial));
    std::vector<std::string> text;
    std::vector<int64_t> events;
    for (const auto& list : period) {
      text.push_back(tsv_of(list, ids));
      int64_t n = 0;
      for (const SessionRef* r : list) n += r->log->session_length(r->session);
      events.push_back(n);
    }
    // Multiplies the tensors of `weights` by `factor`: every one, or only the item rows ("items":
    // E, Wy, By) or only the GRU layers' ("gru"), as --shrink-only and --accumulator-only say.
    const auto scale_tensors = [](NetworkWeights<float>& weights, double factor,
                                  const std::string& only) {
      weights.for_each_tensor([&](const std::string& name, auto& tensor) {
        const bool item_tensor = name == "E" || name == "Wy" || name == "By";
        const bool chosen =
            only == "By" ? name == "By" : (only.empty() || item_tensor == (only == "items"));
        if (chosen) tensor *= static_cast<float>(factor);
      });
    };
    // The periods [begin, end) as one TSV log.
    const auto periods_text = [&](int begin, int end) {
      std::string joined = "SessionId\tItemId\tTime\n";
      for (int p = begin; p < end; ++p)
        joined += text[static_cast<size_t>(p)].substr(text[static_cast<size_t>(p)].find('\n') + 1);
      return joined;
    };
    const auto from_scratch = [&](int count, double& seconds) {
      ItemIndex items;
      const SessionLog log =
          parse_training_log(periods_text(0, count), "history", ReadOptions{}, items);
      const auto start = std::chrono::steady_clock::now();
      Model model = Model::initialize(params, std::move(items), log, "history");
      train_model(model, log);
      seconds = seconds_since(start);
      return model;
    };
    double initial_seconds = 0;
    const bool reuse_initial =
        !initial_model_path.empty() && std::ifstream(initial_model_path).good();
    const Model never =
        reuse_initial ? load_model(initial_model_path) : from_scratch(initial, initial_seconds);
    if (!initial_model_path.empty() && !reuse_initial)
      save_model(never, initial_model_path, /*with_optimizer_state=*/true);
    fmt::print(stderr, "{} periods; initial model on {} of them: {} items, {:.1f} s\n",
               period.size(), initial, never.num_items(), initial_seconds);
    Model warm = never;
    Json days = Json::array();
    for (int p = initial; p < static_cast<int>(period.size()); ++p) {
      double warm_seconds = 0, scratch_seconds = 0;
      const bool retrain_day =
          retrain_every > 0 && p > initial && (p - initial) % retrain_every == 0;
      if (p > initial && !retrain_day) {  // continue on the previous period
        ItemIndex items = warm.items;
        SessionLog log = parse_training_log(periods_text(std::max(0, p - window), p), "period",
                                            ReadOptions{}, items);
        if (replay_share > 0 && p - window > 0) {  // as gru4rec train --replay does
          ItemIndex older_items = items;
          const SessionLog older =
              parse_training_log(periods_text(0, p - window), "older", ReadOptions{}, older_items);
          log = with_replayed_sessions(log, items, older, older_items, replay_share, update.seed);
        }
        if (reset_optimizer) warm.optimizer_state.reset();  // as a file saved without it
        const auto start = std::chrono::steady_clock::now();
        Model next = warm_start(warm, update, std::move(items), log, "period", init_shrink);
        if (shrink != 1) scale_tensors(next.weights, shrink, shrink_only);
        if (perturb != 0) {
          Params fresh_params = update;
          fresh_params.seed = update.seed + p;
          const Model fresh = Model::initialize(fresh_params, ItemIndex(next.items), log, "period");
          const auto scale = static_cast<float>(perturb);
          for (size_t l = 0; l < next.weights.layers.size(); ++l) {
            GruLayerWeights<float>& layer = next.weights.layers[l];
            const GruLayerWeights<float>& noise = fresh.weights.layers[l];
            layer.Wx += scale * noise.Wx;
            layer.Urz += scale * noise.Urz;
            layer.Uh += scale * noise.Uh;
            layer.bh += scale * noise.bh;
          }
        }
        if (accumulator_scale != 1 && next.optimizer_state) {
          auto state = std::make_shared<OptimizerState>(*next.optimizer_state);
          scale_tensors(state->accumulators, accumulator_scale, accumulator_only);
          next.optimizer_state = std::move(state);
        }
        if (support_decay != 1) {
          const std::vector<int64_t> fresh = item_supports(log, next.num_items());
          for (size_t i = 0; i < fresh.size(); ++i)
            next.supports[i] = std::max<int64_t>(
                1, std::llround(support_decay * static_cast<double>(next.supports[i] - fresh[i])) +
                       fresh[i]);
        }
        if (history_supports) {
          ItemIndex all_items = next.items;
          const SessionLog all =
              parse_training_log(periods_text(0, p), "all", ReadOptions{}, all_items);
          GRU4REC_CHECK(all_items.size() == next.num_items());
          next.supports = item_supports(all, next.num_items());
          for (int64_t& c : next.supports) c = std::max<int64_t>(c, 1);
        }
        if (period_supports) {
          std::vector<int64_t> cumulative = next.supports;
          next.supports = item_supports(log, next.num_items());
          for (int64_t& c : next.supports) c = std::max<int64_t>(c, 1);
          train_model(next, log);
          next.supports = std::move(cumulative);
        } else {
          train_model(next, log);
        }
        if (blend_parent != 1) {
          const auto b = static_cast<float>(blend_parent);
          const Eigen::Index known = warm.num_items();
          const NetworkWeights<float>& from = warm.weights;
          NetworkWeights<float>& to = next.weights;
          to.Wy.topRows(known) = b * to.Wy.topRows(known) + (1 - b) * from.Wy;
          to.By.head(known) = b * to.By.head(known) + (1 - b) * from.By;
          if (to.shape.mode == EmbeddingMode::kSeparate)
            to.E.topRows(known) = b * to.E.topRows(known) + (1 - b) * from.E;
          for (size_t l = 0; l < to.layers.size(); ++l) {
            if (l == 0 && to.shape.mode == EmbeddingMode::kOneHot)
              to.layers[0].Wx.topRows(known) =
                  b * to.layers[0].Wx.topRows(known) + (1 - b) * from.layers[0].Wx;
            else
              to.layers[l].Wx = b * to.layers[l].Wx + (1 - b) * from.layers[l].Wx;
            to.layers[l].Urz = b * to.layers[l].Urz + (1 - b) * from.layers[l].Urz;
            to.layers[l].Uh = b * to.layers[l].Uh + (1 - b) * from.layers[l].Uh;
            to.layers[l].bh = b * to.layers[l].bh + (1 - b) * from.layers[l].bh;
          }
        }
        warm_seconds = seconds_since(start);
        warm = std::move(next);
      }
      const Model scratch =
          p > initial && (!skip_scratch || retrain_day || (age_split && p == initial + 1))
              ? from_scratch(p, scratch_seconds)
              : never;
      if (retrain_day) {
        warm = scratch;
        warm_seconds = scratch_seconds;
      }
      if (age_split && p == initial + 1) {
        int64_t removed = 0;
        const std::string kept =
            without_new_items(text[static_cast<size_t>(p)], warm.items, never.num_items(), removed);
        const int64_t kept_events = events[static_cast<size_t>(p)] - removed;
        const Scored w_old = score(warm, kept, kept_events);
        const Scored s_old = score(scratch, kept, kept_events);
        fmt::print(stderr,
                   "period {} without the {} events of items the update added: Recall@20 warm "
                   "{:.4f} scratch {:.4f}; MRR@20 {:.4f} {:.4f}; predictions {} / {}\n",
                   p, removed, w_old.recall, s_old.recall, w_old.mrr, s_old.mrr, w_old.predictions,
                   s_old.predictions);
      }
      if (p == initial) scratch_seconds = initial_seconds;
      const Scored n = score(never, text[static_cast<size_t>(p)], events[static_cast<size_t>(p)]);
      const Scored w = score(warm, text[static_cast<size_t>(p)], events[static_cast<size_t>(p)]);
      const Scored s = score(scratch, text[static_cast<size_t>(p)], events[static_cast<size_t>(p)]);
      fmt::print(stderr,
                 "period {}: {} events; Recall@20 never {:.4f} warm {:.4f} scratch {:.4f}; MRR@20 "
                 "{:.4f} {:.4f} {:.4f}; new items {:.2f}% / {:.2f}%; seconds warm {:.1f} scratch "
                 "{:.1f}\n",
                 p, events[static_cast<size_t>(p)], n.recall, w.recall, s.recall, n.mrr, w.mrr,
                 s.mrr, 100 * n.new_item_share, 100 * w.new_item_share, warm_seconds,
                 scratch_seconds);
      days.push_back(
          Json{{"period", p},
               {"events", events[static_cast<size_t>(p)]},
               {"never", scored_json(n)},
               {"warm", scored_json(w)},
               {"scratch", skip_scratch && p > initial && !retrain_day ? Json() : scored_json(s)},
               {"retrained", retrain_day},
               {"warm_items", warm.num_items()},
               {"warm_seconds", warm_seconds},
               {"scratch_seconds", scratch_seconds}});
    }
    const Json result{{"files", files},
                      {"params", param_string},
                      {"update_epochs", update_epochs},
                      {"update_params", update_string},
                      {"optimizer_state", reset_optimizer ? "reset" : "carried on"},
                      {"replay_share", replay_share},
                      {"window", window},
                      {"period_supports", period_supports},
                      {"history_supports", history_supports},
                      {"support_decay", support_decay},
                      {"blend_parent", blend_parent},
                      {"retrain_every", retrain_every},
                      {"init_shrink", init_shrink},
                      {"shrink", shrink},
                      {"shrink_only", shrink_only},
                      {"accumulator_scale", accumulator_scale},
                      {"accumulator_only", accumulator_only},
                      {"perturb", perturb},
                      {"periods", period.size()},
                      {"initial", initial},
                      {"period_kind", day_seconds > 0 ? "days" : "equal shares of sessions"},
                      {"threads", params.threads},
                      {"days", days}};
    write_file_atomically(out_path, [&](std::ostream& out) { out << result.dump(2) << '\n'; });
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rolling_eval: %s\n", e.what());
    return 1;
  }
}
