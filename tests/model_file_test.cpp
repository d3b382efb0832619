#include "gru4rec/model/model_file.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

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

TEST_F(ModelFileTest, ContentIdFollowsTheBytes) {
  testing::TempDir dir;
  const std::string a = dir.file("a.g4r"), b = dir.file("b.g4r");
  save_model(*model_, a);
  save_model(load_model(a), b);  // saved again: the same bytes, the same id
  const Model first = load_model(a), second = load_model(b);
  EXPECT_NE(first.content_id, 0u);
  EXPECT_EQ(first.content_id, second.content_id);
  Model changed = load_model(a);
  changed.weights.By(0) = std::nextafter(changed.weights.By(0), 1.0f);  // one ulp of one bias
  save_model(changed, b);
  EXPECT_NE(load_model(b).content_id, first.content_id);
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
  // Every byte of the file, each of its bits flipped alone and all of them at once.
  const size_t size = bytes_->size();
  ASSERT_GT(size, 1000u);
  for (size_t position = 0; position < size; ++position) {
    for (const int mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF}) {
      std::string damaged = *bytes_;
      damaged[position] = static_cast<char>(damaged[position] ^ mask);
      const std::string message = load_error(damaged);
      ASSERT_NE(message, "no error")
          << "byte " << position << " xor " << mask << " was not detected";
      ASSERT_NE(message.find("m.g4r: "), std::string::npos) << message;
    }
  }
}

// Rewrites a model file with a changed header and/or data area and a valid checksum, to reach
// the structural checks behind the CRC (a crafted file must not crash the loader either).
std::string rebuild(
    const std::string& bytes, const std::function<void(nlohmann::json&)>& change_header,
    const std::function<void(std::string&, const nlohmann::json&)>& change_data = {}) {
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    return v;
  };
  const uint32_t header_length = u32(12);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(16, header_length));
  const size_t data_start = (16 + header_length + 63) / 64 * 64;
  std::string data = bytes.substr(data_start, bytes.size() - 16 - data_start);
  change_header(header);
  if (change_data) change_data(data, header);
  const std::string text = header.is_string() ? header.get<std::string>() : header.dump();
  std::string out = bytes.substr(0, 12);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xFF));
  out += text;
  out.resize((out.size() + 63) / 64 * 64, '\0');
  out += data;
  const uint64_t length = out.size();
  const auto crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                               reinterpret_cast<const unsigned char*>(out.data()),
                                               static_cast<uInt>(out.size())));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  out += "G4RE";
  return out;
}

size_t block_offset(const nlohmann::json& header, const std::string& name) {
  for (const auto& b : header["blocks"]) {
    if (b["name"] == name) return b["offset"].get<size_t>();
  }
  return std::string::npos;
}

TEST_F(ModelFileTest, StructuralChecksBehindTheChecksum) {
  const auto same = [](nlohmann::json&) {};
  ASSERT_EQ(load_error(rebuild(*bytes_, same)), "no error") << "the rebuild itself must be valid";
  struct Case {
    std::string expected;
    std::function<void(nlohmann::json&)> header;
    std::function<void(std::string&, const nlohmann::json&)> data;
  };
  const std::vector<Case> cases = {
      {"tensor layer0.Wx is", [](auto& h) { h["params"]["layers"] = "7/4"; }, {}},
      {"block By is missing",
       [](auto& h) {
         auto& blocks = h["blocks"];
         for (size_t i = 0; i < blocks.size(); ++i) {
           if (blocks[i]["name"] == "By") blocks.erase(i);
         }
       },
       {}},
      {"lies outside the file",
       [](auto& h) {
         for (auto& b : h["blocks"]) {
           if (b["name"] == "Wy") b["offset"] = 1u << 30;
         }
       },
       {}},
      {"invalid model header", [](auto& h) { h = "{\"params\": "; }, {}},
      {"invalid model header", [](auto& h) { h.erase("stats"); }, {}},
      {"stored parameters are inconsistent",
       [](auto& h) { h["params"]["final_act"] = "softmax"; },
       {}},
      {"unknown parameter 'hidden_size'", [](auto& h) { h["params"]["hidden_size"] = "3"; }, {}},
      {"invalid item count", [](auto& h) { h["num_items"] = -3; }, {}},
      {"item dictionary is shorter",
       [](auto& h) { h["num_items"] = h["num_items"].template get<int>() + 5; },
       {}},
      {"item dictionary is longer",
       [](auto& h) { h["num_items"] = h["num_items"].template get<int>() - 1; },
       {}},
      {"appears twice", [](auto&) {},
       [](std::string& data, const nlohmann::json& h) {
         // Give item 1 the id of item 0 (both ids have the same length here).
         const size_t items = block_offset(h, "items");
         const uint32_t length = static_cast<unsigned char>(data[items]);
         data.replace(items + 4 + length + 4, length, data.substr(items + 4, length));
       }},
      {"an item has no support", [](auto&) {},
       [](std::string& data, const nlohmann::json& h) {
         std::fill_n(data.begin() + static_cast<long>(block_offset(h, "supports")), 8, '\0');
       }},
      {"holds NaN or Inf", [](auto&) {},
       [](std::string& data, const nlohmann::json& h) {
         const float nan = std::numeric_limits<float>::quiet_NaN();
         std::memcpy(data.data() + block_offset(h, "Wy"), &nan, sizeof nan);
       }},
  };
  for (const Case& c : cases) {
    const std::string message = load_error(rebuild(*bytes_, c.header, c.data));
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << "expected '" << c.expected << "', got: " << message;
    EXPECT_EQ(message.find("internal"), std::string::npos) << message;
  }
}

TEST_F(ModelFileTest, RefusesToWriteNonFiniteWeightsAndLeavesNoFile) {
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    Model broken = *model_;
    broken.weights.layers[0].Uh(1, 2) = bad;
    const testing::TempDir dir;
    const std::string path = dir.file("broken.g4r");
    try {
      save_model(broken, path);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("broken.g4r: not written: tensor"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("NaN or infinite"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_THROW(serialize_model(broken), Error);
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
