// Recommendations for live sessions from one loaded model: advance a session's state by its
// events (one GRU step each) and pick the top-k items of its scores against every item.
//
// Scoring one session is a product of its state with the whole item matrix (17 MB for 43k
// items x 100 units), which streams the matrix for little arithmetic. So concurrent requests
// are scored together: a request that arrives while the cores are busy waits in a queue, and
// the next free thread scores the whole queue with one product (up to kMaxBatch sessions, by
// ItemScorer), reading the item matrix once for all of them. A request that finds a slot free
// scores at once at low load; under load (the previous request came within kLoadWaits waits)
// it first waits batch_wait for others. On a core shared with the event loop that wait is what lets
// the loop read the requests already in the sockets: without it, the first of them scores alone
// while the others cannot even be parsed, and most passes over the matrix serve one request.
//
// Thread-safe. Buffers: one scoring slot per core (kMaxBatch x items floats) and a small
// per-thread GRU scratch, allocated on first use, never per request.
//
// Large catalogs (RetrievalOptions, ann_index.h): in the approximate mode an AnnIndex is built
// at construction instead of the scorer and the slots, and a request is answered on its own
// thread: the index's candidates (k + excluded ones) are rescored exactly (the scores answered
// are the items' true scores) and sorted; an `include` list is scored exactly, item by item.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/model/batch_top_k.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/item_scorer.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/serve/ann_index.h"
#include "gru4rec/serve/catalog.h"
#include "gru4rec/serve/session_model.h"

namespace gru4rec {

class Recommender : public SessionModel {
 public:
  // `version` identifies the model in session states and metrics (it changes on reload).
  // `registry` collects the item ids of every model served by the process (it only grows);
  // sessions keep their items as registry indices, so that they survive a reload to a model
  // with another item dictionary. The constructor adds this model's ids to it; the caller
  // serializes constructions that share a registry.
  // `retrieval` picks exact or approximate top-k (kAuto resolved by the catalog's size); throws
  // Error on a bad option.
  // `batch_wait`: how long a request that finds the scorer idle under load waits for others to
  // score with (see kLoadWaits); zero: scored at once.
  Recommender(std::shared_ptr<const Model> model, uint64_t version, ItemIndex& registry,
              WeightPrecision precision = WeightPrecision::kFloat32,
              const RetrievalOptions& retrieval = {},
              std::chrono::microseconds batch_wait = std::chrono::microseconds(0));
  ~Recommender();

  const Model& model() const { return *model_; }
  uint64_t version() const override { return version_; }
  uint64_t content_id() const override { return model_->content_id; }
  std::string description() const override { return "gru4rec"; }
  int32_t num_items() const override { return model_->num_items(); }
  int state_size() const override { return predictor_.state_size(); }

  int32_t find_item(std::string_view id) const override { return catalog_.find(id); }
  const std::string& item_id(int32_t item) const override { return catalog_.id(item); }
  int32_t to_global(int32_t item) const override { return catalog_.to_global(item); }
  int32_t to_local(int32_t global) const override { return catalog_.to_local(global); }

  void advance(std::span<float> state, int32_t item) const override;

  // The top-k items for a session's state, best first, into `out` (size >= k); returns how many.
  // Without the session's items: the model's scores alone (no repeat bonuses).
  size_t recommend(std::span<const float> state, const RecommendOptions& options,
                   std::span<ScoredItem> out) const;
  // With the session's events (oldest first): a model with the repeat head raises the items of
  // the last repeat_window of them by their bonuses; the others ignore them.
  size_t recommend(std::span<const float> state, std::span<const int32_t> session_items,
                   const RecommendOptions& options, std::span<ScoredItem> out) const override;

  size_t popular(const RecommendOptions& options, std::span<ScoredItem> out) const override {
    return catalog_.popular(options, out);
  }

  static constexpr Eigen::Index kMaxBatch = BatchTopK::kMaxRows;
  // A request that finds the scorer idle waits batch_wait for others only when the previous
  // request came less than kLoadWaits waits before it (at that rate a wait is likely to gather
  // another): a lone request at low load is scored at once.
  static constexpr int kLoadWaits = 8;

  // Counters since construction: batches scored and the requests in them (their ratio is the
  // mean batch size).
  uint64_t batches_scored() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t requests_scored() const { return batched_requests_.load(std::memory_order_relaxed); }

  // The retrieval in use (never kAuto), its index (nullptr when exact), and a line saying so.
  RetrievalMode retrieval() const { return ann_ ? RetrievalMode::kAnn : RetrievalMode::kExact; }
  const AnnIndex* ann_index() const { return ann_.get(); }
  std::string retrieval_summary() const;

 private:
  struct Scratch;
  struct Job;
  struct Slot;
  Scratch& scratch() const;
  void score_batch(Slot& slot, std::span<Job* const> jobs) const;
  // With mutex_ held by `lock` (released while scoring): scores the oldest queued requests.
  void lead_batch(std::unique_lock<std::mutex>& lock) const;
  // With mutex_ held: hands a leader's slot to the oldest waiting request that has none.
  void pass_slot() const;
  // With mutex_ held: wakes the oldest waiting request that does not lead, to lead; false when
  // there is none.
  bool wake_a_leader() const;

  static uint64_t next_instance();
  // The approximate mode's answer, on the calling thread.
  size_t recommend_approximate(std::span<const float> state, const RecommendOptions& options,
                               std::span<ScoredItem> out) const;

  std::shared_ptr<const Model> model_;
  uint64_t version_;
  uint64_t instance_;  // unique in the process: keys the per-thread scratch
  Predictor predictor_;
  Catalog catalog_;
  std::optional<ItemScorer> scorer_;  // Wy and By packed for products with a few states
  std::unique_ptr<AnnIndex> ann_;     // instead of scorer_ in the approximate mode

  // The queue of requests waiting to be scored, and the scoring slots (one per core); a slot is
  // free, or held by a leading request (scoring, or woken to score the queue).
  mutable std::mutex mutex_;
  mutable std::vector<Job*> pending_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable int free_slots_ = 0;
  mutable int gathering_ = 0;  // leaders waiting batch_wait before they score
  const std::chrono::microseconds batch_wait_;
  mutable std::chrono::steady_clock::time_point last_arrival_;
  mutable std::atomic<uint64_t> batches_{0}, batched_requests_{0};
};

}  // namespace gru4rec
