#include "gru4rec/serve/baseline_recommender.h"

#include <array>
#include <atomic>
#include <limits>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/keyed_hash.h"
#include "gru4rec/data/session_reader.h"

namespace gru4rec {
namespace {

std::atomic<uint64_t> next_instance{1};

// A checksum of what the baseline recommends from: its description and its training data.
uint64_t content_checksum(const std::string& description, const ItemIndex& items,
                          const SessionLog& log) {
  std::string bytes = description;
  for (int32_t i = 0; i < items.size(); ++i) {
    bytes += '\n';
    bytes += items.id(i);
  }
  const auto append = [&](const auto& values) {
    bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(values[0]));
  };
  append(log.items);
  append(log.offsets);
  return siphash24(SipKey{0x6772753472656331ull, 0x626173656c696e65ull}, bytes);
}

}  // namespace

struct BaselineRecommender::Scratch {
  uint64_t owner = 0;  // instance_ of the baseline these buffers are for
  std::unique_ptr<NextItemScorer> scorer;
  std::vector<float> scores, candidates;  // candidates: NaN but for included items
};

BaselineRecommender::BaselineRecommender(std::string_view algorithm, std::string_view params,
                                         const std::string& train_path, uint64_t version,
                                         ItemIndex& registry)
    : version_(version), instance_(next_instance++) {
  const SessionLog train = read_training_log(train_path, ReadOptions{}, items_);
  if (train.num_events() == 0) throw Error(fmt::format("{}: no training events", train_path));
  baseline_ = fit_baseline(algorithm, params, train, items_);
  catalog_ = std::make_unique<Catalog>(items_, item_supports(train, items_.size()), registry);
  content_id_ = content_checksum(baseline_->description(), items_, train);
}

BaselineRecommender::~BaselineRecommender() = default;

BaselineRecommender::Scratch& BaselineRecommender::scratch() const {
  // A thread may serve a few baselines (variants, and the old one during a reload): one set of
  // buffers each, the least recently made one replaced.
  constexpr size_t kPerThread = 4;
  thread_local std::array<Scratch, kPerThread> local;
  thread_local size_t next = 0;
  for (Scratch& s : local) {
    if (s.owner == instance_) return s;
  }
  Scratch& s = local[next++ % kPerThread];
  s.owner = instance_;
  s.scorer = baseline_->make_scorer();
  s.scores.assign(static_cast<size_t>(items_.size()), 0.0f);
  s.candidates.assign(static_cast<size_t>(items_.size()), std::numeric_limits<float>::quiet_NaN());
  return s;
}

size_t BaselineRecommender::recommend(std::span<const float>,
                                      std::span<const int32_t> session_items,
                                      const RecommendOptions& options,
                                      std::span<ScoredItem> out) const {
  GRU4REC_CHECK(out.size() >= options.k);
  check_item_indices(num_items(), options, session_items);
  if (session_items.empty()) return popular(options, out);
  Scratch& s = scratch();
  s.scorer->start_session();
  for (int32_t item : session_items) s.scorer->add_event(item);
  s.scorer->score(s.scores);
  constexpr float kExcluded = std::numeric_limits<float>::quiet_NaN();  // never selected
  for (int32_t item : options.exclude) s.scores[static_cast<size_t>(item)] = kExcluded;
  if (options.include.empty()) return top_k(s.scores, options.k, out);
  for (int32_t item : options.include)
    s.candidates[static_cast<size_t>(item)] = s.scores[static_cast<size_t>(item)];
  const size_t n = top_k(s.candidates, options.k, out);
  for (int32_t item : options.include) s.candidates[static_cast<size_t>(item)] = kExcluded;
  return n;
}

}  // namespace gru4rec
