#include "gru4rec/data/holdout.h"

#include <fmt/format.h>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"

namespace gru4rec {
namespace {

void append_session(const SessionLog& from, int64_t s, SessionLog& to) {
  const auto first = static_cast<size_t>(from.offsets[static_cast<size_t>(s)]);
  const auto last = static_cast<size_t>(from.offsets[static_cast<size_t>(s) + 1]);
  to.items.insert(to.items.end(), from.items.begin() + static_cast<ptrdiff_t>(first),
                  from.items.begin() + static_cast<ptrdiff_t>(last));
  to.times.insert(to.times.end(), from.times.begin() + static_cast<ptrdiff_t>(first),
                  from.times.begin() + static_cast<ptrdiff_t>(last));
  to.offsets.push_back(static_cast<int64_t>(to.items.size()));
  if (!from.session_ids.empty()) to.session_ids.push_back(from.session_ids[static_cast<size_t>(s)]);
}

}  // namespace

HoldoutSplit split_last_sessions(const SessionLog& log, double valid_share,
                                 bool drop_unknown_items) {
  if (!(valid_share > 0 && valid_share < 1)) {
    throw Error(
        fmt::format("invalid validation share {}: expected a number in (0, 1)", valid_share));
  }
  const std::vector<int64_t> order = session_order_by_time(log);
  const auto wanted = static_cast<int64_t>(valid_share * static_cast<double>(log.num_events()));
  // The first session (in time order) of the validation part.
  size_t cut = order.size();
  int64_t valid_events = 0;
  while (cut > 0 && valid_events < wanted) {
    --cut;
    valid_events += log.session_length(order[cut]);
  }
  if (cut == 0 || cut == order.size()) {
    throw Error(fmt::format(
        "cannot split {} sessions into training and validation sessions with a validation share "
        "of {}: one part would be empty",
        order.size(), valid_share));
  }
  HoldoutSplit split;
  // Both parts keep the input's session order (file order) within them.
  std::vector<uint8_t> is_valid(order.size(), 0);
  for (size_t k = cut; k < order.size(); ++k) is_valid[static_cast<size_t>(order[k])] = 1;
  std::vector<uint8_t> known;
  for (int64_t s = 0; s < log.num_sessions(); ++s) {
    if (is_valid[static_cast<size_t>(s)] != 0) continue;
    append_session(log, s, split.train);
    for (const int32_t item : log.session_items(s)) {
      if (static_cast<size_t>(item) >= known.size()) known.resize(static_cast<size_t>(item) + 1, 0);
      known[static_cast<size_t>(item)] = 1;
    }
  }
  SessionLog kept;
  for (int64_t s = 0; s < log.num_sessions(); ++s) {
    if (is_valid[static_cast<size_t>(s)] == 0) continue;
    kept = SessionLog{};
    const int64_t first = log.offsets[static_cast<size_t>(s)];
    for (int64_t e = first; e < log.offsets[static_cast<size_t>(s) + 1]; ++e) {
      const int32_t item = log.items[static_cast<size_t>(e)];
      if (!drop_unknown_items ||
          (static_cast<size_t>(item) < known.size() && known[static_cast<size_t>(item)] != 0)) {
        kept.items.push_back(item);
        kept.times.push_back(log.times[static_cast<size_t>(e)]);
      } else {
        ++split.dropped_events;
      }
    }
    if (kept.items.size() < 2) {
      ++split.dropped_sessions;
      continue;
    }
    kept.offsets.push_back(static_cast<int64_t>(kept.items.size()));
    if (!log.session_ids.empty())
      kept.session_ids.push_back(log.session_ids[static_cast<size_t>(s)]);
    append_session(kept, 0, split.valid);
  }
  if (split.valid.num_sessions() == 0) {
    throw Error(
        fmt::format("no validation session is left with two events of items known to the "
                    "training part (validation share {})",
                    valid_share));
  }
  return split;
}

void write_session_log(const std::string& path, const SessionLog& log, const ItemIndex& items) {
  write_file_atomically(path, [&](std::ostream& out) {
    std::string text = "SessionId\tItemId\tTime\n";
    for (int64_t s = 0; s < log.num_sessions(); ++s) {
      const std::string id =
          log.session_ids.empty() ? std::to_string(s) : log.session_ids[static_cast<size_t>(s)];
      for (int64_t e = log.offsets[static_cast<size_t>(s)];
           e < log.offsets[static_cast<size_t>(s) + 1]; ++e) {
        fmt::format_to(std::back_inserter(text), "{}\t{}\t{}\n", id,
                       items.id(log.items[static_cast<size_t>(e)]),
                       log.times[static_cast<size_t>(e)]);
      }
      if (text.size() > (1 << 20)) {
        out << text;
        text.clear();
      }
    }
    out << text;
  });
}

}  // namespace gru4rec
