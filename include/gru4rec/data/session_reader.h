// Reading session logs from delimited text files with a header line.
//
// The default columns are SessionId, ItemId, Time (as the official implementation); others
// can be named. The separator is a tab or a comma, detected from the header unless given.
// Session and item ids are arbitrary strings; Time is an integer or fractional number.
// Input that is not grouped by session and time-ordered within sessions is stably sorted
// (by session, then time), and the report says so.
//
// Files are read line by line through LineInput, as `gru4rec prepare` reads raw logs: plain,
// gzip- or zstd-compressed (detected from the first bytes), or stdin for the path "-".
//
// Every problem throws gru4rec::Error as "PATH:LINE: what is wrong; what is expected".
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"

namespace gru4rec {

struct ColumnNames {
  std::string session = "SessionId";
  std::string item = "ItemId";
  std::string time = "Time";
};

struct ReadOptions {
  ColumnNames columns;
  char separator = '\0';  // '\0': detect from the header (tab first, then comma)
};

struct ReadReport {
  int64_t data_lines = 0;             // non-empty lines after the header
  int64_t events = 0;                 // events kept
  int64_t dropped_unknown_items = 0;  // events whose item is not in the item index
  int64_t dropped_sessions = 0;       // sessions left with no event after dropping
  bool was_sorted = false;            // true when the input had to be sorted
};

// Training data: new item ids are added to `items` in order of first appearance.
SessionLog read_training_log(const std::string& path, const ReadOptions& options, ItemIndex& items,
                             ReadReport* report = nullptr);

// Test data: events whose item is not in `items` are dropped (and counted); the session's
// remaining events are joined, as the official evaluation does.
SessionLog read_test_log(const std::string& path, const ReadOptions& options,
                         const ItemIndex& items, ReadReport* report = nullptr);

// The same from text in memory; `source_name` is used in error messages.
SessionLog parse_training_log(std::string_view content, std::string_view source_name,
                              const ReadOptions& options, ItemIndex& items,
                              ReadReport* report = nullptr);
SessionLog parse_test_log(std::string_view content, std::string_view source_name,
                          const ReadOptions& options, const ItemIndex& items,
                          ReadReport* report = nullptr);

// Events as columns in memory (e.g. a pandas DataFrame): the i-th event's session id, item id
// (as text: the accessors may reuse one buffer between calls) and time. The same grouping,
// ordering and checks as the files (the messages name the event's position instead of a line).
struct EventColumns {
  size_t size = 0;
  std::function<std::string_view(size_t)> session, item;
  std::span<const double> times;
  std::string source_name = "events";
};
SessionLog training_log_from_columns(const EventColumns& columns, ItemIndex& items,
                                     ReadReport* report = nullptr);
SessionLog test_log_from_columns(const EventColumns& columns, const ItemIndex& items,
                                 ReadReport* report = nullptr);

}  // namespace gru4rec
