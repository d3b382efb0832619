// The session index of the session-kNN baselines (internal.h).
#include "gru4rec/core/error.h"
#include "internal.h"

namespace gru4rec::baseline_detail {

SessionIndex build_session_index(std::string_view algorithm, const SessionLog& train,
                                 int32_t num_items, size_t sample_size) {
  GRU4REC_CHECK(train.num_sessions() < (int64_t{1} << 31), "too many sessions for {}", algorithm);
  const auto n = static_cast<size_t>(num_items);
  SessionIndex index;
  std::vector<int64_t> last_seen(n, -1);
  for (int64_t s = 0; s < train.num_sessions(); ++s) {
    for (int32_t item : train.session_items(s)) {
      if (last_seen[static_cast<size_t>(item)] == s) continue;
      last_seen[static_cast<size_t>(item)] = s;
      index.items.push_back(item);
    }
    index.starts.push_back(static_cast<int64_t>(index.items.size()));
  }
  const std::vector<int64_t> order = session_order_by_time(train);
  index.recency.assign(order.size(), 0);
  for (size_t r = 0; r < order.size(); ++r)
    index.recency[static_cast<size_t>(order[r])] = static_cast<int64_t>(r);
  // Each item's sessions, most recent first, at most sample_size of them.
  std::vector<std::vector<int32_t>> sessions_of(n);
  for (auto r = order.rbegin(); r != order.rend(); ++r) {
    const auto s = static_cast<size_t>(*r);
    for (int64_t m = index.starts[s]; m < index.starts[s + 1]; ++m) {
      auto& list = sessions_of[static_cast<size_t>(index.items[static_cast<size_t>(m)])];
      if (list.size() < sample_size) list.push_back(static_cast<int32_t>(s));
    }
  }
  for (const auto& list : sessions_of) {
    index.item_sessions.insert(index.item_sessions.end(), list.begin(), list.end());
    index.item_starts.push_back(static_cast<int64_t>(index.item_sessions.size()));
  }
  return index;
}

}  // namespace gru4rec::baseline_detail
