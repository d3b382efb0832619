// The Python extension `gru4rec._gru4rec`: the library's models, training and evaluation on
// columns in memory (numpy arrays). The Python package (gru4rec/__init__.py) turns DataFrames
// into those columns and gives the user-facing class; this file only converts and calls.
//
// The GIL is released while training, evaluating and scoring; the library's errors
// (gru4rec::Error) become ValueError with the library's message.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/data/holdout.h"
#include "gru4rec/data/replay.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/batch_top_k.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/model/params.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/model/vectors.h"
#include "gru4rec/prepare/prepare_folder.h"
#include "gru4rec/train/trainer.h"
#include "gru4rec/train/validation.h"
#include "gru4rec/train/warm_start.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace gru4rec {
namespace {

// The ids of a column as text, as the file reader would see them: integers in decimal, strings
// as they are. Floats (pandas makes integer columns with NaN float), booleans and other objects
// are refused with what was found.
std::vector<std::string> id_texts(const py::array& column, const char* name) {
  std::vector<std::string> out(static_cast<size_t>(column.size()));
  const char kind = column.dtype().kind();
  if (column.ndim() != 1) throw py::value_error(fmt::format("{}: expected one dimension", name));
  if (kind == 'i' || kind == 'u') {
    const py::array_t<int64_t, py::array::forcecast> ints(column);
    const auto view = ints.unchecked<1>();
    for (py::ssize_t i = 0; i < view.shape(0); ++i)
      out[static_cast<size_t>(i)] = fmt::format("{}", view(i));
    return out;
  }
  if (kind == 'O' || kind == 'U') {
    const py::list values = column.attr("tolist")();
    for (size_t i = 0; i < out.size(); ++i) {
      const py::handle value = values[i];
      if (py::isinstance<py::str>(value)) {
        out[i] = value.cast<std::string>();
      } else if (py::isinstance<py::int_>(value) && !py::isinstance<py::bool_>(value)) {
        out[i] = py::str(value).cast<std::string>();
      } else {
        const std::string found = py::str(py::type::of(value).attr("__name__")).cast<std::string>();
        const bool nan = py::isinstance<py::float_>(value) && std::isnan(value.cast<double>());
        throw py::value_error(fmt::format("{}: row {} holds {}; expected a string or an integer id",
                                          name, i, nan ? std::string("NaN") : "a " + found));
      }
    }
    return out;
  }
  throw py::value_error(fmt::format(
      "{}: ids of dtype {}; expected integers or strings{}", name,
      py::str(column.dtype()).cast<std::string>(),
      kind == 'f' ? " (a float column often means NaN ids: drop those rows first)" : ""));
}

std::vector<double> times_of(const py::array& column, const char* name) {
  const char kind = column.dtype().kind();
  if (kind != 'i' && kind != 'u' && kind != 'f')
    throw py::value_error(fmt::format("{}: times of dtype {}; expected numbers", name,
                                      py::str(column.dtype()).cast<std::string>()));
  const py::array_t<double, py::array::forcecast> values(column);
  const auto view = values.unchecked<1>();
  std::vector<double> out(static_cast<size_t>(view.shape(0)));
  for (py::ssize_t i = 0; i < view.shape(0); ++i) out[static_cast<size_t>(i)] = view(i);
  return out;
}

// Columns converted while the GIL is held, then read by the library without it.
struct Columns {
  std::vector<std::string> sessions, items;
  std::vector<double> times;

