#include "gru4rec/prepare/prepare.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"

namespace gru4rec {
namespace {

struct Event {
  int64_t time;
  int32_t session;  // key index while sorting, then the session number
  int32_t item;
  int32_t order;  // position in the input: ties in time keep the input order
  uint8_t kept_type;
};

// Orders events by (session, time, item id), then input order, as the reference sorts before
// removing consecutive repeats; `item_rank` orders the item ids (numerically when both are
// unsigned integers, else as text).
struct BySessionTime {
  const std::vector<int32_t>* item_rank;
  bool operator()(const Event& a, const Event& b) const {
    if (a.session != b.session) return a.session < b.session;
    if (a.time != b.time) return a.time < b.time;
    const int32_t ra = (*item_rank)[static_cast<size_t>(a.item)];
    const int32_t rb = (*item_rank)[static_cast<size_t>(b.item)];
    if (ra != rb) return ra < rb;
    return a.order < b.order;
  }
};

std::vector<int32_t> rank_item_ids(const ItemIndex& items) {
  const auto is_number = [](const std::string& id) {
    return !id.empty() &&
           std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto id_less = [&](int32_t a, int32_t b) {
    const std::string& x = items.id(a);
    const std::string& y = items.id(b);
    if (is_number(x) && is_number(y)) {
      const auto strip = [](const std::string& t) {
        const size_t nz = t.find_first_not_of('0');
        return std::string_view(t).substr(nz == std::string::npos ? t.size() - 1 : nz);
      };
      const std::string_view u = strip(x), v = strip(y);
      if (u.size() != v.size()) return u.size() < v.size();
      if (u != v) return u < v;
    }
    return x < y;
  };
  std::vector<int32_t> order(static_cast<size_t>(items.size()));
  for (int32_t i = 0; i < items.size(); ++i) order[static_cast<size_t>(i)] = i;
  std::sort(order.begin(), order.end(), id_less);
  std::vector<int32_t> rank(order.size());
  for (size_t r = 0; r < order.size(); ++r)
    rank[static_cast<size_t>(order[r])] = static_cast<int32_t>(r);
  return rank;
}

struct Sessions {
  std::vector<Event> events;  // grouped by session (increasing), time-ordered within
  std::vector<std::string> ids;
};

int64_t count_sessions(const std::vector<Event>& events) {
  int64_t n = 0;
  for (size_t i = 0; i < events.size(); ++i)
    n += i == 0 || events[i].session != events[i - 1].session ? 1 : 0;
  return n;
}

// Calls f(begin, end) for each session's range of `events`.
template <typename F>
void for_each_session(const std::vector<Event>& events, F f) {
  size_t begin = 0;
  for (size_t i = 1; i <= events.size(); ++i) {
    if (i == events.size() || events[i].session != events[begin].session) {
      f(begin, i);
      begin = i;
    }
  }
}

std::vector<Event> drop_short_sessions(const std::vector<Event>& events, int min_length) {
  std::vector<Event> kept;
  kept.reserve(events.size());
  for_each_session(events, [&](size_t b, size_t e) {
    if (static_cast<int64_t>(e - b) >= min_length)
      kept.insert(kept.end(), events.begin() + static_cast<ptrdiff_t>(b),
                  events.begin() + static_cast<ptrdiff_t>(e));
  });
  return kept;
}

std::vector<Event> drop_rare_items(const std::vector<Event>& events, int min_support,
                                   size_t num_items) {
  std::vector<int64_t> support(num_items, 0);
  for (const Event& e : events) ++support[static_cast<size_t>(e.item)];
  std::vector<Event> kept;
  kept.reserve(events.size());
  for (const Event& e : events)
    if (support[static_cast<size_t>(e.item)] >= min_support) kept.push_back(e);
  return kept;
}

PreparedLog to_log(const std::vector<Event>& events, const std::vector<std::string>& ids) {
  PreparedLog log;
  for_each_session(events, [&](size_t b, size_t e) {
    log.session_ids.push_back(ids[static_cast<size_t>(events[b].session)]);
    for (size_t i = b; i < e; ++i) {
      log.items.push_back(events[i].item);
      log.times.push_back(events[i].time);
    }
    log.offsets.push_back(static_cast<int64_t>(log.items.size()));
  });
  return log;
}

// Train / test by session start: test = sessions starting at or after `boundary`; train =
// every event before it, sessions of length 1 removed.
void split_by_start(const std::vector<Event>& events, int64_t boundary, std::vector<Event>& train,
                    std::vector<Event>& test) {
  std::vector<Event> before;
  for_each_session(events, [&](size_t b, size_t e) {
    if (events[b].time >= boundary) {
      test.insert(test.end(), events.begin() + static_cast<ptrdiff_t>(b),
                  events.begin() + static_cast<ptrdiff_t>(e));
      return;
    }
    for (size_t i = b; i < e; ++i)
      if (events[i].time < boundary) before.push_back(events[i]);
  });
  train = drop_short_sessions(before, 2);
}

// Train / test by session end (RSC15): sessions ending before `boundary` are train; the others
// are test, restricted to train items, sessions of length >= 2.
void split_by_end(const std::vector<Event>& events, int64_t boundary, size_t num_items,
                  std::vector<Event>& train, std::vector<Event>& test) {
  std::vector<Event> rest;
  for_each_session(events, [&](size_t b, size_t e) {
    auto& into = events[e - 1].time < boundary ? train : rest;
    into.insert(into.end(), events.begin() + static_cast<ptrdiff_t>(b),
                events.begin() + static_cast<ptrdiff_t>(e));
  });
  std::vector<uint8_t> known(num_items, 0);
  for (const Event& e : train) known[static_cast<size_t>(e.item)] = 1;
  std::vector<Event> known_only;
  for (const Event& e : rest)
    if (known[static_cast<size_t>(e.item)] != 0) known_only.push_back(e);
  test = drop_short_sessions(known_only, 2);
}

int64_t max_time(const std::vector<Event>& events) {
  int64_t t = std::numeric_limits<int64_t>::min();
  for (const Event& e : events) t = std::max(t, e.time);
  return t;
}

}  // namespace

PreparedData prepare_events(const EventTable& table, const PrepareOptions& o) {
  PreparedData data;
  if (table.events() == 0) throw Error("the input has no event (only a header, or empty lines?)");
  const auto record = [&](const std::string& step, const std::vector<Event>& events) {
    data.steps.push_back(
        PreparedData::Step{step, static_cast<int64_t>(events.size()), count_sessions(events)});
    if (events.empty()) throw Error(fmt::format("{}: no event left", step));
  };
  std::vector<Event> events;
  events.reserve(static_cast<size_t>(table.events()));
  const bool filter_types =
      std::find(table.kept_type.begin(), table.kept_type.end(), 0) != table.kept_type.end();
  for (int64_t i = 0; i < table.events(); ++i) {
    const auto at = static_cast<size_t>(i);
    if (filter_types && !o.filter_types_after_cut && table.kept_type[at] == 0) continue;
    events.push_back(Event{table.time[at], table.key[at], table.item[at], static_cast<int32_t>(i),
                           table.kept_type[at]});
  }
  const std::vector<int32_t> item_rank = rank_item_ids(table.items);
  const BySessionTime by_session_time{&item_rank};
  std::sort(events.begin(), events.end(), by_session_time);
  record(filter_types && !o.filter_types_after_cut ? "after the event-type filter" : "read",
         events);
  if (o.offset_from_session_day) {
    // The time of an event is its session's first day (the minimum date) plus its offset.
    for_each_session(events, [&](size_t b, size_t e) {
      int64_t day = std::numeric_limits<int64_t>::max();
      for (size_t i = b; i < e; ++i) day = std::min(day, events[i].time);
      for (size_t i = b; i < e; ++i)
        events[i].time = day + table.offset[static_cast<size_t>(events[i].order)];
      std::sort(events.begin() + static_cast<ptrdiff_t>(b),
                events.begin() + static_cast<ptrdiff_t>(e), by_session_time);
    });
  }
  // Sessions: numbered in order; cut at inactivity gaps when asked.
  Sessions s;
  {
    int32_t key = -1, number_in_key = 0;
    int64_t last = 0;
    for (Event& e : events) {
      const bool new_key = e.session != key;
      if (new_key || (o.cut_at_gaps && e.time - last > o.gap_ms)) {
        number_in_key = new_key ? 1 : number_in_key + 1;
        key = e.session;
        const std::string& id = table.keys.id(key);
        s.ids.push_back(o.cut_at_gaps ? fmt::format("{}_{}", id, number_in_key) : id);
      }
      last = e.time;
      e.session = static_cast<int32_t>(s.ids.size() - 1);
    }
    s.events = std::move(events);
  }
  if (o.cut_at_gaps)
    record(fmt::format("after cutting sessions at gaps over {} s", o.gap_ms / 1000), s.events);
  if (filter_types && o.filter_types_after_cut) {
    std::erase_if(s.events, [](const Event& e) { return e.kept_type == 0; });
    record("after the event-type filter", s.events);
  }
  if (o.dedupe) {
    std::vector<Event> kept;
    kept.reserve(s.events.size());
    for (const Event& e : s.events) {
      if (!kept.empty() && kept.back().session == e.session && kept.back().item == e.item) continue;
      kept.push_back(e);
    }
    s.events = std::move(kept);
    record("after removing consecutive repeats", s.events);
  }
  const size_t n_items = static_cast<size_t>(table.items.size());
  if (o.iterate_filters) {
    for (int round = 1;; ++round) {
      const size_t before = s.events.size();
      s.events = drop_short_sessions(s.events, o.min_session_length);
      record(fmt::format("after the session-length filter (>= {}), round {}", o.min_session_length,
                         round),
             s.events);
      s.events = drop_rare_items(s.events, o.min_item_support, n_items);
      record(
          fmt::format("after the item-support filter (>= {}), round {}", o.min_item_support, round),
          s.events);
      if (s.events.size() == before) break;
    }
  } else {
    s.events = drop_short_sessions(s.events, 2);
    record("after removing sessions of length 1", s.events);
    s.events = drop_rare_items(s.events, o.min_item_support, n_items);
    record(fmt::format("after the item-support filter (>= {})", o.min_item_support), s.events);
    s.events = drop_short_sessions(s.events, o.min_session_length);
    record(fmt::format("after the session-length filter (>= {})", o.min_session_length), s.events);
  }
  std::vector<Event> train, test, train_tr, train_valid;
  if (o.split == PrepareOptions::Split::kBySessionStart) {
    const int64_t split = o.split_time_ms.value_or(max_time(s.events));
    split_by_start(s.events, split - o.test_span_ms, train, test);
    std::vector<Event> unused;
    split_by_start(train, split - 2 * o.test_span_ms, train_tr, unused);
    // Validation: the train_full events of the sessions starting in the span before the test.
    for_each_session(train, [&](size_t b, size_t e) {
      if (train[b].time >= split - 2 * o.test_span_ms)
        train_valid.insert(train_valid.end(), train.begin() + static_cast<ptrdiff_t>(b),
                           train.begin() + static_cast<ptrdiff_t>(e));
    });
  } else {
    split_by_end(s.events, max_time(s.events) - o.test_span_ms, n_items, train, test);
    if (!train.empty())
      split_by_end(train, max_time(train) - o.test_span_ms, n_items, train_tr, train_valid);
  }
  const std::string where = o.split == PrepareOptions::Split::kBySessionStart
                                ? "sessions starting in the test span"
                                : "sessions ending in the test span";
  record(fmt::format("train_full (before the {})", where), train);
  record(fmt::format("test ({})", where), test);
  data.steps.push_back(PreparedData::Step{"train_tr", static_cast<int64_t>(train_tr.size()),
                                          count_sessions(train_tr)});
  data.steps.push_back(PreparedData::Step{"train_valid", static_cast<int64_t>(train_valid.size()),
                                          count_sessions(train_valid)});
  data.train_full = to_log(train, s.ids);
  data.test = to_log(test, s.ids);
  data.train_tr = to_log(train_tr, s.ids);
  data.train_valid = to_log(train_valid, s.ids);
  return data;
}

void write_log(std::ostream& out, const PreparedLog& log, const EventTable& table,
               bool time_in_seconds) {
  std::string text = "SessionId\tItemId\tTime\n";
  for (size_t s = 0; s < log.session_ids.size(); ++s) {
    for (int64_t i = log.offsets[s]; i < log.offsets[s + 1]; ++i) {
      const auto at = static_cast<size_t>(i);
      const int64_t ms = log.times[at];
      text += log.session_ids[s];
      text += '\t';
      text += table.items.id(log.items[at]);
      text += '\t';
      if (!time_in_seconds)
        text += fmt::format("{}", ms);
      else if (ms % 1000 == 0)
        text += fmt::format("{}", ms / 1000);
      else
        text += fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0);
      text += '\n';
    }
    if (text.size() > (1u << 20)) {  // written in pieces: the output is never held whole
      out << text;
      text.clear();
    }
  }
  out << text;
}

}  // namespace gru4rec
