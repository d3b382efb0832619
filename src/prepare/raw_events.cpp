#include "gru4rec/prepare/raw_events.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"
#include "gru4rec/data/line_input.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;

// A problem with one line: reported with file:line, or counted with skip_bad_lines.
struct BadLine {
  std::string what;
};

// Splits a delimited line; fields may be double-quoted ("" inside a quoted field is a quote).
void split_fields(std::string_view line, char separator, std::vector<std::string_view>& fields,
                  std::string& unquoted) {
  fields.clear();
  unquoted.clear();
  unquoted.reserve(line.size());
  size_t at = 0;
  for (;;) {
    if (at < line.size() && line[at] == '"') {
      const size_t start = unquoted.size();
      ++at;
      for (;;) {
        if (at >= line.size()) throw BadLine{"a quoted field is not closed"};
        if (line[at] == '"') {
          if (at + 1 < line.size() && line[at + 1] == '"') {
            unquoted.push_back('"');
            at += 2;
            continue;
          }
          ++at;
          break;
        }
        unquoted.push_back(line[at++]);
      }
      // Views into `unquoted` stay valid: its capacity was reserved for the whole line.
      fields.emplace_back(unquoted.data() + start, unquoted.size() - start);
      if (at < line.size() && line[at] != separator)
        throw BadLine{"text after the closing quote of a field"};
    } else {
      const size_t end = std::min(line.find(separator, at), line.size());
      fields.push_back(line.substr(at, end - at));
      at = end;
    }
    if (at >= line.size()) break;
    ++at;  // the separator
  }
}

int64_t parse_time(std::string_view text, TimeFormat format) {
  text = trim(text);
  switch (format) {
    case TimeFormat::kUnixSeconds: {
      const std::optional<double> seconds = parse_double(text);
      if (!seconds || !std::isfinite(*seconds))
        throw BadLine{fmt::format("time {} is not a number of seconds", quote_for_message(text))};
      return std::llround(*seconds * 1000.0);
    }
    case TimeFormat::kUnixMilliseconds: {
      if (const std::optional<int64_t> ms = parse_int(text)) return *ms;
      const std::optional<double> ms = parse_double(text);
      if (!ms || !std::isfinite(*ms))
        throw BadLine{
            fmt::format("time {} is not a number of milliseconds", quote_for_message(text))};
      return std::llround(*ms);
    }
    case TimeFormat::kIso8601: {
      const std::optional<int64_t> ms = parse_iso8601_ms(text);
      if (!ms)
        throw BadLine{
            fmt::format("time {} is not an ISO 8601 date or date-time "
                        "(e.g. 2014-04-07T10:51:09.277Z)",
                        quote_for_message(text))};
      return *ms;
    }
  }
  return 0;
}

// One event, checked, before it goes into the table.
struct ParsedEvent {
  std::string_view key, item;
  int64_t ms = 0, offset = 0;
  bool kept = true;
};

ParsedEvent parse_event(const RawFormat& format, std::string_view key, std::string_view item,
                        std::string_view time, std::string_view offset, std::string_view type) {
  ParsedEvent e;
  e.key = trim(key);
  e.item = trim(item);
  if (e.key.empty()) throw BadLine{"empty session/user id"};
  e.kept = format.keep_types.empty() ||
           std::find(format.keep_types.begin(), format.keep_types.end(), trim(type)) !=
               format.keep_types.end();
  // Events of other types may lack an item (they only matter for cutting sessions).
  if (e.kept && e.item.empty()) throw BadLine{"empty item id"};
  if (e.key.size() > kMaxIdBytes || e.item.size() > kMaxIdBytes) {
    throw BadLine{fmt::format("an id has {} bytes; ids have at most {}",
                              std::max(e.key.size(), e.item.size()), kMaxIdBytes)};
  }
  e.ms = parse_time(time, format.time_format);
  if (!format.time_offset_ms.empty()) {
    const std::optional<int64_t> value = parse_int(trim(offset));
    if (!value)
      throw BadLine{
          fmt::format("{} {} is not an integer", format.time_offset_ms, quote_for_message(offset))};
    e.offset = *value;
  }
  return e;
}

void append_event(EventTable& table, const RawFormat& format, const ParsedEvent& e) {
  table.key.push_back(table.keys.insert(e.key));
  table.item.push_back(table.items.insert(e.item));
  table.time.push_back(e.ms);
  if (!format.time_offset_ms.empty()) table.offset.push_back(e.offset);
  table.kept_type.push_back(e.kept ? 1 : 0);
}

std::string json_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return fmt::format("{}", value.get<int64_t>());
  if (value.is_number()) return format_double(value.get<double>());
  if (value.is_null()) return "";
  return value.dump();
}

std::string field_of(const Json& object, const std::string& name) {
  if (name.empty()) return "";
  const auto found = object.find(name);
  if (found == object.end()) throw BadLine{fmt::format("no field \"{}\"", name)};
  return json_text(*found);
}

