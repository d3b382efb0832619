#include "gru4rec/data/session_reader.h"

#include <tsl/robin_map.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <numeric>

#include "gru4rec/core/error.h"
#include "gru4rec/core/string_hash.h"
#include "gru4rec/core/text.h"
#include "gru4rec/data/line_input.h"

namespace gru4rec {
namespace {

// Text in memory as lines, split the way LineInput splits a file: without "\n" or "\r\n".
class TextLines {
 public:
  explicit TextLines(std::string_view text) : text_(text) {}

  bool next(std::string_view& line) {
    if (position_ >= text_.size()) return false;
    const void* hit = std::memchr(text_.data() + position_, '\n', text_.size() - position_);
    const size_t end = hit == nullptr
                           ? text_.size()
                           : static_cast<size_t>(static_cast<const char*>(hit) - text_.data());
    line = text_.substr(position_, end - position_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    position_ = end + 1;
    return true;
  }

 private:
  std::string_view text_;
  size_t position_ = 0;
};

std::string separator_name(char separator) {
  switch (separator) {
    case '\t': return "tab";
    case ',': return "comma";
    default: return fmt::format("'{}'", separator);
  }
}

// Splits one line into fields; returns the number of fields found (up to `max_fields`).
size_t split_fields(std::string_view line, char separator, std::string_view* fields,
                    size_t max_fields) {
  size_t count = 0;
  size_t start = 0;
  while (count < max_fields) {
    const void* hit = std::memchr(line.data() + start, separator, line.size() - start);
    size_t end = hit == nullptr ? line.size()
                                : static_cast<size_t>(static_cast<const char*>(hit) - line.data());
    std::string_view field = line.substr(start, end - start);
    // Tolerate the simple quoting of CSV writers: "value" without embedded separators.
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
      field = field.substr(1, field.size() - 2);
    }
    fields[count++] = field;
    if (hit == nullptr) break;
    start = end + 1;
  }
  return count;
}

struct Header {
  char separator = '\t';
  size_t session_column = 0, item_column = 0, time_column = 0;
  size_t fields_needed = 0;
};

Header parse_header(std::string_view line, std::string_view source, const ReadOptions& options) {
  Header header;
  if (options.separator != '\0') {
    header.separator = options.separator;
  } else if (line.find('\t') != std::string_view::npos) {
    header.separator = '\t';
  } else if (line.find(',') != std::string_view::npos) {
    header.separator = ',';
  } else {
    throw Error(fmt::format(
        "{}:1: header {} has no tab or comma; expected a tab- or comma-separated header with "
        "the columns {}, {}, {}",
        source, quote_for_message(line), options.columns.session, options.columns.item,
        options.columns.time));
  }
  std::vector<std::string_view> names = split(line, header.separator);
  for (auto& name : names) {
    name = trim(name);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
  }
  auto find_column = [&](const std::string& wanted, const char* option) {
    auto it = std::find(names.begin(), names.end(), wanted);
    if (it == names.end()) {
      std::vector<std::string> found(names.begin(), names.end());
      throw Error(
          fmt::format("{}:1: no column named '{}' in the {}-separated header (found: {}); name the "
                      "column with {} or check the separator",
                      source, wanted, separator_name(header.separator), join(found, ", "), option));
    }
    if (std::find(it + 1, names.end(), wanted) != names.end()) {
      throw Error(fmt::format("{}:1: column '{}' appears twice in the header", source, wanted));
    }
    return static_cast<size_t>(it - names.begin());
  };
  header.session_column = find_column(options.columns.session, "-sk/--session-key");
  header.item_column = find_column(options.columns.item, "-ik/--item-key");
  header.time_column = find_column(options.columns.time, "-tk/--time-key");
  if (header.session_column == header.item_column || header.session_column == header.time_column ||
      header.item_column == header.time_column) {
    throw Error(
        fmt::format("{}:1: the session, item and time keys ({}, {}, {}) must name three "
                    "different columns",
                    source, options.columns.session, options.columns.item, options.columns.time));
  }
  header.fields_needed =
      1 + std::max({header.session_column, header.item_column, header.time_column});
  return header;
}

// One parsed event before grouping: the session index (in order of first appearance), the
// item index (or ItemIndex::kUnknown) and the time.
struct RawEvents {
  std::vector<int32_t> session;
  std::vector<int32_t> item;
  std::vector<double> time;
  std::vector<std::string> session_ids;
  bool grouped_and_ordered = true;
};

// Collects events one by one: numbers the sessions in order of first appearance (copying each
// new id) and notes whether the events come grouped by session and in time order.
class EventCollector {
 public:
  // `where` names the event in messages (file:line, or the event's position).
  template <typename Where>
  void add(std::string_view session_id, int32_t item, double time, Where&& where) {
    if (session_ids_.size() >= static_cast<size_t>(INT32_MAX) ||
        events_.session.size() >= static_cast<size_t>(UINT32_MAX)) {
      throw Error(fmt::format(
          "{}: too many sessions or events (at most 2^31 sessions and 2^32 events per log)",
          where()));
    }
    int32_t session;
    if (const auto it = session_index_.find(session_id); it != session_index_.end()) {
      session = it->second;
      if (session != current_session_ || time < current_time_) events_.grouped_and_ordered = false;
    } else {
      session = static_cast<int32_t>(session_ids_.size());
      session_index_.emplace(session_ids_.emplace_back(session_id), session);
    }
    current_session_ = session;
    current_time_ = time;
    events_.session.push_back(session);
    events_.item.push_back(item);
    events_.time.push_back(time);
  }
  bool empty() const { return events_.session.empty(); }
  RawEvents finish() {
    session_index_.clear();
    events_.session_ids.reserve(session_ids_.size());
    for (std::string& id : session_ids_) events_.session_ids.push_back(std::move(id));
    return std::move(events_);
  }

