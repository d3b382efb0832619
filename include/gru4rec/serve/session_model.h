// What the server recommends with: a GRU4Rec model (Recommender) or a baseline
// (BaselineRecommender), so that both can serve as variants of an A/B test. A session's state is
// the model's running summary of its events (the GRU state; empty for baselines, which look at
// the session's items instead).
//
// Item indices are the model's own (0 .. num_items()-1); the server keeps sessions' items as
// indices of a process-wide registry of item ids, which only grows, so that sessions survive a
// reload to a model with another item dictionary (to_global / to_local translate).
//
// Implementations are immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gru4rec/core/error.h"
#include "gru4rec/model/top_k.h"

namespace gru4rec {

struct RecommendOptions {
  size_t k = 20;
  std::span<const int32_t> exclude;  // items never recommended
  std::span<const int32_t> include;  // when not empty, only these items are candidates
};

// Checks (GRU4REC_CHECK: a bug, not bad input) that every item index of `options` and
// `session_items` is one of 0 .. num_items-1. Unknown items (-1) are the caller's to drop; an
// index out of range would read or write outside the model's score buffers.
inline void check_item_indices(int32_t num_items, const RecommendOptions& options,
                               std::span<const int32_t> session_items = {}) {
  for (std::span<const int32_t> list : {options.exclude, options.include, session_items}) {
    for (const int32_t item : list)
      GRU4REC_CHECK(item >= 0 && item < num_items, "item index {} of {} items", item, num_items);
  }
}

class SessionModel {
 public:
  virtual ~SessionModel() = default;

  // Identifies the model in session states and metrics within this process (new on reload).
  virtual uint64_t version() const = 0;
  // Identifies the model across processes: the model file's content checksum, or for a
  // baseline a checksum of its algorithm, parameters and training data.
  virtual uint64_t content_id() const = 0;
  // "gru4rec", or the baseline's algorithm and parameters.
  virtual std::string description() const = 0;
  virtual int32_t num_items() const = 0;
  // Floats of a session's state (0 for a model that keeps none).
  virtual int state_size() const = 0;

  // The index of an item id, or -1 when the model does not know it.
  virtual int32_t find_item(std::string_view id) const = 0;
  virtual const std::string& item_id(int32_t item) const = 0;
  // Between this model's item indices and the registry's: -1 for a registry item this model
  // does not know.
  virtual int32_t to_global(int32_t item) const = 0;
  virtual int32_t to_local(int32_t global) const = 0;

  // Advances `state` (state_size() floats; zeros for a new session) by one event.
  virtual void advance(std::span<float> state, int32_t item) const = 0;
  // The top-k items for a session, best first, into `out` (size >= k); returns how many.
  // `state` is the session's state, `session_items` its known items, oldest first (a model
  // uses one or the other).
  virtual size_t recommend(std::span<const float> state, std::span<const int32_t> session_items,
                           const RecommendOptions& options, std::span<ScoredItem> out) const = 0;
  // The most popular training items, for sessions without a known event.
  virtual size_t popular(const RecommendOptions& options, std::span<ScoredItem> out) const = 0;
};

}  // namespace gru4rec
