#include "gru4rec/data/replay.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/random.h"

namespace gru4rec {
namespace {

constexpr uint64_t kReplaySeedStream = 0x7265706c6179;  // "replay"

void append_session(SessionLog& into, const SessionLog& from, int64_t session) {
  const auto begin = static_cast<size_t>(from.offsets[static_cast<size_t>(session)]);
  const auto end = static_cast<size_t>(from.offsets[static_cast<size_t>(session) + 1]);
  into.items.insert(into.items.end(), from.items.begin() + static_cast<std::ptrdiff_t>(begin),
                    from.items.begin() + static_cast<std::ptrdiff_t>(end));
  into.times.insert(into.times.end(), from.times.begin() + static_cast<std::ptrdiff_t>(begin),
                    from.times.begin() + static_cast<std::ptrdiff_t>(end));
  into.offsets.push_back(static_cast<int64_t>(into.items.size()));
  into.session_ids.push_back(from.session_ids[static_cast<size_t>(session)]);
}

}  // namespace

SessionLog with_replayed_sessions(const SessionLog& recent, const SessionLog& older, double share,
                                  uint64_t model_seed) {
  if (!std::isfinite(share) || share < 0)
    throw Error("replay share must be a number >= 0, got " + std::to_string(share));
  std::unordered_set<std::string_view> recent_ids(recent.session_ids.begin(),
                                                  recent.session_ids.end());
  std::vector<int64_t> candidates;
  for (int64_t s = 0; s < older.num_sessions(); ++s) {
    if (!recent_ids.contains(older.session_ids[static_cast<size_t>(s)])) candidates.push_back(s);
  }
  // Capped before the conversion, so that a huge share cannot overflow it.
  const auto wanted = static_cast<size_t>(std::llround(std::min(
      share * static_cast<double>(recent.num_sessions()), static_cast<double>(candidates.size()))));
  Rng rng(Rng::derive_seed(model_seed, kReplaySeedStream));
  for (size_t i = 0; i < wanted; ++i) {  // a partial Fisher-Yates shuffle
    const auto left = static_cast<uint32_t>(std::min<size_t>(candidates.size() - i, UINT32_MAX));
    std::swap(candidates[i], candidates[i + rng.below(left)]);
  }
  candidates.resize(wanted);
  std::sort(candidates.begin(), candidates.end());  // the older log's order

  SessionLog merged;
  for (int64_t s : candidates) append_session(merged, older, s);
  for (int64_t s = 0; s < recent.num_sessions(); ++s) append_session(merged, recent, s);
  return merged;
}

SessionLog with_replayed_sessions(const SessionLog& recent, ItemIndex& items,
                                  const SessionLog& older, const ItemIndex& older_items,
                                  double share, uint64_t model_seed) {
  GRU4REC_CHECK(older_items.size() >= items.size());
  SessionLog merged = with_replayed_sessions(recent, older, share, model_seed);
  const int32_t known = items.size();
  // Each event is remapped once; recent's items are all below `known`.
  for (int32_t& item : merged.items) {
    if (item >= known) item = items.insert(older_items.id(item));
  }
  return merged;
}

}  // namespace gru4rec