 private:
  RawEvents events_;
  // The ids live in a deque, whose elements never move, so that the index can view them.
  std::deque<std::string> session_ids_;
  tsl::robin_map<std::string_view, int32_t, StringViewHash, StringViewEqual> session_index_;
  int32_t current_session_ = -1;
  double current_time_ = 0;
};

// Reads the events of `lines` (a LineInput or TextLines): the header, then one event per
// non-blank line. Lines are only valid until the next one is read, so session ids are copied.
template <typename Lines, typename ItemLookup>
RawEvents parse_events(Lines& lines, std::string_view source, const ReadOptions& options,
                       ItemLookup&& lookup_item, ReadReport& report) {
  std::string_view line;
  std::string header_line;
  bool has_header = lines.next(line);
  if (has_header) {
    header_line = line;
    // A UTF-8 byte order mark is not part of the first column's name.
    if (header_line.starts_with("\xEF\xBB\xBF")) header_line.erase(0, 3);
  }
  // A file of blank lines is empty too (its first line would not be a header either).
  bool blank = !has_header || trim(header_line).empty();
  while (has_header && blank && lines.next(line)) blank = trim(line).empty();
  if (blank) {
    throw Error(
        fmt::format("{}: the file is empty; expected a header line ({}, {}, {}) followed by events",
                    source, options.columns.session, options.columns.item, options.columns.time));
  }
  const Header header = parse_header(header_line, source, options);

  EventCollector events;
  std::vector<std::string_view> fields(header.fields_needed);
  const size_t max_fields = header.fields_needed;
  int64_t line_number = 1;
  while (lines.next(line)) {
    ++line_number;
    if (trim(line).empty()) continue;
    ++report.data_lines;
    size_t found = split_fields(line, header.separator, fields.data(), max_fields);
    if (found < header.fields_needed) {
      throw Error(fmt::format(
          "{}:{}: too few fields: found {}, expected at least {} {}-separated fields ({} is "
          "column {}, {} column {}, {} column {})",
          source, line_number, found, header.fields_needed, separator_name(header.separator),
          options.columns.session, header.session_column + 1, options.columns.item,
          header.item_column + 1, options.columns.time, header.time_column + 1));
    }
    std::string_view session_id = trim(fields[header.session_column]);
    std::string_view item_id = trim(fields[header.item_column]);
    std::string_view time_text = fields[header.time_column];
    if (session_id.empty()) {
      throw Error(
          fmt::format("{}:{}: empty {} value", source, line_number, options.columns.session));
    }
    if (item_id.empty()) {
      throw Error(fmt::format("{}:{}: empty {} value", source, line_number, options.columns.item));
    }
    for (const auto& [id, column] :
         {std::pair{session_id, &options.columns.session}, {item_id, &options.columns.item}}) {
      if (id.size() > kMaxIdBytes) {
        throw Error(
            fmt::format("{}:{}: the {} value has {} bytes; ids have at most {} (a quote "
                        "or a line break missing?)",
                        source, line_number, *column, id.size(), kMaxIdBytes));
      }
    }
    std::optional<double> time = parse_double(time_text);
    if (!time) {
      throw Error(
          fmt::format("{}:{}: {} value {} is not a number; expected an integer or "
                      "fractional timestamp",
                      source, line_number, options.columns.time, quote_for_message(time_text)));
    }
    events.add(session_id, lookup_item(item_id), *time,
               [&] { return fmt::format("{}:{}", source, line_number); });
  }
  if (events.empty()) {
    throw Error(fmt::format("{}: no events after the header line", source));
  }
  return events.finish();
}

SessionLog group_events(RawEvents&& events, ReadReport& report) {
  const size_t count = events.session.size();
  std::vector<uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  report.was_sorted = !events.grouped_and_ordered;
  if (!events.grouped_and_ordered) {
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      if (events.session[a] != events.session[b]) return events.session[a] < events.session[b];
      return events.time[a] < events.time[b];
    });
  }
  SessionLog log;
  log.items.reserve(count);
  log.times.reserve(count);
  log.offsets.reserve(events.session_ids.size() + 1);
  int32_t open_session = -1;
  for (uint32_t index : order) {
    const int32_t item = events.item[index];
    if (item == ItemIndex::kUnknown) {
      ++report.dropped_unknown_items;
      continue;
    }
    const int32_t session = events.session[index];
    if (session != open_session) {
      if (open_session >= 0) log.offsets.push_back(static_cast<int64_t>(log.items.size()));
      log.session_ids.push_back(std::move(events.session_ids[static_cast<size_t>(session)]));
      open_session = session;
    }
    log.items.push_back(item);
    log.times.push_back(events.time[index]);
  }
  if (open_session >= 0) log.offsets.push_back(static_cast<int64_t>(log.items.size()));
  report.events = log.num_events();
  report.dropped_sessions = static_cast<int64_t>(events.session_ids.size()) - log.num_sessions();
  return log;
}

