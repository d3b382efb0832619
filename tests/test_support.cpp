#include "test_support.h"

#include <zlib.h>
#include <zstd.h>

#include <fstream>

#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"

namespace gru4rec::testing {

void write_gzip(const std::string& path, const std::string& text) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr) << path;
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

void write_zstd(const std::string& path, const std::string& text, int level) {
  std::string compressed(ZSTD_compressBound(text.size()), '\0');
  const size_t size =
      ZSTD_compress(compressed.data(), compressed.size(), text.data(), text.size(), level);
  ASSERT_FALSE(ZSTD_isError(size));
  compressed.resize(size);
  std::ofstream(path, std::ios::binary) << compressed;
}

SessionLog synthetic_training_log(int32_t num_items, int64_t num_sessions, ItemIndex& items) {
  SyntheticOptions options;
  options.num_items = num_items;
  options.num_sessions = num_sessions;
  const SyntheticData data = generate_synthetic_data(options);
  return parse_training_log(data.train_tsv, "t", ReadOptions{}, items);
}

Model train_small_model(const std::string& param_string, int64_t sessions, SessionLog* train_out,
                        SessionLog* test_out) {
  SyntheticOptions options;
  options.num_items = 60;
  options.num_sessions = sessions;
  options.num_topics = 5;
  options.seed = 3;
  const SyntheticData data = generate_synthetic_data(options);
  ItemIndex items;
  SessionLog train = parse_training_log(data.train_tsv, "synthetic-train", ReadOptions{}, items);
  Params params;
  apply_param_string(params, param_string);
  Model model = Model::initialize(params, std::move(items), train, "synthetic-train");
  train_model(model, train);
  if (test_out != nullptr) {
    *test_out = parse_test_log(data.test_tsv, "synthetic-test", ReadOptions{}, model.items);
  }
  if (train_out != nullptr) *train_out = std::move(train);
  return model;
}

}  // namespace gru4rec::testing