  Columns(const py::array& s, const py::array& i, const py::array& t)
      : sessions(id_texts(s, "session ids")),
        items(id_texts(i, "item ids")),
        times(times_of(t, "times")) {
    if (items.size() != sessions.size() || times.size() != sessions.size())
      throw py::value_error("the session, item and time columns differ in length");
  }
  EventColumns view(const char* source) const {
    EventColumns c;
    c.size = sessions.size();
    c.session = [this](size_t i) { return std::string_view(sessions[i]); };
    c.item = [this](size_t i) { return std::string_view(items[i]); };
    c.times = times;
    c.source_name = source;
    return c;
  }
};

py::dict metrics_dict(const EvalResult& result, const ReadReport& report) {
  py::dict out;
  for (size_t k = 0; k < result.cutoffs.size(); ++k) {
    const int n = result.cutoffs[k];
    out[py::str(fmt::format("recall@{}", n))] = result.recall[k];
    out[py::str(fmt::format("mrr@{}", n))] = result.mrr[k];
    out[py::str(fmt::format("ndcg@{}", n))] = result.ndcg[k];
    if (!result.coverage.empty()) {
      out[py::str(fmt::format("coverage@{}", n))] = result.coverage[k];
      out[py::str(fmt::format("popularity_bias@{}", n))] = result.popularity_bias[k];
    }
  }
  out["predictions"] = result.predictions;
  out["sessions"] = result.sessions;
  out["events"] = result.events;
  out["dropped_unknown_item_events"] = report.dropped_unknown_items;
  return out;
}

EvalOptions eval_options(const std::vector<int>& cutoffs, const std::string& mode) {
  EvalOptions options;
  options.cutoffs = cutoffs;
  options.mode = parse_tie_mode(mode);
  return options;
}

// Reads the test columns against `items` and runs `evaluate(test)` (an EvalResult), both
// without the GIL; the metrics as a dict.
template <typename Evaluate>
py::dict evaluate_columns(const py::array& s, const py::array& i, const py::array& t,
                          const ItemIndex& items, Evaluate&& evaluate) {
  const Columns columns(s, i, t);
  EvalResult result;
  ReadReport report;
  {
    py::gil_scoped_release release;
    const SessionLog test = test_log_from_columns(columns.view("test data"), items, &report);
    result = evaluate(test);
  }
  return metrics_dict(result, report);
}

// The training supports as scores (the most popular items first), for sessions without a
// known event.
void fill_with_supports(std::span<const int64_t> supports, std::vector<float>& scores) {
  for (size_t j = 0; j < scores.size(); ++j) scores[j] = static_cast<float>(supports[j]);
}

// The k best of `scores`, excluded items never (scores is modified). Needs no GIL.
std::vector<ScoredItem> best_items(const ItemIndex& items, std::vector<float>& scores, size_t k,
                                   const std::vector<std::string>& exclude) {
  for (const std::string& id : exclude) {
    const int32_t item = items.find(id);
    if (item >= 0) scores[static_cast<size_t>(item)] = std::nanf("");
  }
  std::vector<ScoredItem> top(std::min(k, scores.size()));
  top.resize(top_k(scores, top.size(), top));
  return top;
}

// best_items() as (ids, scores) arrays.
py::tuple top_items(const ItemIndex& items, std::vector<float>& scores, size_t k,
                    const std::vector<std::string>& exclude) {
  if (k < 1) throw py::value_error("k must be at least 1");
  std::vector<ScoredItem> top;
  {
    py::gil_scoped_release release;
    top = best_items(items, scores, k, exclude);
  }
  py::list ids;
  py::array_t<float> values(static_cast<py::ssize_t>(top.size()));
  auto view = values.mutable_unchecked<1>();
  for (size_t r = 0; r < top.size(); ++r) {
    ids.append(items.id(top[r].item));
    view(static_cast<py::ssize_t>(r)) = top[r].score;
  }
  return py::make_tuple(py::array(ids), values);
}

// One live session of a model: its GRU state, advanced event by event.
class PySession {
 public:
  explicit PySession(std::shared_ptr<const Model> model)
      : model_(std::move(model)),
        predictor_(*model_),
        scratch_(predictor_.make_scratch(1)),
        state_(static_cast<size_t>(predictor_.state_size()), 0.0f) {}

  // Advances the state by `item`; false (state unchanged) for an item the model does not know.
  // Needs no GIL (bound with the GIL released).
  bool add(const std::string& item) {
    const int32_t index = model_->items.find(item);
    if (index < 0) return false;
    predictor_.advance(state_, index, scratch_);
    ++events_;
    window_.add(index);
    return true;
  }

  // Scores of every item for the session so far: the model's (with its repeat head's bonuses),
  // or the training supports (the most popular items) before any known event. Needs no GIL.
  std::vector<float> scores() const {
    std::vector<float> out(static_cast<size_t>(model_->num_items()));
    if (events_ > 0)
      predictor_.score_session(state_, window_.items(), out, scratch_);
    else
      fill_with_supports(model_->supports, out);
    return out;
  }

  py::tuple recommend(size_t k, const std::vector<std::string>& exclude) const {
    std::vector<float> s;
    {
      py::gil_scoped_release release;
      s = scores();
    }
    return top_items(model_->items, s, k, exclude);
  }

  int events() const { return events_; }

