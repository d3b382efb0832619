#include "gru4rec/model/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gru4rec/core/error.h"
#include "gru4rec/eval/evaluator.h"
#include "test_support.h"

namespace gru4rec {
namespace {

std::string load_error(const std::string& bytes) {
  try {
    load_model_from_bytes(bytes, "m.g4r");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

class ModelFileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new Model(testing::train_small_model(
        "n_epochs=1,layers=6/4,n_sample=8,batch_size=8,loss=bpr-max,momentum=0.1", 200, nullptr,
        &test_));
    bytes_ = new std::string(serialize_model(*model_));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete bytes_;
  }
  static Model* model_;
  static std::string* bytes_;
  static SessionLog test_;
};
Model* ModelFileTest::model_ = nullptr;
std::string* ModelFileTest::bytes_ = nullptr;
SessionLog ModelFileTest::test_;

TEST_F(ModelFileTest, RoundTripKeepsEverythingAndGivesIdenticalScores) {
  const Model loaded = load_model_from_bytes(*bytes_, "m.g4r");
  EXPECT_EQ(format_params(loaded.params), format_params(model_->params));
  EXPECT_EQ(loaded.items.ids(), model_->items.ids());
  EXPECT_EQ(loaded.supports, model_->supports);
  EXPECT_EQ(loaded.stats.events, model_->stats.events);
  EXPECT_EQ(loaded.stats.epochs, 1);
  std::vector<std::vector<float>> a, b;
  model_->weights.for_each_tensor(
      [&](const std::string&, const auto& t) { a.emplace_back(t.data(), t.data() + t.size()); });
  loaded.weights.for_each_tensor(
      [&](const std::string&, const auto& t) { b.emplace_back(t.data(), t.data() + t.size()); });
  EXPECT_EQ(a, b);
  EvalOptions options;
  options.cutoffs = {1, 5, 20};
  const EvalResult before = evaluate(*model_, test_, options);
  const EvalResult after = evaluate(loaded, test_, options);
  EXPECT_EQ(before.recall, after.recall);
  EXPECT_EQ(before.mrr, after.mrr);
  EXPECT_EQ(serialize_model(loaded), *bytes_);
}

TEST_F(ModelFileTest, SavesAtomicallyToDisk) {
  testing::TempDir dir;
  const std::string path = dir.file("model.g4r");
  save_model(*model_, path);
  EXPECT_EQ(std::filesystem::file_size(path), bytes_->size());
  EXPECT_EQ(load_model(path).num_items(), model_->num_items());
  // No temporary file is left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_THROW(save_model(*model_, dir.file("missing-dir/model.g4r")), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing-dir/model.g4r")));
}

TEST_F(ModelFileTest, RejectsWrongMagicNewerVersionAndTruncation) {
  EXPECT_NE(load_error("SessionId\tItemId\tTime\n1\t2\t3\n").find("not a gru4rec model file"),
            std::string::npos);
  EXPECT_NE(load_error("").find("not a gru4rec model file"), std::string::npos);
  std::string newer = *bytes_;
  newer[8] = 2;
  EXPECT_NE(load_error(newer).find("model format version 2 is newer"), std::string::npos);
  for (size_t keep : {size_t{8}, size_t{20}, size_t{100}, bytes_->size() / 2, bytes_->size() - 1}) {
    const std::string message = load_error(bytes_->substr(0, keep));
    EXPECT_NE(message.find("truncated"), std::string::npos) << keep << ": " << message;
  }
}

TEST_F(ModelFileTest, RejectsEveryFlippedByte) {
  const size_t size = bytes_->size();
  // Every byte of the prefix, header and trailer, and a spread over the blocks.
  std::vector<size_t> positions;
  for (size_t i = 0; i < std::min<size_t>(size, 1200); ++i) positions.push_back(i);
  for (size_t i = 1200; i < size; i += 97) positions.push_back(i);
  for (size_t i = size - 16; i < size; ++i) positions.push_back(i);
  for (size_t position : positions) {
    std::string damaged = *bytes_;
    damaged[position] = static_cast<char>(damaged[position] ^ 0x10);
    const std::string message = load_error(damaged);
    ASSERT_NE(message, "no error") << "flipped byte at " << position << " was not detected";
    ASSERT_NE(message.find("m.g4r: "), std::string::npos) << message;
  }
}

TEST(ModelFile, ReportsAMissingFile) {
  try {
    load_model("/nonexistent/model.g4r");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.g4r: cannot open"), std::string::npos);
  }
}

}  // namespace
}  // namespace gru4rec
