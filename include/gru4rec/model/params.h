// Training parameters with the official GRU4Rec names and defaults (those of the official
// PyTorch/TensorFlow versions, which recommend the shared embedding), plus the options of the
// original Theano version (final_act, hidden_act, smoothing, lmbd, grad_cap, sigma,
// init_as_normal, time_sort, train_random_order).
//
// One table, param_table(), defines every parameter (name, type, default, valid range, help)
// and drives parsing, validation, --help, the echoed configuration and what a model stores.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/core/parallel.h"
#include "gru4rec/model/activation.h"

namespace gru4rec {

enum class LossKind { kCrossEntropy, kBprMax, kTop1Max, kTop1, kBpr };

std::string_view loss_name(LossKind loss);

// How several training threads share the work (see trainer.h).
enum class ParallelMode {
  kSync,     // every mini-batch split into step_shares shares run by the threads, one summed
             // update: the same weights on any number of threads
  kHogwild,  // each thread its own mini-batches and lock-free updates: faster, not the same
};

std::string_view parallel_mode_name(ParallelMode mode);

struct Params {
  LossKind loss = LossKind::kCrossEntropy;
  std::string final_act;  // empty: softmax for cross-entropy, else elu-<elu_param>
  double elu_param = 0.5;
  Activation hidden_act{Activation::Kind::kTanh};
  std::vector<int> layers{100};
  int n_epochs = 10;
  // The trained weights are the mean of those after each of the last average_epochs epochs
  // (at most n_epochs; 1: the last epoch's, as the official code). Not an official option.
  int average_epochs = 1;
  int batch_size = 64;
  double dropout_p_embed = 0;
  double dropout_p_hidden = 0;
  double learning_rate = 0.05;
  double momentum = 0;
  int embedding = 0;  // 0: none, >0: separate embedding size, kEmbeddingLayersize: layers[0]
  bool constrained_embedding = true;
  int n_sample = 2048;
  double sample_alpha = 0.5;
  double bpreg = 1.0;
  double logq = 0;
  double smoothing = 0;
  double lmbd = 0;
  double grad_cap = 0;
  double sigma = 0;
  bool init_as_normal = false;
  bool time_sort = true;
  bool train_random_order = false;
  int64_t sample_store_size = 10'000'000;
  int64_t seed = 42;
  // Training threads: every core by default. With parallel=sync the model depends on the seed
  // and step_shares, not on threads.
  int threads = available_cores();
  ParallelMode parallel = ParallelMode::kSync;
  // parallel=sync: the shares every mini-batch is split into (at most batch_size are used), run
  // by min(threads, step_shares) threads; 1: the unsplit step on one thread.
  int step_shares = available_cores();
  // parallel=hogwild: mini-batches trained one at a time, for each thread beyond the first,
  // before the threads train at once (see trainer.h); 0 starts them at once.
  int parallel_warmup = 100;
  // The repeat head (model/repeat_head.h; not an official option): the items of the session's
  // last repeat_window events get a learned bonus on top of their scores, fitted after the
  // GRU's training on the repeat_events most recent training predictions. 0: off, the official
  // model.
  int repeat_window = 0;
  int64_t repeat_events = 200'000;
  // The last share of the training sessions (by time) that the head is fitted on and the GRU
  // does not train on: on its own training data the GRU ranks the session's items far better
  // than on new sessions, and a head fitted there learns nothing.
  double repeat_holdout = 0.1;

  static constexpr int kEmbeddingLayersize = -1;
};

// How items enter the first GRU layer.
enum class EmbeddingMode {
  kShared,    // constrained_embedding: Wy is both the input embedding and the output matrix
  kSeparate,  // an input embedding E of its own (embedding=N or layersize)
  kOneHot,    // no embedding: the first layer's input weights have one row per item
};

EmbeddingMode embedding_mode(const Params& params);
int embedding_size(const Params& params);  // input size of layer 0 except in one-hot mode
// The activation applied to the scores before the loss (softmax for cross-entropy).
Activation final_activation(const Params& params);

enum class ParamKind { kInt, kFloat, kBool, kString, kIntList };

struct ParamDef {
  std::string name;
  ParamKind kind;
  std::string type_text;     // "int", "float", "bool", "choice", "int list", "activation", ...
  std::string default_text;  // the default as the help shows it ("every core" for core counts)
  std::string range_text;    // e.g. "[0, 1)", "cross-entropy|bpr-max|...", ">= 1"
  std::string help;
  // Sets the parameter from text; throws std::invalid_argument saying what is expected.
  std::function<void(Params&, std::string_view)> parse;
  std::function<std::string(const Params&)> format;
};

const std::vector<ParamDef>& param_table();
const ParamDef* find_param(std::string_view name);

// Sets one parameter by name. Throws Error for an unknown name or an invalid value; the
// message starts with `where` (e.g. "-ps" or "params.toml:3") when it is not empty.
void set_param(Params& params, std::string_view name, std::string_view value,
               std::string_view where = {});

// Checks the constraints between parameters (e.g. final_act against loss). Throws Error.
// Returns notes about settings that have no effect (e.g. embedding with the shared mode).
std::vector<std::string> validate_params(const Params& params);

// (name, value text) for every parameter, in table order.
std::vector<std::pair<std::string, std::string>> format_params(const Params& params);

}  // namespace gru4rec