 private:
  std::shared_ptr<const Model> model_;
  Predictor predictor_;
  mutable Predictor::Scratch scratch_;
  std::vector<float> state_;
  int events_ = 0;
  RepeatWindow window_{predictor_.repeat_window()};  // the repeat head's last events
};

// A baseline (pop, spop, itemknn, vsknn, sr, stan, vstan) fitted on columns, evaluated like a
// model.
class PyBaseline {
 public:
  PyBaseline(const std::string& algorithm, const std::string& params, const py::array& s,
             const py::array& i, const py::array& t) {
    const Columns columns(s, i, t);
    py::gil_scoped_release release;
    const SessionLog log = training_log_from_columns(columns.view("training data"), items_);
    supports_ = item_supports(log, items_.size());
    baseline_ = fit_baseline(algorithm, params, log, items_);
  }

  py::dict evaluate(const py::array& s, const py::array& i, const py::array& t,
                    const std::vector<int>& cutoffs, const std::string& mode) const {
    const EvalOptions options = eval_options(cutoffs, mode);
    return evaluate_columns(s, i, t, items_, [&](const SessionLog& test) {
      return evaluate_scorer([&] { return baseline_->make_scorer(); }, supports_, test, options);
    });
  }

  py::tuple recommend(const std::vector<std::string>& session, size_t k,
                      const std::vector<std::string>& exclude) const {
    std::vector<float> scores(static_cast<size_t>(items_.size()));
    {
      py::gil_scoped_release release;
      const auto scorer = baseline_->make_scorer();
      scorer->start_session();
      bool any = false;
      for (const std::string& id : session) {
        const int32_t item = items_.find(id);
        if (item < 0) continue;
        scorer->add_event(item);
        any = true;
      }
      if (any)
        scorer->score(scores);
      else
        fill_with_supports(supports_, scores);
    }
    return top_items(items_, scores, k, exclude);
  }

  std::string description() const { return baseline_->description(); }

 private:
  ItemIndex items_;
  std::vector<int64_t> supports_;
  std::unique_ptr<Baseline> baseline_;
};

// gru4rec prepare into `output_dir`: a named preset, or the generic layout given as a dict of
// GenericLayout's fields. Returns what stats.json holds (JSON text).
// gru4rec split: the last sessions of a training file into a validation file; the counts as a
// dict.
py::dict split_file(const std::string& input, const std::string& train_out,
                    const std::string& valid_out, double valid_share) {
  HoldoutSplit split;
  ItemIndex items;
  {
    py::gil_scoped_release release;
    const SessionLog log = read_training_log(input, ReadOptions{}, items);
    split = split_last_sessions(log, valid_share);
    write_session_log(train_out, split.train, items);
    write_session_log(valid_out, split.valid, items);
  }
  py::dict out;
  out["train_events"] = split.train.num_events();
  out["train_sessions"] = split.train.num_sessions();
  out["valid_events"] = split.valid.num_events();
  out["valid_sessions"] = split.valid.num_sessions();
  out["dropped_events"] = split.dropped_events;
  out["dropped_sessions"] = split.dropped_sessions;
  return out;
}

std::string prepare(const std::vector<std::string>& inputs, const std::string& output_dir,
                    const std::string& preset_name, bool skip_bad_lines, const py::dict& layout) {
  GenericLayout g;
  for (const auto& [key, value] : layout) {
    const std::string name = py::str(key).cast<std::string>();
    if (name == "format")
      g.format = value.cast<std::string>();
    else if (name == "separator")
      g.separator = value.cast<std::string>();
    else if (name == "header")
      g.header = value.cast<bool>();
    else if (name == "session_column")
      g.session_column = value.cast<std::string>();
    else if (name == "user_column")
      g.user_column = value.cast<std::string>();
    else if (name == "item_column")
      g.item_column = value.cast<std::string>();
    else if (name == "time_column")
      g.time_column = value.cast<std::string>();
    else if (name == "type_column")
      g.type_column = value.cast<std::string>();
    else if (name == "events_array")
      g.events_array = value.cast<std::string>();
    else if (name == "keep_types")
      g.keep_types = value.cast<std::vector<std::string>>();
    else if (name == "time_format")
      g.time_format = value.cast<std::string>();
    else if (name == "gap_minutes")
      g.gap_minutes = value.cast<double>();
    else if (name == "dedupe")
      g.dedupe = value.cast<bool>();
    else if (name == "min_session_length")
      g.min_session_length = value.cast<int>();
    else if (name == "min_item_support")
      g.min_item_support = value.cast<int>();
    else if (name == "test_days")
      g.test_days = value.cast<double>();
    else if (name == "split_time")
      g.split_time = value.cast<double>();
    else if (name == "split_by")
      g.split_by = value.cast<std::string>();
    else
      throw py::value_error(fmt::format(
          "prepare: unknown option '{}'; expected format, separator, header, session_column, "
          "user_column, item_column, time_column, type_column, events_array, keep_types, "
          "time_format, gap_minutes, dedupe, min_session_length, min_item_support, test_days, "
          "split_time, split_by",
          name));
  }
  if (!preset_name.empty() && !layout.empty())
    throw py::value_error("prepare: give a preset or the columns of a generic layout, not both");
  const Preset preset = preset_name.empty() ? generic_preset(g) : find_preset(preset_name);
  py::gil_scoped_release release;
  return prepare_folder(inputs, preset, output_dir, skip_bad_lines).stats_json;
}

// Sessions of item ids as a SessionLog of `items`' indices, unknown ids skipped. Needs no GIL.
SessionLog sessions_log_of(const ItemIndex& items,
                           const std::vector<std::vector<std::string>>& sessions) {
  SessionLog log;
  for (const std::vector<std::string>& session : sessions) {
    for (const std::string& id : session) {
      const int32_t item = items.find(id);
      if (item >= 0) log.items.push_back(item);
    }
    log.offsets.push_back(static_cast<int64_t>(log.items.size()));
  }
  return log;
}

class PyModel {
 public:
  explicit PyModel(Model model) : model_(std::make_shared<const Model>(std::move(model))) {}

