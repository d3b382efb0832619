// A deterministic synthetic click log with real sequential structure, so that the tool can be
// tried without downloading data: power-law item popularity, topics, item-to-item transitions
// (the next item depends on the current one and, less often, on the one before), revisits,
// realistic session lengths and timestamps, and a time-based train/test split (the sessions
// starting in the last `test_days` days are the test set).
#pragma once

#include <cstdint>
#include <string>

namespace gru4rec {

struct SyntheticOptions {
  int32_t num_items = 3000;
  int64_t num_sessions = 20000;
  int num_topics = 30;
  int days = 30;
  int test_days = 2;
  uint64_t seed = 7;
};

struct SyntheticData {
  std::string train_tsv;  // SessionId, ItemId, Time (unix seconds), with a header
  std::string test_tsv;
  int64_t train_events = 0, test_events = 0;
  int64_t train_sessions = 0, test_sessions = 0;
};

SyntheticData generate_synthetic_data(const SyntheticOptions& options);

}  // namespace gru4rec
