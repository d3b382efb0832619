// The whole preparation of `gru4rec prepare` and `gru4rec.prepare()`: raw inputs read, the
// preset's steps applied, and the four GRU4Rec files (train_full.tsv, test.tsv, train_tr.tsv,
// train_valid.tsv) and stats.json written into a folder, each file atomically (a temporary
// file, then a rename). Also the generic preset made from a description of the columns.
//
// Blocking; the callbacks run on the calling thread, for progress messages.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gru4rec/data/data_stats.h"
#include "gru4rec/prepare/prepare.h"
#include "gru4rec/prepare/presets.h"

namespace gru4rec {

// A raw log described by its columns (the generic mode, without a named preset).
struct GenericLayout {
  std::string format = "csv";  // csv, tsv or jsonl
  std::string separator;       // "": detected (tab for tsv); "tab", or one character
  bool header = true;          // without: columns are numbered from 1
  // Exactly one of session_column (sessions given) and user_column (sessions cut at gaps).
  std::string session_column, user_column, item_column, time_column, type_column;
  std::string events_array;             // jsonl: key of the nested array of events
  std::vector<std::string> keep_types;  // event types kept (all when empty)
  std::string time_format = "unix-s";   // unix-s, unix-ms or iso8601
  double gap_minutes = 60;
  bool dedupe = true;  // drop consecutive repeats of an item
  int min_session_length = 2;
  int min_item_support = 5;
  double test_days = 1;
  double split_time = -1;          // end of the test span in the input's time unit; -1: last event
  std::string split_by = "start";  // start or end (the RSC15 split)
};

// Throws Error naming the field for an inconsistent or bad layout.
Preset generic_preset(const GenericLayout& layout);

struct PreparedFile {
  std::string name;  // train_full, test, train_tr, train_valid
  std::string path;
  DataStats stats;
};

struct PrepareSummary {
  std::string preset;
  int64_t lines = 0, bad_lines = 0;
  std::string time_unit;  // of the written Time column: s or ms
  std::vector<PreparedData::Step> steps;
  std::vector<PreparedFile> files;
  double seconds = 0;
  std::string stats_json;  // what stats.json holds
  std::string stats_path;
};

struct PrepareCallbacks {
  std::function<void(const std::string& input, const EventTable& so_far)> on_input_read;
  std::function<void(const PreparedData::Step& step)> on_step;
  std::function<void(const PreparedFile& file)> on_file_written;
};

// Creates `output_dir` when needed and checks it is writable before reading anything. Throws
// Error for unreadable or malformed inputs (file:line; skipped and counted with
// skip_bad_lines) and when a step leaves no event.
PrepareSummary prepare_folder(const std::vector<std::string>& inputs, const Preset& preset,
                              const std::string& output_dir, bool skip_bad_lines,
                              const PrepareCallbacks& callbacks = {});

}  // namespace gru4rec
