// Reading raw event logs (CSV/TSV exports, JSON lines) into a compact event table: which
// columns hold the session (or the user), the item, the time and the event type, and how time
// is written. The input is streamed (gzip and zstd read directly, data/line_input.h); memory is
// 16 bytes per kept event plus the distinct ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/data/item_index.h"

namespace gru4rec {

enum class TimeFormat {
  kUnixSeconds,       // integer or fractional seconds since 1970
  kUnixMilliseconds,  // integer milliseconds
  kIso8601,           // 2014-04-07T10:51:09.277Z, 2019-10-01 00:00:00 UTC, 2016-05-09, +hh:mm
};

struct RawFormat {
  enum class Kind { kDelimited, kJsonLines };
  Kind kind = Kind::kDelimited;
  char separator = '\0';  // delimited: '\0' detects tab, ';' or ',' from the first line
  bool header = true;     // delimited: columns are named by the first line; else "1", "2", ...
  // Column names (delimited with a header, or JSON keys) or 1-based positions (without a
  // header); "a|b" takes the first of these names the header has. `key` is the session
  // column, or the user column when sessions are cut by gaps.
  std::string key, item, time, type;
  // JSON lines whose events are nested in an array (OTTO: {"session": 1, "events": [...]}):
  // the array's key; `key` is then read from the outer object, the others from each event.
  std::string events_array;
  TimeFormat time_format = TimeFormat::kUnixSeconds;
  // An extra column of milliseconds added to the time (Diginetica's timeframe).
  std::string time_offset_ms;
  std::vector<std::string> keep_types;  // when not empty, only events of these types count
};

// Times are kept in milliseconds since 1970 (UTC).
struct EventTable {
  std::vector<int32_t> key;        // index into keys
  std::vector<int32_t> item;       // index into items
  std::vector<int64_t> time;       // ms
  std::vector<int64_t> offset;     // the time_offset_ms column, when there is one
  std::vector<uint8_t> kept_type;  // 1 when the event's type is kept (all 1 without keep_types)
  ItemIndex keys, items;
  int64_t lines = 0;      // data lines read
  int64_t bad_lines = 0;  // skipped with skip_bad_lines
  int64_t events() const { return static_cast<int64_t>(item.size()); }
};

// Appends the events of `path` to `table`. A malformed line (missing field, bad number or
// time) throws Error with file:line, unless skip_bad_lines, which counts and skips it. Events
// of other types are kept with kept_type 0 (a session cut may need them).
void read_raw_events(const std::string& path, const RawFormat& format, bool skip_bad_lines,
                     EventTable& table);

// Milliseconds since 1970 of an ISO 8601 date or date-time (UTC unless an offset is given;
// "UTC" and "Z" suffixes accepted); nullopt when it is not one.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace gru4rec