// Parses and groups the events of `lines`; `lookup_item` maps an item id to its index.
template <typename Lines, typename ItemLookup>
SessionLog read_log(Lines& lines, std::string_view source, const ReadOptions& options,
                    ItemLookup&& lookup_item, ReadReport* report) {
  ReadReport local;
  ReadReport& out = report != nullptr ? *report : local;
  out = ReadReport{};
  RawEvents events = parse_events(lines, source, options, lookup_item, out);
  return group_events(std::move(events), out);
}

// The events of `columns`, checked as the file reader checks lines.
template <typename ItemLookup>
SessionLog log_from_columns(const EventColumns& columns, ItemLookup&& lookup_item,
                            ReadReport* report) {
  ReadReport local;
  ReadReport& out = report != nullptr ? *report : local;
  out = ReadReport{};
  const std::string_view source = columns.source_name;
  if (columns.size == 0) throw Error(fmt::format("{}: no events", source));
  GRU4REC_CHECK(columns.times.size() == columns.size);
  EventCollector events;
  for (size_t i = 0; i < columns.size; ++i) {
    const auto where = [&] { return fmt::format("{}: event {}", source, i + 1); };
    const std::string_view session_id = columns.session(i);
    if (session_id.empty()) throw Error(fmt::format("{}: empty session id", where()));
    // The session id is copied when new: the item id may reuse the accessor's buffer.
    const std::string session_copy(session_id);
    const std::string_view item_id = columns.item(i);
    if (item_id.empty()) throw Error(fmt::format("{}: empty item id", where()));
    if (session_id.size() > kMaxIdBytes || item_id.size() > kMaxIdBytes) {
      throw Error(fmt::format("{}: an id has {} bytes; ids have at most {}", where(),
                              std::max(session_id.size(), item_id.size()), kMaxIdBytes));
    }
    const double time = columns.times[i];
    if (!std::isfinite(time))
      throw Error(fmt::format("{}: the time is {}; expected a finite number", where(), time));
    ++out.data_lines;
    events.add(session_copy, lookup_item(item_id), time, where);
  }
  return group_events(events.finish(), out);
}

}  // namespace

SessionLog training_log_from_columns(const EventColumns& columns, ItemIndex& items,
                                     ReadReport* report) {
  return log_from_columns(
      columns, [&](std::string_view id) { return items.insert(id); }, report);
}

SessionLog test_log_from_columns(const EventColumns& columns, const ItemIndex& items,
                                 ReadReport* report) {
  return log_from_columns(
      columns, [&](std::string_view id) { return items.find(id); }, report);
}

SessionLog parse_training_log(std::string_view content, std::string_view source_name,
                              const ReadOptions& options, ItemIndex& items, ReadReport* report) {
  TextLines lines(content);
  return read_log(
      lines, source_name, options, [&](std::string_view id) { return items.insert(id); }, report);
}

SessionLog parse_test_log(std::string_view content, std::string_view source_name,
                          const ReadOptions& options, const ItemIndex& items, ReadReport* report) {
  TextLines lines(content);
  return read_log(
      lines, source_name, options, [&](std::string_view id) { return items.find(id); }, report);
}

SessionLog read_training_log(const std::string& path, const ReadOptions& options, ItemIndex& items,
                             ReadReport* report) {
  LineInput lines(path);
  return read_log(
      lines, lines.name(), options, [&](std::string_view id) { return items.insert(id); }, report);
}

SessionLog read_test_log(const std::string& path, const ReadOptions& options,
                         const ItemIndex& items, ReadReport* report) {
  LineInput lines(path);
  return read_log(
      lines, lines.name(), options, [&](std::string_view id) { return items.find(id); }, report);
}

std::vector<int64_t> session_order_by_time(const SessionLog& log) {
  std::vector<int64_t> order(static_cast<size_t>(log.num_sessions()));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return log.times[static_cast<size_t>(log.offsets[static_cast<size_t>(a)])] <
           log.times[static_cast<size_t>(log.offsets[static_cast<size_t>(b)])];
  });
  return order;
}

int64_t count_transitions(const SessionLog& log) {
  return log.num_sessions() == 0 ? 0 : log.num_events() - log.num_sessions();
}

std::vector<int64_t> item_supports(const SessionLog& log, int32_t num_items) {
  std::vector<int64_t> support(static_cast<size_t>(num_items), 0);
  for (int32_t item : log.items) ++support[static_cast<size_t>(item)];
  return support;
}

}  // namespace gru4rec