  // Trains a model. `progress` (a callable or None) gets a dict about every 0.2 s and at the end
  // of each epoch. Ctrl-C (SIGINT) stops the training with KeyboardInterrupt, as does an
  // exception raised by `progress`; nothing is written.
  // `valid`: None, or (sessions, items, times) evaluated every `every` epochs with `options`
  // (cut-offs, mode); `patience` > 0 stops after that many validations without a better
  // `stop_metric` and keeps the best epoch. Returns (model, validation history: a list of
  // {"epoch", "metrics", "best"} dicts).
  // `init`: None, or a fitted model to continue (warm_start: its parameters are the defaults
  // that `param_string` overrides, its items keep their rows, new items are added, and its
  // optimizer state carries on when it holds one; its GRU layers' weights are multiplied by
  // `init_shrink` first). `replay`: None, or (sessions, items, times) of older events, a
  // uniform sample of whose sessions (`replay_share` times the training data's) is trained on
  // first (with_replayed_sessions; only with `init`).
  static py::tuple fit(const std::string& param_string, const py::array& s, const py::array& i,
                       const py::array& t, const py::object& progress, const py::object& valid,
                       const std::vector<int>& cutoffs, const std::string& mode,
                       const std::string& stop_metric, int patience, int every,
                       const py::object& init, double init_shrink, const py::object& replay,
                       double replay_share) {
    std::shared_ptr<const Model> parent;
    if (!init.is_none()) parent = init.cast<const PyModel&>().model_;
    Params params = parent ? parent->params : Params{};
    apply_param_string(params, param_string);
    validate_params(params);
    if (parent) {
      check_same_shape(parent->params, params);
      check_init_shrink(init_shrink);
    }
    const Columns columns(s, i, t);
    std::optional<Columns> valid_columns;
    if (!valid.is_none()) {
      const auto arrays = valid.cast<std::tuple<py::array, py::array, py::array>>();
      valid_columns.emplace(std::get<0>(arrays), std::get<1>(arrays), std::get<2>(arrays));
    }
    std::optional<Columns> replay_columns;
    if (!replay.is_none()) {
      if (!parent) throw Error("replay needs init (a model to continue)");
      const auto arrays = replay.cast<std::tuple<py::array, py::array, py::array>>();
      replay_columns.emplace(std::get<0>(arrays), std::get<1>(arrays), std::get<2>(arrays));
    }
    const ValidationOptions validation_options{.eval = eval_options(cutoffs, mode),
                                               .stop_metric = stop_metric,
                                               .patience = patience,
                                               .every = every};
    if (valid_columns) parse_stop_metric(stop_metric, cutoffs);  // before the long part
    TrainCallbacks callbacks;
    callbacks.progress_interval_seconds = 0.2;
    // On the calling thread, between mini-batches: the GIL is taken for the signal check and
    // the callback; a Python exception thrown here stops every training thread.
    callbacks.on_progress = [&](const TrainProgress& p) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!progress.is_none()) {
        progress(py::dict("epoch"_a = p.epoch, "n_epochs"_a = p.n_epochs,
                          "events_done"_a = p.events_done, "events_total"_a = p.events_total,
                          "seconds"_a = p.seconds, "loss"_a = p.mean_loss, "epoch_end"_a = false));
      }
    };
    callbacks.on_epoch = [&](const EpochReport& e) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!progress.is_none()) {
        progress(py::dict("epoch"_a = e.epoch, "n_epochs"_a = params.n_epochs,
                          "events_done"_a = e.events, "events_total"_a = e.events,
                          "seconds"_a = e.seconds, "loss"_a = e.loss, "epoch_end"_a = true));
      }
    };
    std::optional<Model> model;
    std::vector<ValidationRecord> history;
    {
      py::gil_scoped_release release;
      ItemIndex items = parent ? parent->items : ItemIndex();
      SessionLog log = training_log_from_columns(columns.view("training data"), items);
      if (replay_columns) {
        ItemIndex older_items = items;
        const SessionLog older =
            training_log_from_columns(replay_columns->view("replay data"), older_items);
        log = with_replayed_sessions(log, items, older, older_items, replay_share, params.seed);
      }
      model.emplace(
          parent ? warm_start(*parent, params, std::move(items), log, "training data", init_shrink)
                 : Model::initialize(params, std::move(items), log, "training data"));
      if (valid_columns) {
        const SessionLog valid_log =
            test_log_from_columns(valid_columns->view("validation data"), model->items);
        Validation validation(valid_log, validation_options);
        train_with_validation(*model, log, validation, callbacks);
        history = validation.history();
      } else {
        train_model(*model, log, callbacks);
      }
    }
    py::list records;
    for (const ValidationRecord& r : history) {
      records.append(py::dict("epoch"_a = r.epoch, "metrics"_a = metrics_dict(r.result, {}),
                              "best"_a = r.best));
    }
    return py::make_tuple(PyModel(std::move(*model)), records);
  }

  static PyModel load(const std::string& path) {
    py::gil_scoped_release release;
    return PyModel(load_model(path));
  }

  void save(const std::string& path, bool with_optimizer_state) const {
    py::gil_scoped_release release;
    save_model(*model_, path, with_optimizer_state);
  }

  py::dict evaluate(const py::array& s, const py::array& i, const py::array& t,
                    const std::vector<int>& cutoffs, const std::string& mode) const {
    const EvalOptions options = eval_options(cutoffs, mode);
    return evaluate_columns(s, i, t, model_->items, [&](const SessionLog& test) {
      return gru4rec::evaluate(*model_, test, options);
    });
  }

  PySession session() const { return PySession(model_); }

  // The top-k items after the session `items` (ids; unknown ones skipped), best first.
  py::tuple recommend(const std::vector<std::string>& items, size_t k,
                      const std::vector<std::string>& exclude) const {
    PySession session(model_);
    {
      py::gil_scoped_release release;
      for (const std::string& id : items) session.add(id);
    }
    return session.recommend(k, exclude);
  }

  // recommend() for each session: (ids, scores), arrays of len(sessions) x k (None and NaN
  // where fewer than k items remain).
  py::tuple recommend_batch(const std::vector<std::vector<std::string>>& sessions, size_t k) const {
    if (k < 1) throw py::value_error("k must be at least 1");
    const size_t width = std::min(k, static_cast<size_t>(model_->num_items()));
    std::vector<std::vector<ScoredItem>> best;
    {
      py::gil_scoped_release release;
      // A session left empty by unknown items gets the popular items.
      best = recommend_sessions(*model_, sessions_log(sessions),
                                BatchRecommendOptions{.k = width, .threads = available_cores()});
    }
    const auto rows = static_cast<py::ssize_t>(sessions.size());
    py::array_t<float> scores({rows, static_cast<py::ssize_t>(width)});
    py::array ids(py::dtype("O"), {rows, static_cast<py::ssize_t>(width)});  // None
    auto score_view = scores.mutable_unchecked<2>();
    for (py::ssize_t r = 0; r < rows; ++r) {
      const std::vector<ScoredItem>& row = best[static_cast<size_t>(r)];
      for (py::ssize_t c = 0; c < static_cast<py::ssize_t>(width); ++c) {
        const bool filled = static_cast<size_t>(c) < row.size();
        score_view(r, c) = filled ? row[static_cast<size_t>(c)].score : std::nanf("");
        if (filled)
          ids.attr("__setitem__")(py::make_tuple(r, c),
                                  model_->items.id(row[static_cast<size_t>(c)].item));
      }
    }
    return py::make_tuple(ids, scores);
  }

  // The last GRU layer's state after each session (ids; unknown ones skipped), a sessions x
  // units array (zeros for a session without a known item).
  py::array_t<float> session_vectors(const std::vector<std::vector<std::string>>& sessions) const {
    MatrixR<float> vectors;
    {
      py::gil_scoped_release release;
      vectors = gru4rec::session_vectors(*model_, sessions_log(sessions), available_cores());
    }
    py::array_t<float> out(
        {static_cast<py::ssize_t>(vectors.rows()), static_cast<py::ssize_t>(vectors.cols())});
    std::copy_n(vectors.data(), vectors.size(), out.mutable_data());
    return out;
  }

  std::vector<std::string> item_ids() const {
    std::vector<std::string> ids;
    for (int32_t i = 0; i < model_->num_items(); ++i) ids.push_back(model_->items.id(i));
    return ids;
  }

  // The output item vectors (Wy: one row per item, the vectors scores are products with), a
  // read-only view that keeps the model alive.
  py::array item_vectors() const {
    const MatrixR<float>& wy = model_->weights.Wy;
    auto owner = std::make_unique<std::shared_ptr<const Model>>(model_);
    py::capsule base(owner.release(),
                     [](void* p) { delete static_cast<std::shared_ptr<const Model>*>(p); });
    py::array out(py::dtype::of<float>(), {wy.rows(), wy.cols()},
                  {static_cast<py::ssize_t>(wy.cols() * sizeof(float)),
                   static_cast<py::ssize_t>(sizeof(float))},
                  const_cast<float*>(wy.data()), base);
    py::detail::array_proxy(out.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return out;
  }

  py::dict params() const {
    py::dict out;
    for (const auto& [name, value] : format_params(model_->params)) out[py::str(name)] = value;
    return out;
  }

  int num_items() const { return model_->num_items(); }

 private:
  SessionLog sessions_log(const std::vector<std::vector<std::string>>& sessions) const {
    return sessions_log_of(model_->items, sessions);
  }

  std::shared_ptr<const Model> model_;
};

}  // namespace
}  // namespace gru4rec

