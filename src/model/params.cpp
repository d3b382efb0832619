#include "gru4rec/model/params.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"

namespace gru4rec {
namespace {

constexpr std::string_view kLossNames[] = {"cross-entropy", "bpr-max", "top1-max", "top1", "bpr"};

struct Bounds {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_open = false;
  bool high_open = false;

  bool contains(double v) const {
    return (low_open ? v > low : v >= low) && (high_open ? v < high : v <= high);
  }
  std::string text() const {
    const bool has_low = low != -std::numeric_limits<double>::infinity();
    const bool has_high = high != std::numeric_limits<double>::infinity();
    if (has_low && has_high) {
      return fmt::format("{}{}, {}{}", low_open ? "(" : "[", format_double(low),
                         format_double(high), high_open ? ")" : "]");
    }
    if (has_low) return fmt::format("{} {}", low_open ? ">" : ">=", format_double(low));
    if (has_high) return fmt::format("{} {}", high_open ? "<" : "<=", format_double(high));
    return "any";
  }
  // "in [0, 1)" or ">= 0", to follow "a number" in messages.
  std::string phrase() const {
    const std::string range = text();
    return range.front() == '[' || range.front() == '(' ? "in " + range : range;
  }
};

Bounds at_least(double low) {
  return Bounds{.low = low};
}
Bounds above(double low) {
  return Bounds{.low = low, .low_open = true};
}
Bounds closed(double low, double high) {
  return Bounds{.low = low, .high = high};
}
Bounds half_open(double low, double high) {
  return Bounds{.low = low, .high = high, .high_open = true};
}

ParamDef make_def(std::string name, ParamKind kind, std::string type_text, std::string range_text,
                  std::string help) {
  ParamDef def;
  def.name = std::move(name);
  def.kind = kind;
  def.type_text = std::move(type_text);
  def.range_text = std::move(range_text);
  def.help = std::move(help);
  return def;
}

std::invalid_argument expected(std::string_view what) {
  return std::invalid_argument(fmt::format("expected {}", what));
}

template <typename Int>
ParamDef int_param(std::string name, Int Params::*field, Bounds bounds, std::string help) {
  ParamDef def = make_def(std::move(name), ParamKind::kInt, "int", bounds.text(), std::move(help));
  def.parse = [field, bounds](Params& p, std::string_view text) {
    auto value = parse_int(text);
    if (!value || !bounds.contains(static_cast<double>(*value)) ||
        *value > std::numeric_limits<Int>::max() || *value < std::numeric_limits<Int>::min()) {
      throw expected(fmt::format("an integer {}", bounds.phrase()));
    }
    p.*field = static_cast<Int>(*value);
  };
  def.format = [field](const Params& p) { return std::to_string(p.*field); };
  return def;
}

ParamDef float_param(std::string name, double Params::*field, Bounds bounds, std::string help) {
  ParamDef def =
      make_def(std::move(name), ParamKind::kFloat, "float", bounds.text(), std::move(help));
  def.parse = [field, bounds](Params& p, std::string_view text) {
    auto value = parse_double(text);
    if (!value || !bounds.contains(*value)) {
      throw expected(fmt::format("a number {}", bounds.phrase()));
    }
    p.*field = *value;
  };
  def.format = [field](const Params& p) { return format_double(p.*field); };
  return def;
}

ParamDef bool_param(std::string name, bool Params::*field, std::string help) {
  ParamDef def = make_def(std::move(name), ParamKind::kBool, "bool", "True|False", std::move(help));
  def.parse = [field](Params& p, std::string_view text) {
    auto value = parse_bool(text);
    if (!value) throw expected("True or False");
    p.*field = *value;
  };
  def.format = [field](const Params& p) { return std::string(p.*field ? "True" : "False"); };
  return def;
}

std::vector<ParamDef> build_table() {
  std::vector<ParamDef> table;
  {
    ParamDef def =
        make_def("loss", ParamKind::kString, "choice", "cross-entropy|bpr-max|top1-max|top1|bpr",
                 "ranking loss; use cross-entropy (with logq=1) or bpr-max, the others "
                 "are legacy");
    def.parse = [](Params& p, std::string_view text) {
      text = trim(text);
      for (size_t i = 0; i < std::size(kLossNames); ++i) {
        if (text == kLossNames[i]) {
          p.loss = static_cast<LossKind>(i);
          return;
        }
      }
      throw expected("one of cross-entropy, bpr-max, top1-max, top1, bpr");
    };
    def.format = [](const Params& p) { return std::string(loss_name(p.loss)); };
    table.push_back(std::move(def));
  }
  {
    ParamDef def =
        make_def("final_act", ParamKind::kString, "activation",
                 "softmax|linear|relu|tanh|leaky-X|elu-X|selu-L-A",
                 "activation of the scores before the loss (Theano name); empty: softmax "
                 "for cross-entropy, elu-<elu_param> for bpr-max, linear for the legacy losses");
    def.parse = [](Params& p, std::string_view text) {
      text = trim(text);
      if (!text.empty()) Activation::parse(text);
      p.final_act = std::string(text);
    };
    def.format = [](const Params& p) { return p.final_act; };
    table.push_back(std::move(def));
  }
  table.push_back(float_param("elu_param", &Params::elu_param, at_least(0),
                              "alpha of the ELU applied to the scores before bpr-max; 0 means "
                              "linear"));
  {
    ParamDef def = make_def("hidden_act", ParamKind::kString, "activation",
                            "tanh|relu|linear|leaky-X|elu-X|selu-L-A",
                            "activation of the GRU candidate state; keep tanh");
    def.parse = [](Params& p, std::string_view text) {
      Activation act = Activation::parse(text);
      if (act.kind == Activation::Kind::kSoftmax) throw expected("an element-wise activation");
      p.hidden_act = act;
    };
    def.format = [](const Params& p) { return p.hidden_act.to_string(); };
    table.push_back(std::move(def));
  }
  {
    ParamDef def =
        make_def("layers", ParamKind::kIntList, "int list", "each in [1, 16384], '/'-separated",
                 "sizes of the GRU layers, e.g. 100 or 200/200");
    def.parse = [](Params& p, std::string_view text) {
      std::vector<int> layers;
      for (auto part : split(trim(text), '/')) {
        auto value = parse_int(part);
        if (!value || *value < 1 || *value > 16384) {
          throw expected("'/'-separated layer sizes, each an integer in [1, 16384]");
        }
        layers.push_back(static_cast<int>(*value));
      }
      p.layers = std::move(layers);
    };
    def.format = [](const Params& p) {
      std::vector<std::string> parts;
      for (int size : p.layers) parts.push_back(std::to_string(size));
      return join(parts, "/");
    };
    table.push_back(std::move(def));
  }
  table.push_back(int_param("n_epochs", &Params::n_epochs, closed(1, 100000), "number of epochs"));
  table.push_back(int_param("batch_size", &Params::batch_size, closed(1, 1 << 20),
                            "sessions processed in parallel; also sets the in-batch negatives"));
  table.push_back(float_param("dropout_p_embed", &Params::dropout_p_embed, half_open(0, 1),
                              "dropout probability on the input embedding"));
  table.push_back(float_param("dropout_p_hidden", &Params::dropout_p_hidden, half_open(0, 1),
                              "dropout probability on the output of every GRU layer"));
  table.push_back(
      float_param("learning_rate", &Params::learning_rate, above(0), "Adagrad learning rate"));
  table.push_back(float_param("momentum", &Params::momentum, half_open(0, 1),
                              "momentum on top of the Adagrad step (0: off)"));
  {
    ParamDef def =
        make_def("embedding", ParamKind::kString, "int|layersize", "0, >= 1 or layersize",
                 "size of a separate input embedding (0: none, layersize: layers[0]); "
                 "ignored when constrained_embedding=True");
    def.parse = [](Params& p, std::string_view text) {
      text = trim(text);
      if (text == "layersize") {
        p.embedding = Params::kEmbeddingLayersize;
        return;
      }
      auto value = parse_int(text);
      if (!value || *value < 0 || *value > 16384) {
        throw expected("0, an integer in [1, 16384] or layersize");
      }
      p.embedding = static_cast<int>(*value);
    };
    def.format = [](const Params& p) {
      return p.embedding == Params::kEmbeddingLayersize ? std::string("layersize")
                                                        : std::to_string(p.embedding);
    };
    table.push_back(std::move(def));
  }
  table.push_back(bool_param("constrained_embedding", &Params::constrained_embedding,
                             "share the output weights as input embedding (best setting)"));
  table.push_back(int_param("n_sample", &Params::n_sample, closed(0, 1 << 24),
                            "extra negatives shared by the mini-batch (0: in-batch only)"));
  table.push_back(float_param("sample_alpha", &Params::sample_alpha, closed(0, 1),
                              "negatives are drawn with probability support^alpha (1: "
                              "popularity, 0: uniform)"));
  table.push_back(float_param("bpreg", &Params::bpreg, at_least(0),
                              "weight of the score regularization of bpr-max"));
  table.push_back(float_param("logq", &Params::logq, closed(0, 1),
                              "weight of the logQ correction of the scores in training (use 1 "
                              "with cross-entropy)"));
  table.push_back(float_param("smoothing", &Params::smoothing, half_open(0, 1),
                              "label smoothing of cross-entropy"));
  table.push_back(float_param("lmbd", &Params::lmbd, at_least(0),
                              "L2 regularization of the GRU weights (keep 0, use dropout)"));
  table.push_back(float_param("grad_cap", &Params::grad_cap, at_least(0),
                              "clip the global gradient norm to this value (0: off)"));
  table.push_back(float_param("sigma", &Params::sigma, at_least(0),
                              "initialization width (0: sqrt(6/(fan_in+fan_out)) per block)"));
  table.push_back(bool_param("init_as_normal", &Params::init_as_normal,
                             "initialize from a normal instead of a uniform distribution"));
  table.push_back(bool_param("time_sort", &Params::time_sort,
                             "train sessions in order of their first event (recommended)"));
  table.push_back(bool_param("train_random_order", &Params::train_random_order,
                             "shuffle the session order every epoch (not recommended)"));
  table.push_back(int_param("sample_store_size", &Params::sample_store_size, closed(0, 1e10),
                            "number of precomputed negative sample ids (-ss)"));
  table.push_back(int_param("seed", &Params::seed, closed(0, 9.2e18),
                            "seed of initialization, sampling and dropout"));
  table.push_back(int_param("threads", &Params::threads, closed(1, 256),
                            "training threads (default: every core); with parallel=sync the "
                            "model is the same on any number of threads (see step_shares)"));
  // Defaults from the cores show as "every core", not this machine's count, so that the help
  // (and the reference generated from it) reads the same on every machine.
  table.back().default_text = "every core";
  {
    ParamDef def = make_def("parallel", ParamKind::kString, "choice", "sync|hogwild",
                            "how several threads train: sync splits every mini-batch into "
                            "step_shares shares that they share out (the same model on any number "
                            "of threads); hogwild gives each its own mini-batches and lock-free "
                            "updates (faster, may lose accuracy)");
    def.parse = [](Params& p, std::string_view text) {
      text = trim(text);
      for (ParallelMode mode : {ParallelMode::kSync, ParallelMode::kHogwild}) {
        if (text == parallel_mode_name(mode)) {
          p.parallel = mode;
          return;
        }
      }
      throw expected("sync or hogwild");
    };
    def.format = [](const Params& p) { return std::string(parallel_mode_name(p.parallel)); };
    table.push_back(std::move(def));
  }
  table.push_back(int_param("step_shares", &Params::step_shares, closed(1, 256),
                            "parallel=sync: the shares every mini-batch is split into (default: "
                            "every core; at most batch_size), run by min(threads, step_shares) "
                            "threads; it decides the model with the seed (1: the unsplit step)"));
  table.back().default_text = "every core";
  table.push_back(int_param("parallel_warmup", &Params::parallel_warmup, closed(0, 1 << 24),
                            "parallel=hogwild: mini-batches trained one at a time per further "
                            "thread before the threads run at once (0: none)"));
  table.push_back(int_param("average_epochs", &Params::average_epochs, closed(1, 100000),
                            "the trained weights are the mean of those after each of the last "
                            "N epochs (at most n_epochs; 1: the last epoch's)"));
  table.push_back(int_param("repeat_window", &Params::repeat_window, closed(0, 256),
                            "repeat head: the items of the session's last N events get a learned "
                            "bonus (recency, count and session state; fitted after the GRU), for "
                            "data where sessions come back to their items (0: off, the official "
                            "model)"));
  table.push_back(int_param("repeat_events", &Params::repeat_events, closed(1, 1e9),
                            "repeat head: the most recent predictions it is fitted on"));
  table.push_back(float_param("repeat_holdout", &Params::repeat_holdout, closed(0.01, 0.5),
                              "repeat head: the last share of the training sessions that it is "
                              "fitted on and the GRU does not train on"));
  const Params defaults;
  for (ParamDef& def : table) {
    if (def.default_text.empty()) def.default_text = def.format(defaults);
  }
  return table;
}

}  // namespace

std::string_view loss_name(LossKind loss) {
  return kLossNames[static_cast<size_t>(loss)];
}

std::string_view parallel_mode_name(ParallelMode mode) {
  return mode == ParallelMode::kSync ? "sync" : "hogwild";
}

const std::vector<ParamDef>& param_table() {
  static const std::vector<ParamDef> table = build_table();
  return table;
}

const ParamDef* find_param(std::string_view name) {
  for (const ParamDef& def : param_table()) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

void set_param(Params& params, std::string_view name, std::string_view value,
               std::string_view where) {
  const std::string prefix = where.empty() ? std::string() : fmt::format("{}: ", where);
  const ParamDef* def = find_param(trim(name));
  if (def == nullptr) {
    std::vector<std::string> names;
    for (const ParamDef& d : param_table()) names.push_back(d.name);
    throw Error(fmt::format("{}unknown parameter '{}'; known parameters: {}", prefix, trim(name),
                            join(names, ", ")));
  }
  try {
    def->parse(params, value);
  } catch (const std::invalid_argument& e) {
    throw Error(fmt::format("{}invalid value {} for {}: {}", prefix, quote_for_message(trim(value)),
                            def->name, e.what()));
  }
}

EmbeddingMode embedding_mode(const Params& params) {
  if (params.constrained_embedding) return EmbeddingMode::kShared;
  if (params.embedding != 0) return EmbeddingMode::kSeparate;
  return EmbeddingMode::kOneHot;
}

int embedding_size(const Params& params) {
  switch (embedding_mode(params)) {
    case EmbeddingMode::kShared: return params.layers.back();
    case EmbeddingMode::kSeparate:
      return params.embedding == Params::kEmbeddingLayersize ? params.layers.front()
                                                             : params.embedding;
    case EmbeddingMode::kOneHot: return 0;
  }
  return 0;
}

Activation final_activation(const Params& params) {
  if (!params.final_act.empty()) return Activation::parse(params.final_act);
  if (params.loss == LossKind::kCrossEntropy) return Activation{Activation::Kind::kSoftmax};
  // elu_param is the PyTorch/TensorFlow versions' setting, which only have bpr-max besides
  // cross-entropy; the legacy losses keep the Theano version's default, linear.
  if (params.loss == LossKind::kBprMax && params.elu_param > 0) {
    return Activation{Activation::Kind::kElu, params.elu_param};
  }
  return Activation{};
}

std::vector<std::string> validate_params(const Params& params) {
  std::vector<std::string> notes;
  const Activation final_act = final_activation(params);
  const bool softmax = final_act.kind == Activation::Kind::kSoftmax;
  if (params.loss == LossKind::kCrossEntropy && !softmax) {
    throw Error(fmt::format("final_act={} does not fit loss=cross-entropy, which needs softmax",
                            params.final_act));
  }
  if (params.loss != LossKind::kCrossEntropy && softmax) {
    throw Error(fmt::format("final_act=softmax needs loss=cross-entropy (loss is {})",
                            loss_name(params.loss)));
  }
  if (params.n_sample == 0 && params.batch_size < 2) {
    throw Error("batch_size=1 with n_sample=0 leaves no negative examples; raise one of them");
  }
  if (params.constrained_embedding && params.embedding != 0) {
    notes.push_back(
        "embedding is ignored because constrained_embedding=True (the output "
        "matrix is the input embedding)");
  }
  if (params.smoothing > 0 && params.loss != LossKind::kCrossEntropy) {
    notes.push_back("smoothing only applies to loss=cross-entropy");
  }
  if (!params.final_act.empty() && params.elu_param != 0.5) {
    notes.push_back("elu_param is ignored because final_act is set");
  }
  if (embedding_mode(params) == EmbeddingMode::kOneHot && params.dropout_p_embed > 0) {
    notes.push_back(
        "dropout_p_embed has no effect without an embedding (constrained_embedding="
        "False, embedding=0); dropout_p_hidden applies to every layer's output");
  }
  if (!params.time_sort && !params.train_random_order) {
    notes.push_back("time_sort=False: sessions are trained in file order");
  }
  return notes;
}

std::vector<std::pair<std::string, std::string>> format_params(const Params& params) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ParamDef& def : param_table()) out.emplace_back(def.name, def.format(params));
  return out;
}

}  // namespace gru4rec