void read_json_lines(LineInput& input, const RawFormat& format, bool skip_bad_lines,
                     EventTable& table) {
  std::string_view line;
  while (input.next(line)) {
    if (trim(line).empty()) continue;
    ++table.lines;
    try {
      const Json object = Json::parse(line, nullptr, false);
      if (object.is_discarded() || !object.is_object()) throw BadLine{"not a JSON object"};
      if (format.events_array.empty()) {
        const std::string key = field_of(object, format.key), item = field_of(object, format.item);
        append_event(
            table, format,
            parse_event(format, key, item, field_of(object, format.time),
                        field_of(object, format.time_offset_ms), field_of(object, format.type)));
        continue;
      }
      const std::string key = field_of(object, format.key);
      const auto events = object.find(format.events_array);
      if (events == object.end() || !events->is_array())
        throw BadLine{fmt::format("no array \"{}\"", format.events_array)};
      // Every event of the line is checked before any is kept: a bad line is skipped whole.
      std::vector<std::string> items;
      std::vector<ParsedEvent> parsed;
      items.reserve(events->size());
      for (const Json& event : *events) {
        if (!event.is_object())
          throw BadLine{fmt::format("an element of \"{}\" is not an object", format.events_array)};
        items.push_back(field_of(event, format.item));
        parsed.push_back(parse_event(format, key, items.back(), field_of(event, format.time),
                                     field_of(event, format.time_offset_ms),
                                     field_of(event, format.type)));
      }
      for (ParsedEvent& e : parsed) append_event(table, format, e);
    } catch (const BadLine& bad) {
      if (!skip_bad_lines)
        throw Error(fmt::format("{}:{}: {} (--skip-bad-lines counts and skips such lines)",
                                input.name(), input.line_number(), bad.what));
      ++table.bad_lines;
    }
  }
}

// The column of `name`: its position in the header, or its 1-based number without a header.
size_t column_of(const std::string& name, const std::vector<std::string>& header,
                 const std::string& source) {
  if (header.empty()) {
    const std::optional<int64_t> number = parse_int(name);
    if (!number || *number < 1)
      throw Error(
          fmt::format("{}: without a header, columns are given by number (1, 2, ...); got {}",
                      source, quote_for_message(name)));
    return static_cast<size_t>(*number - 1);
  }
  // "a|b": the first of these names that the header has.
  for (std::string_view alternative : split(name, '|')) {
    const auto found = std::find(header.begin(), header.end(), alternative);
    if (found != header.end()) return static_cast<size_t>(found - header.begin());
  }
  throw Error(fmt::format("{}:1: no column {}; the columns are: {}", source,
                          quote_for_message(name), join(header, ", ")));
}

void read_delimited(LineInput& input, const RawFormat& format, bool skip_bad_lines,
                    EventTable& table) {
  std::string_view line;
  std::vector<std::string_view> fields;
  std::string unquoted;
  std::vector<std::string> header;
  char separator = format.separator;
  bool first = true;
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t key = 0, item = 0, time = 0, offset = kNone, type = kNone;
  while (input.next(line)) {
    if (first) {
      first = false;
      if (separator == '\0') {
        const auto count = [&](char c) { return std::count(line.begin(), line.end(), c); };
        separator = count('\t') > 0 ? '\t' : count(';') > count(',') ? ';' : ',';
      }
      if (format.header) {
        try {
          split_fields(line, separator, fields, unquoted);
        } catch (const BadLine& bad) {
          throw Error(fmt::format("{}:1: {}", input.name(), bad.what));
        }
        for (std::string_view f : fields) header.emplace_back(trim(f));
      }
      key = column_of(format.key, header, input.name());
      item = column_of(format.item, header, input.name());
      time = column_of(format.time, header, input.name());
      if (!format.time_offset_ms.empty())
        offset = column_of(format.time_offset_ms, header, input.name());
      if (!format.type.empty()) type = column_of(format.type, header, input.name());
      if (format.header) continue;
    }
    if (trim(line).empty()) continue;
    ++table.lines;
    try {
      split_fields(line, separator, fields, unquoted);
      const size_t needed =
          std::max({key, item, time, offset == kNone ? 0 : offset, type == kNone ? 0 : type}) + 1;
      if (fields.size() < needed)
        throw BadLine{
            fmt::format("too few fields: found {}, expected at least {}", fields.size(), needed)};
      append_event(table, format,
                   parse_event(format, fields[key], fields[item], fields[time],
                               offset == kNone ? std::string_view() : fields[offset],
                               type == kNone ? std::string_view() : fields[type]));
    } catch (const BadLine& bad) {
      if (!skip_bad_lines)
        throw Error(fmt::format("{}:{}: {} (--skip-bad-lines counts and skips such lines)",
                                input.name(), input.line_number(), bad.what));
      ++table.bad_lines;
    }
  }
  if (first) throw Error(fmt::format("{}: the file is empty", input.name()));
}

}  // namespace

void read_raw_events(const std::string& path, const RawFormat& format, bool skip_bad_lines,
                     EventTable& table) {
  if (format.key.empty() || format.item.empty() || format.time.empty())
    throw Error("the session (or user), item and time columns must be named");
  if (!format.keep_types.empty() && format.type.empty())
    throw Error("an event-type filter needs the event-type column");
  LineInput input(path);
  if (format.kind == RawFormat::Kind::kJsonLines)
    read_json_lines(input, format, skip_bad_lines, table);
  else
    read_delimited(input, format, skip_bad_lines, table);
}

}  // namespace gru4rec
