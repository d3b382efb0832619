// Helpers shared by the tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include "gru4rec/data/session_reader.h"
#include "gru4rec/model/model.h"

namespace gru4rec::testing {

// The shared data directory, or "" (with the test skipped) when it is absent and CI is unset.
inline std::string shared_data_dir() {
  const char* override_dir = std::getenv("GRU4REC_DATA_DIR");
  std::string dir = override_dir != nullptr ? override_dir : GRU4REC_TEST_DATA_DIR;
  return std::filesystem::is_directory(dir) ? dir : std::string();
}

#define GRU4REC_REQUIRE_SHARED_DATA(dir_variable)                                          \
  const std::string dir_variable = ::gru4rec::testing::shared_data_dir();                  \
  if (dir_variable.empty()) {                                                              \
    if (std::getenv("CI") != nullptr) FAIL() << "CI is set but ../shared/data is missing"; \
    GTEST_SKIP() << "../shared/data is absent: skipping the real-data test";               \
  }

// A fresh empty directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gru4rec-test-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes `text` to `path` gzip-compressed (write_gzip) or zstd-compressed (write_zstd).
void write_gzip(const std::string& path, const std::string& text);
void write_zstd(const std::string& path, const std::string& text, int level = 3);

// The training log of synthetic data with these items and sessions (the generator's defaults
// otherwise), read as file "t" into `items`.
SessionLog synthetic_training_log(int32_t num_items, int64_t num_sessions, ItemIndex& items);

// A small model trained on the synthetic data (deterministic for the parameters). It trains on
// one thread with the unsplit step unless `param_string` names `threads` and `step_shares`, so
// that results do not depend on the machine's cores.
Model train_small_model(const std::string& param_string, int64_t sessions = 600,
                        SessionLog* train_out = nullptr, SessionLog* test_out = nullptr);

// Recall and MRR at `cutoff` of ranking every item by its training support (the model's
// supports; ties in index order), the same list for every prediction of `test`: the bar a
// learning model must clear.
std::pair<double, double> popularity_recall_mrr(const Model& model, const SessionLog& test,
                                                int cutoff);

}  // namespace gru4rec::testing