PYBIND11_MODULE(_gru4rec, m) {
  using gru4rec::PyModel;
  m.doc() = "GRU4Rec (C++ engine): see the gru4rec package";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gru4rec::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const gru4rec::InternalError& e) {
      PyErr_SetString(
          PyExc_RuntimeError,
          fmt::format("internal error (a bug in gru4rec, please report it): {}", e.what()).c_str());
    }
  });
  m.def("check_params", [](const std::string& param_string) {
    gru4rec::Params params;
    gru4rec::apply_param_string(params, param_string);
    return gru4rec::validate_params(params);
  });
  m.def("param_names", [] {
    std::vector<std::string> names;
    for (const auto& def : gru4rec::param_table()) names.push_back(std::string(def.name));
    return names;
  });
  py::class_<PyModel>(m, "Model")
      .def_static("fit", &PyModel::fit)
      .def_static("load", &PyModel::load)
      .def("save", &PyModel::save)
      .def("evaluate", &PyModel::evaluate)
      .def("recommend", &PyModel::recommend)
      .def("recommend_batch", &PyModel::recommend_batch)
      .def("session_vectors", &PyModel::session_vectors)
      .def("session", &PyModel::session)
      .def("item_ids", &PyModel::item_ids)
      .def("item_vectors", &PyModel::item_vectors)
      .def("params", &PyModel::params)
      .def_property_readonly("num_items", &PyModel::num_items);
  py::class_<gru4rec::PySession>(m, "Session")
      .def("add", &gru4rec::PySession::add, py::call_guard<py::gil_scoped_release>())
      .def("recommend", &gru4rec::PySession::recommend)
      .def_property_readonly("events", &gru4rec::PySession::events);
  py::class_<gru4rec::PyBaseline>(m, "Baseline")
      .def(py::init<const std::string&, const std::string&, const py::array&, const py::array&,
                    const py::array&>())
      .def("evaluate", &gru4rec::PyBaseline::evaluate)
      .def("recommend", &gru4rec::PyBaseline::recommend)
      .def("description", &gru4rec::PyBaseline::description);
  m.def("baseline_names", [] { return gru4rec::baseline_names(); });
  m.def("prepare", &gru4rec::prepare);
  m.def("split", &gru4rec::split_file);
  m.def("preset_names", [] {
    std::vector<std::string> names;
    for (const gru4rec::Preset& p : gru4rec::presets()) names.push_back(p.name);
    return names;
  });
}
