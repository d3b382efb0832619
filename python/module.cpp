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

#include "gru4rec/core/error.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/model/params.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/train/trainer.h"

namespace py = pybind11;

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

class PyModel {
 public:
  explicit PyModel(Model model) : model_(std::make_shared<Model>(std::move(model))) {}

  static PyModel fit(const std::string& param_string, const py::array& s, const py::array& i,
                     const py::array& t) {
    Params params;
    apply_param_string(params, param_string);
    validate_params(params);
    const Columns columns(s, i, t);
    py::gil_scoped_release release;
    ItemIndex items;
    const SessionLog log = training_log_from_columns(columns.view("training data"), items);
    Model model = Model::initialize(params, std::move(items), log, "training data");
    train_model(model, log);
    return PyModel(std::move(model));
  }

  static PyModel load(const std::string& path) {
    py::gil_scoped_release release;
    return PyModel(load_model(path));
  }

  void save(const std::string& path) const {
    py::gil_scoped_release release;
    save_model(*model_, path);
  }

  py::dict evaluate(const py::array& s, const py::array& i, const py::array& t,
                    const std::vector<int>& cutoffs, const std::string& mode) const {
    EvalOptions options;
    options.cutoffs = cutoffs;
    options.mode = parse_tie_mode(mode);
    const Columns columns(s, i, t);
    EvalResult result;
    ReadReport report;
    {
      py::gil_scoped_release release;
      const SessionLog test =
          test_log_from_columns(columns.view("test data"), model_->items, &report);
      result = gru4rec::evaluate(*model_, test, options);
    }
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

  // The top-k items after the session `items` (ids; unknown ones skipped), best first.
  py::tuple recommend(const std::vector<std::string>& items, size_t k,
                      const std::vector<std::string>& exclude) const {
    if (k < 1) throw py::value_error("k must be at least 1");
    std::vector<ScoredItem> top(std::min<size_t>(k, static_cast<size_t>(model_->num_items())));
    size_t n = 0;
    {
      py::gil_scoped_release release;
      Predictor predictor(*model_);
      Predictor::Scratch scratch = predictor.make_scratch(1);
      std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
      bool any = false;
      for (const std::string& id : items) {
        const int32_t item = model_->items.find(id);
        if (item < 0) continue;
        predictor.advance(state, item, scratch);
        any = true;
      }
      std::vector<float> scores(static_cast<size_t>(model_->num_items()));
      if (any) {
        predictor.score(state, scores);
      } else {  // no known item: the most popular ones, scored by their support
        for (size_t j = 0; j < scores.size(); ++j)
          scores[j] = static_cast<float>(model_->supports[j]);
      }
      for (const std::string& id : exclude) {
        const int32_t item = model_->items.find(id);
        if (item >= 0) scores[static_cast<size_t>(item)] = std::nanf("");
      }
      n = top_k(scores, top.size(), top);
    }
    py::list ids;
    py::array_t<float> scores(static_cast<py::ssize_t>(n));
    auto view = scores.mutable_unchecked<1>();
    for (size_t r = 0; r < n; ++r) {
      ids.append(model_->items.id(top[r].item));
      view(static_cast<py::ssize_t>(r)) = top[r].score;
    }
    return py::make_tuple(py::array(ids), scores);
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
    auto owner = std::make_unique<std::shared_ptr<Model>>(model_);
    py::capsule base(owner.release(),
                     [](void* p) { delete static_cast<std::shared_ptr<Model>*>(p); });
    py::array out(py::dtype::of<float>(), {wy.rows(), wy.cols()},
                  {static_cast<py::ssize_t>(wy.cols() * sizeof(float)),
                   static_cast<py::ssize_t>(sizeof(float))},
                  wy.data(), base);
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
  std::shared_ptr<Model> model_;
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
      .def("item_ids", &PyModel::item_ids)
      .def("item_vectors", &PyModel::item_vectors)
      .def("params", &PyModel::params)
      .def_property_readonly("num_items", &PyModel::num_items);
}
