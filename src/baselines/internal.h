// Internals of the baselines: parameter strings, the popularity fallback, each algorithm's fit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/data/item_index.h"

namespace gru4rec::baseline_detail {

// Numeric parameters of one algorithm: name -> (value, lowest allowed, highest allowed).
struct NumericParam {
  double value;
  double low, high;
  bool integer;
};
using NumericParams = std::map<std::string, NumericParam, std::less<>>;

// Sets the parameters named in `text`; throws Error naming the algorithm for an unknown name, a
// malformed pair or a value that is not a number in range.
void parse_params(std::string_view algorithm, std::string_view text, NumericParams& params);

std::string format_params(const NumericParams& params);

// support / (2 (max support + 1)) per item: below 1/2 even after rounding, ordered as the
// supports (the score of items a method does not score; scored items get 1 + score).
std::vector<float> popularity_fallback(const std::vector<int64_t>& supports);

// The training sessions as the session-kNN methods (vsknn, stan, vstan) look them up.
struct SessionIndex {
  // Training sessions' distinct items: session s has items[starts[s] .. starts[s+1]).
  std::vector<int64_t> starts{0};
  std::vector<int32_t> items;
  std::vector<int64_t> recency;  // per session: its place in time order (larger = more recent)
  // Per item: its sample_size most recent sessions, most recent first.
  std::vector<int64_t> item_starts{0};
  std::vector<int32_t> item_sessions;
};

// Throws (an invariant, naming `algorithm`) beyond 2^31 sessions.
SessionIndex build_session_index(std::string_view algorithm, const SessionLog& train,
                                 int32_t num_items, size_t sample_size);

std::unique_ptr<Baseline> fit_pop(std::string_view params, const SessionLog& train,
                                  int32_t num_items);
std::unique_ptr<Baseline> fit_spop(std::string_view params, const SessionLog& train,
                                   int32_t num_items);
std::unique_ptr<Baseline> fit_item_knn(std::string_view params, const SessionLog& train,
                                       int32_t num_items);
std::unique_ptr<Baseline> fit_session_knn(std::string_view params, const SessionLog& train,
                                          int32_t num_items);
std::unique_ptr<Baseline> fit_sequential_rules(std::string_view params, const SessionLog& train,
                                               int32_t num_items);
std::unique_ptr<Baseline> fit_stan(std::string_view params, const SessionLog& train,
                                   int32_t num_items);
std::unique_ptr<Baseline> fit_vstan(std::string_view params, const SessionLog& train,
                                    int32_t num_items);

// model=PATH (required).
std::unique_ptr<Baseline> fit_hybrid(std::string_view params, const ItemIndex& items);

}  // namespace gru4rec::baseline_detail
