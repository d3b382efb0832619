#include "gru4rec/model/model.h"

#include <algorithm>

#include "gru4rec/core/error.h"

namespace gru4rec {

Model Model::initialize(const Params& params, ItemIndex items, const SessionLog& train,
                        const std::string& source) {
  if (items.size() < 2) {
    throw Error(
        fmt::format("{}: the training data has {} distinct item(s); GRU4Rec needs at "
                    "least 2",
                    source, items.size()));
  }
  const int64_t transitions = count_transitions(train);
  if (transitions == 0) {
    throw Error(
        fmt::format("{}: no session has 2 or more events, so there is nothing to "
                    "learn from (each session must contain a next item)",
                    source));
  }
  validate_params(params);
  if (params.n_sample == 0) {
    int64_t trainable = 0;
    for (int64_t s = 0; s < train.num_sessions() && trainable < 2; ++s) {
      trainable += train.session_length(s) >= 2 ? 1 : 0;
    }
    if (trainable < 2) {
      throw Error(
          fmt::format("{}: with n_sample=0 the negatives are the other sessions of a "
                      "mini-batch, so at least 2 sessions need 2 or more events; found {}",
                      source, trainable));
    }
  }
  Model model;
  model.params = params;
  model.supports = item_supports(train, items.size());
  model.items = std::move(items);
  model.weights = initialize_network<float>(NetworkShape::from_params(params, model.num_items()),
                                            params, static_cast<uint64_t>(params.seed));
  model.stats.events = train.num_events();
  model.stats.sessions = train.num_sessions();
  model.stats.transitions = transitions;
  if (!train.times.empty()) {
    auto [lo, hi] = std::minmax_element(train.times.begin(), train.times.end());
    model.stats.time_min = *lo;
    model.stats.time_max = *hi;
  }
  return model;
}

}  // namespace gru4rec
