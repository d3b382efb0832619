#include "test_support.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <vector>

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
  apply_param_string(params, "threads=1,step_shares=1," + param_string);
  Model model = Model::initialize(params, std::move(items), train, "synthetic-train");
  train_model(model, train);
  if (test_out != nullptr) {
    *test_out = parse_test_log(data.test_tsv, "synthetic-test", ReadOptions{}, model.items);
  }
  if (train_out != nullptr) *train_out = std::move(train);
  return model;
}

std::pair<double, double> popularity_recall_mrr(const Model& model, const SessionLog& test,
                                                int cutoff) {
  std::vector<int32_t> order(static_cast<size_t>(model.num_items()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return model.supports[static_cast<size_t>(a)] > model.supports[static_cast<size_t>(b)];
  });
  std::vector<int> rank(order.size());
  for (size_t r = 0; r < order.size(); ++r)
    rank[static_cast<size_t>(order[r])] = static_cast<int>(r) + 1;
  double hits = 0, reciprocal = 0;
  int64_t predictions = 0;
  for (int64_t s = 0; s < test.num_sessions(); ++s) {
    const auto items = test.session_items(s);
    for (size_t i = 1; i < items.size(); ++i, ++predictions) {
      const int r = rank[static_cast<size_t>(items[i])];
      if (r <= cutoff) {
        hits += 1;
        reciprocal += 1.0 / r;
      }
    }
  }
  if (predictions == 0) return {0.0, 0.0};
  return {hits / static_cast<double>(predictions), reciprocal / static_cast<double>(predictions)};
}

}  // namespace gru4rec::testing
