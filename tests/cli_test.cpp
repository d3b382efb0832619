// End-to-end tests of the gru4rec binary: every bad input gives a message naming the file,
// line and problem, a non-zero exit code, and no output file.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "gru4rec/core/file_io.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/top_k.h"
#include "http_test_client.h"
#include "redis_test_server.h"
#include "test_support.h"

namespace gru4rec {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

RunResult run_cli(const std::string& arguments) {
  const std::string command = std::string(GRU4REC_CLI_PATH) + " " + arguments + " 2>&1";
  RunResult result;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const RunResult synth = run_cli("synth " + dir_.file("data") + " --sessions 400 --items 80");
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    train_ = dir_.file("data/train.tsv");
    test_ = dir_.file("data/test.tsv");
    model_ = dir_.file("model.g4r");
  }
  // Runs a training that must fail with `message` and leave no model file.
  void expect_train_failure(const std::string& arguments, const std::string& message) {
    const RunResult r = run_cli("train " + arguments + " -s " + model_ + " -q --progress none");
    EXPECT_NE(r.exit_code, 0) << arguments;
    EXPECT_NE(r.output.find(message), std::string::npos) << arguments << "\n" << r.output;
    EXPECT_EQ(r.output.find("internal"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(model_)) << arguments;
  }
  const char* kFast = " -ps n_epochs=1,layers=8,n_sample=16,batch_size=8";
  testing::TempDir dir_;
  std::string train_, test_, model_;
};

TEST_F(CliTest, TrainsSavesEvaluatesAndDescribesAModel) {
  RunResult r = run_cli("train " + train_ + " -t " + test_ + " -m 1 5 20 -s " + model_ + kFast +
                        " --progress none");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SET loss"), std::string::npos);
  EXPECT_NE(r.output.find("Epoch1 --> loss:"), std::string::npos);
  EXPECT_NE(r.output.find("@20"), std::string::npos);
  ASSERT_TRUE(std::filesystem::exists(model_));
  r = run_cli("eval " + model_ + " " + test_ + " -m 5 10 -e conservative --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"recall@10\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"conservative\""), std::string::npos);
  r = run_cli("info " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("GRU layers      8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("layers=8"), std::string::npos);
}

TEST_F(CliTest, AcceptsTheOfficialSingleDashOptionsAndParameterFiles) {
  write(dir_.file("p.toml"), "loss = \"bpr-max\"\nn_epochs = 1\nlayers = [8]\nn_sample = 4\n");
  RunResult r =
      run_cli("train " + train_ + " -pf " + dir_.file("p.toml") +
              " -ps batch_size=4 -ss 100 -sk SessionId -ik ItemId -tk Time --progress none");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SET loss                   TO bpr-max"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("SET batch_size             TO 4"), std::string::npos);
  EXPECT_NE(r.output.find("SET sample_store_size      TO 100"), std::string::npos);
}

TEST_F(CliTest, UnknownTestItemsAreDroppedAndCounted) {
  ASSERT_EQ(run_cli("train " + train_ + kFast + " -q --progress none -s " + model_).exit_code, 0);
  write(dir_.file("t.tsv"), "SessionId\tItemId\tTime\n1\t100001\t1\n1\tNEW\t2\n1\t100002\t3\n");
  const RunResult r = run_cli("eval " + model_ + " " + dir_.file("t.tsv") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"dropped_unknown_item_events\": 1"), std::string::npos) << r.output;
}

TEST_F(CliTest, BadDataFilesFailWithFileLineAndProblem) {
  const std::string bad = dir_.file("bad.tsv");
  write(bad, "Session\tItemId\tTime\n1\ta\t1\n");
  expect_train_failure(bad, "bad.tsv:1: no column named 'SessionId'");
  write(bad, "SessionId;ItemId;Time\n1;a;1\n");
  expect_train_failure(bad, "bad.tsv:1: header 'SessionId;ItemId;Time' has no tab or comma");
  write(bad, "");
  expect_train_failure(bad, "bad.tsv: the file is empty");
  write(bad, "SessionId\tItemId\tTime\n1\ta\t1\n1\tb\n");
  expect_train_failure(bad, "bad.tsv:3: too few fields");
  write(bad, "SessionId\tItemId\tTime\n1\ta\t1\n1\tb\tyesterday\n");
  expect_train_failure(bad, "bad.tsv:3: Time value 'yesterday' is not a number");
  write(bad, "SessionId\tItemId\tTime\n1\ta\t1\n1\ta\t2\n2\ta\t3\n");
  expect_train_failure(bad, "bad.tsv: the training data has 1 distinct item(s)");
  write(bad, "SessionId\tItemId\tTime\n1\ta\t1\n2\tb\t2\n3\tc\t3\n");
  expect_train_failure(bad, "bad.tsv: no session has 2 or more events");
  expect_train_failure(dir_.file("missing.tsv"), "missing.tsv: cannot open");
  // A bad test file is found before training starts.
  write(bad, "SessionId\tItemId\n1\ta\n");
  expect_train_failure(train_ + " -t " + bad, "bad.tsv:1: no column named 'Time'");
  // A field far longer than any id is a broken file (a lost quote or newline), not an id: its
  // line and the limit are named. 1024 bytes are an id.
  write(bad, "SessionId\tItemId\tTime\n1\ta\t1\n1\t" + std::string(5 << 20, 'x') + "\t2\n");
  expect_train_failure(bad, "bad.tsv:3: the ItemId value has 5242880 bytes; ids have at most 1024");
  write(bad, "SessionId\tItemId\tTime\n" + std::string(2000, 's') + "\ta\t1\n");
  expect_train_failure(bad, "bad.tsv:2: the SessionId value has 2000 bytes");
  const std::string longest(1024, 'i');
  write(bad, "SessionId\tItemId\tTime\n1\t" + longest + "\t1\n1\tb\t2\n2\tb\t3\n2\t" + longest +
                 "\t4\n");
  const RunResult ok = run_cli("train " + bad + kFast + " -s " + model_ + " -q --progress none");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

// "-" reads the data from stdin (a pipe), as a file.
TEST_F(CliTest, DataFromStdin) {
  const RunResult from_pipe =
      run_cli("train - -s " + model_ + kFast + " -q --progress none < " + train_);
  ASSERT_EQ(from_pipe.exit_code, 0) << from_pipe.output;
  const std::string from_file_model = dir_.file("from-file.g4r");
  ASSERT_EQ(run_cli("train " + train_ + " -s " + from_file_model + kFast + " -q --progress none")
                .exit_code,
            0);
  // The same model weights (the data's name differs in the header).
  const Model a = load_model(model_), b = load_model(from_file_model);
  EXPECT_EQ(a.items.size(), b.items.size());
  EXPECT_TRUE(a.weights.Wy.isApprox(b.weights.Wy, 0.0f));
  const RunResult eval_pipe = run_cli("eval " + model_ + " - -m 20 < " + test_);
  const RunResult eval_file = run_cli("eval " + model_ + " " + test_ + " -m 20");
  ASSERT_EQ(eval_pipe.exit_code, 0) << eval_pipe.output;
  // The table of metrics (the source's name and the time above it differ).
  const auto metrics = [](const std::string& out) { return out.substr(out.find("cutoff")); };
  ASSERT_NE(eval_file.output.find("cutoff"), std::string::npos) << eval_file.output;
  EXPECT_EQ(metrics(eval_pipe.output), metrics(eval_file.output));
  // A bad line on stdin is named as stdin's.
  const std::string bad = dir_.file("bad.tsv");
  write(bad, "SessionId\tItemId\tTime\n1\ta\t1\n1\tb\n");
  const RunResult r =
      run_cli("train - -s " + model_ + ".bad" + kFast + " -q --progress none < " + bad);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("stdin:3: too few fields"), std::string::npos) << r.output;
}

TEST_F(CliTest, BadParametersFailBeforeReadingData) {
  expect_train_failure(train_ + " -ps hidden_size=3", "unknown parameter 'hidden_size'");
  expect_train_failure(train_ + " -ps dropout_p_hidden=1.5",
                       "invalid value '1.5' for dropout_p_hidden: expected a number in [0, 1)");
  expect_train_failure(train_ + " -ps layers=0", "invalid value '0' for layers");
  expect_train_failure(train_ + " -ps n_sample=-1", "invalid value '-1' for n_sample");
  expect_train_failure(train_ + " -ps batch_size=0", "invalid value '0' for batch_size");
  expect_train_failure(train_ + " -ps loss=foo", "invalid value 'foo' for loss");
  write(dir_.file("p.toml"), "momentum = 2\n");
  expect_train_failure(train_ + " -pf " + dir_.file("p.toml"),
                       "p.toml:1: invalid value '2' for momentum");
}

TEST_F(CliTest, UnwritableModelPathFailsBeforeTraining) {
  const RunResult r = run_cli("train " + train_ + kFast + " -s /nonexistent-dir/model.g4r");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("/nonexistent-dir/model.g4r: cannot write here"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("Epoch1"), std::string::npos) << "trained before failing";
}

TEST_F(CliTest, DivergingTrainingStopsWithoutWritingAModel) {
  // A learning rate beyond the float range makes the first update infinite (and 0 * inf NaN)
  // on every IEEE 754 machine, whatever the CPU's rounding of an overflowing sum; the loss that
  // follows may be NaN or saturate at a finite value, but the weights are not finite either way.
  for (const char* threads : {"1", "2"}) {
    const RunResult r = run_cli("train " + train_ +
                                " -ps n_epochs=2,layers=8,n_sample=16,batch_size=8,"
                                "learning_rate=1e39,momentum=0.9,threads=" +
                                threads + " -q --progress none -s " + model_);
    EXPECT_NE(r.exit_code, 0) << threads;
    EXPECT_NE(r.output.find("training diverged: the "), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(model_)) << threads;
  }
}

TEST_F(CliTest, TrainEvalAndPredictReadGzipAndZstdFiles) {
  std::ifstream train_in(train_), test_in(test_);
  const std::string train_text{std::istreambuf_iterator<char>(train_in), {}};
  const std::string test_text{std::istreambuf_iterator<char>(test_in), {}};
  testing::write_gzip(dir_.file("train.tsv.gz"), train_text);
  testing::write_zstd(dir_.file("test.tsv.zst"), test_text);
  const std::string fixed = std::string(kFast) + ",threads=1 -q --progress none --json -m 20";
  const RunResult plain = run_cli("train " + train_ + " -t " + test_ + fixed);
  const RunResult packed = run_cli("train " + dir_.file("train.tsv.gz") + " -t " +
                                   dir_.file("test.tsv.zst") + fixed + " -s " + model_);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  ASSERT_EQ(packed.exit_code, 0) << packed.output;
  const auto recall = [](const std::string& output) {
    const auto json = nlohmann::json::parse(output.substr(output.find("{\n")));
    return json["evaluations"][0]["metrics"]["recall@20"].get<double>();
  };
  EXPECT_EQ(recall(plain.output), recall(packed.output));  // threads=1: the same model
  const RunResult eval = run_cli("eval " + model_ + " " + dir_.file("test.tsv.zst") + " -m 20");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const RunResult predict =
      run_cli("predict " + model_ + " " + dir_.file("test.tsv.zst") + " -k 3");
  ASSERT_EQ(predict.exit_code, 0) << predict.output;
  EXPECT_NE(predict.output.find("SessionId\tRank\tItemId\tScore\n"), std::string::npos);
}

TEST_F(CliTest, AFileThatIsNotAModelIsRejected) {
  const RunResult r = run_cli("eval " + train_ + " " + test_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("train.tsv: not a gru4rec model file"), std::string::npos) << r.output;
  // info describes a data file instead; a file that is neither is an error.
  const RunResult data = run_cli("info " + train_ + " --json");
  ASSERT_EQ(data.exit_code, 0) << data.output;
  const nlohmann::json stats = nlohmann::json::parse(data.output);
  EXPECT_GT(stats["events"].get<int64_t>(), stats["sessions"].get<int64_t>());
  EXPECT_GE(stats["min_length"].get<int64_t>(), 1);
  write(dir_.file("junk.bin"), std::string("\x01\x02\x03 not a table"));
  EXPECT_NE(run_cli("info " + dir_.file("junk.bin")).exit_code, 0);
}

TEST_F(CliTest, TrainInitContinuesAModelAndRecordsItsLineage) {
  ASSERT_EQ(run_cli("train " + train_ + kFast + " -q --progress none -s " + model_).exit_code, 0);
  const Model parent = load_model(model_);
  // A new day: a known item followed by two items the parent has never seen.
  std::string day = "SessionId\tItemId\tTime\n";
  for (int s = 0; s < 30; ++s) {
    day +=
        fmt::format("d{}\t{}\t{}\nd{}\tnew-x\t{}\nd{}\tnew-y\t{}\n", s, parent.items.id(2),
                    2'000'000'000 + 10 * s, s, 2'000'000'001 + 10 * s, s, 2'000'000'002 + 10 * s);
  }
  write(dir_.file("day.tsv"), day);
  const std::string child = dir_.file("child.g4r");
  const RunResult r = run_cli("train " + dir_.file("day.tsv") + " --init " + model_ +
                              " -ps learning_rate=0.02 -q --progress none -s " + child);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 new items"), std::string::npos) << r.output;
  const Model continued = load_model(child);
  EXPECT_EQ(continued.num_items(), parent.num_items() + 2);
  EXPECT_EQ(continued.items.id(parent.num_items()), "new-x");
  EXPECT_EQ(continued.params.learning_rate, 0.02);           // changed by -ps
  EXPECT_EQ(continued.params.layers, parent.params.layers);  // the parent's by default
  const RunResult info = run_cli("info " + child + " --json");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  const nlohmann::json lineage = nlohmann::json::parse(info.output)["lineage"];
  ASSERT_EQ(lineage.size(), 1u);
  EXPECT_EQ(lineage[0]["model_id"], fmt::format("{:016x}", parent.content_id));
  EXPECT_EQ(lineage[0]["events"], parent.stats.events);
  EXPECT_NE(run_cli("info " + child).output.find("continued from 1 earlier model"),
            std::string::npos);
  // A shape change is refused before any training, and nothing is written.
  const std::string refused = dir_.file("refused.g4r");
  const RunResult shape = run_cli("train " + dir_.file("day.tsv") + " --init " + model_ +
                                  " -ps layers=32 -q --progress none -s " + refused);
  EXPECT_NE(shape.exit_code, 0);
  EXPECT_NE(shape.output.find("shape"), std::string::npos) << shape.output;
  EXPECT_EQ(shape.output.find("Epoch"), std::string::npos) << shape.output;
  EXPECT_FALSE(std::filesystem::exists(refused));
  // An init_shrink outside (0, 1]: refused before reading the data.
  const RunResult shrink = run_cli("train " + dir_.file("day.tsv") + " --init " + model_ +
                                   " --init-shrink 1.5 -q --progress none -s " + refused);
  EXPECT_NE(shrink.exit_code, 0);
  EXPECT_NE(shrink.output.find("init_shrink is 1.5; expected a factor in (0, 1]"),
            std::string::npos)
      << shrink.output;
  EXPECT_FALSE(std::filesystem::exists(refused));
  // A corrupt parent: a clear error, nothing written.
  std::string bytes = read_file(model_);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  write(dir_.file("corrupt.g4r"), bytes);
  const RunResult corrupt = run_cli("train " + dir_.file("day.tsv") + " --init " +
                                    dir_.file("corrupt.g4r") + " -q --progress none -s " + refused);
  EXPECT_NE(corrupt.exit_code, 0);
  EXPECT_NE(corrupt.output.find("corrupt"), std::string::npos) << corrupt.output;
  EXPECT_FALSE(std::filesystem::exists(refused));
}

TEST_F(CliTest, TrainInitReplaysASampleOfOlderSessions) {
  ASSERT_EQ(run_cli("train " + train_ + kFast + " -q --progress none -s " + model_).exit_code, 0);
  const Model parent = load_model(model_);
  std::string day = "SessionId\tItemId\tTime\n";
  for (int s = 0; s < 20; ++s) {
    day += fmt::format("d{}\t{}\t{}\nd{}\tnew-x\t{}\n", s, parent.items.id(2),
                       2'000'000'000 + 10 * s, s, 2'000'000'001 + 10 * s);
  }
  write(dir_.file("day.tsv"), day);
  const std::string child = dir_.file("child.g4r");
  const RunResult r = run_cli("train " + dir_.file("day.tsv") + " --init " + model_ + " --replay " +
                              train_ + " --replay-share 2 -q --progress none --json -s " + child);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Replaying 40 sessions of " + train_), std::string::npos) << r.output;
  const Model continued = load_model(child);
  EXPECT_EQ(continued.stats.sessions, 40 + 20);
  EXPECT_EQ(continued.num_items(), parent.num_items() + 1);
  // Items of the older file join only with a drawn session: none with share 0.
  write(dir_.file("old.tsv"), "SessionId\tItemId\tTime\no1\tonly-old\t1\no1\tonly-old-2\t2\n");
  const RunResult none =
      run_cli("train " + dir_.file("day.tsv") + " --init " + model_ + " --replay " +
              dir_.file("old.tsv") + " --replay-share 0 -q --progress none -s " + child);
  ASSERT_EQ(none.exit_code, 0) << none.output;
  EXPECT_EQ(load_model(child).num_items(), parent.num_items() + 1);
  const RunResult one =
      run_cli("train " + dir_.file("day.tsv") + " --init " + model_ + " --replay " +
              dir_.file("old.tsv") + " --replay-share 1 -q --progress none -s " + child);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(load_model(child).num_items(), parent.num_items() + 3);
  // Replay belongs to a continuation; a negative share is refused.
  EXPECT_NE(run_cli("train " + dir_.file("day.tsv") + " --replay " + train_ + " -q --progress none")
                .exit_code,
            0);
  EXPECT_NE(run_cli("train " + dir_.file("day.tsv") + " --init " + model_ + " --replay " + train_ +
                    " --replay-share -1 -q --progress none")
                .exit_code,
            0);
}

TEST_F(CliTest, PredictGivesTheTopItemsOfTheOfflineScores) {
  ASSERT_EQ(run_cli("train " + train_ + kFast + " -q --progress none -s " + model_).exit_code, 0);
  const Model model = load_model(model_);
  const std::string& a = model.items.id(3);
  const std::string& b = model.items.id(7);
  const std::string& c = model.items.id(11);
  // s1: a b; s2: c, an unknown item (skipped), c; s3: only unknown items (left out).
  write(dir_.file("s.tsv"), "SessionId\tItemId\tTime\ns1\t" + a + "\t1\ns1\t" + b + "\t2\ns2\t" +
                                c + "\t1\ns2\tnew-item\t2\ns2\t" + c + "\t3\ns3\tnew-item\t1\n");
  for (const bool exclude : {false, true}) {
    const std::string out = dir_.file("p.jsonl");
    const RunResult r =
        run_cli("predict " + model_ + " " + dir_.file("s.tsv") + " -k 5 --format jsonl -o " + out +
                (exclude ? " --exclude-seen" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("2 events with items unknown"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("1 sessions without a known item"), std::string::npos) << r.output;
    std::ifstream in(out);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(lines.size(), 2u);
    const Predictor predictor(model);
    auto scratch = predictor.make_scratch(1);
    const std::vector<std::vector<int32_t>> sessions{{3, 7}, {11, 11}};
    for (size_t s = 0; s < 2; ++s) {
      std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
      std::vector<float> scores(static_cast<size_t>(model.num_items()));
      for (int32_t item : sessions[s]) predictor.advance(state, item, scratch);
      predictor.score(state, scores);
      if (exclude) {
        for (int32_t item : sessions[s]) scores[static_cast<size_t>(item)] = NAN;
      }
      std::vector<ScoredItem> expected(5);
      top_k(scores, 5, expected);
      EXPECT_EQ(lines[s]["session"], s == 0 ? "s1" : "s2");
      ASSERT_EQ(lines[s]["items"].size(), 5u);
      for (size_t k = 0; k < 5; ++k) {
        EXPECT_EQ(lines[s]["items"][k], model.items.id(expected[k].item)) << s << " " << k;
        EXPECT_NEAR(lines[s]["scores"][k].get<double>(), expected[k].score,
                    1e-5 * std::max(1.0f, std::abs(expected[k].score)));
      }
    }
  }
  const RunResult tsv = run_cli("predict " + model_ + " " + dir_.file("s.tsv") + " -k 2");
  EXPECT_NE(tsv.output.find("SessionId\tRank\tItemId\tScore\ns1\t1\t"), std::string::npos)
      << tsv.output;
  EXPECT_NE(run_cli("predict " + model_ + " " + dir_.file("s.tsv") + " -k 0").exit_code, 0);
  EXPECT_NE(run_cli("predict " + model_ + " " + dir_.file("missing.tsv")).exit_code, 0);
}

TEST_F(CliTest, BaselinesReportEveryMetricAsJson) {
  const RunResult r = run_cli("baseline " + train_ + " -t " + test_ +
                              " --algo pop itemknn -p itemknn:n_sims=20 -m 5 20 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json json = nlohmann::json::parse(r.output.substr(r.output.find("{\n")));
  ASSERT_EQ(json["baselines"].size(), 2u);
  EXPECT_EQ(json["baselines"][1]["description"], "itemknn alpha=0.5,lmbd=20,n_sims=20");
  const nlohmann::json& metrics = json["baselines"][1]["evaluations"][0]["metrics"];
  for (const char* name : {"recall@20", "mrr@20", "ndcg@20", "coverage@20", "popularity_bias@20"})
    EXPECT_TRUE(metrics.contains(name)) << name;
  EXPECT_GT(metrics["recall@20"].get<double>(), 0.0);
  const RunResult bad = run_cli("baseline " + train_ + " -t " + test_ + " -p itemknn:size=3");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("itemknn has no parameter"), std::string::npos) << bad.output;
}

TEST_F(CliTest, ValidationEveryEpochAndEarlyStoppingKeepTheBestModel) {
  const RunResult r = run_cli(
      "train " + train_ + kFast + ",n_epochs=6,learning_rate=0.3 --valid " + test_ +
      " --early-stop 2 --stop-metric recall@5 -m 5 10 -q --progress none --json -s " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json json = nlohmann::json::parse(r.output.substr(r.output.find("{\n")));
  const nlohmann::json& history = json["validation"];
  ASSERT_GE(history.size(), 1u);
  double best = -1;
  int best_epoch = 0, since_best = 0;
  for (const auto& entry : history) {
    const double value = entry["metrics"]["recall@5"].get<double>();
    EXPECT_EQ(entry["best"].get<bool>(), value > best);
    if (value > best) {
      best = value;
      best_epoch = entry["epoch"].get<int>();
      since_best = 0;
    } else {
      ++since_best;
    }
  }
  // It stopped after 2 validations without progress, or ran all 6 epochs.
  EXPECT_TRUE(since_best == 2 || history.size() == 6u) << history;
  EXPECT_EQ(load_model(model_).stats.epochs, best_epoch);
  // Bad combinations fail before training.
  RunResult bad = run_cli("train " + train_ + kFast + " --early-stop 2");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--valid"), std::string::npos) << bad.output;
  bad = run_cli("train " + train_ + kFast + " --valid " + test_ +
                " --early-stop 1 --stop-metric mrr@7 -m 5");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("cut-offs"), std::string::npos) << bad.output;
  EXPECT_EQ(bad.output.find("Epoch"), std::string::npos) << bad.output;
}

TEST_F(CliTest, TuneLogsEveryTrialAndResumes) {
  write(dir_.file("space.json"),
        "{\"name\": \"layers\", \"dtype\": \"int\", \"values\": [8, 16], \"step\": 8}\n"
        "{\"name\": \"learning_rate\", \"dtype\": \"float\", \"values\": [0.01, 0.2], "
        "\"log\": true}\n");
  const std::string base = "tune " + train_ + " " + test_ + " --space " + dir_.file("space.json") +
                           " --fixed n_epochs=1,n_sample=16,batch_size=8 --metric recall -m 5 " +
                           "--log " + dir_.file("log.csv");
  RunResult r = run_cli(base + " --trials 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Parameters: n_epochs=1,n_sample=16,batch_size=8,layers="),
            std::string::npos)
      << r.output;
  std::ifstream first(dir_.file("log.csv"));
  const std::string two{std::istreambuf_iterator<char>(first), {}};
  EXPECT_EQ(std::count(two.begin(), two.end(), '\n'), 3) << two;  // header and 2 trials
  r = run_cli(base + " --trials 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 trials done"), std::string::npos) << r.output;
  std::ifstream second(dir_.file("log.csv"));
  const std::string three{std::istreambuf_iterator<char>(second), {}};
  EXPECT_EQ(three.substr(0, two.size()), two);  // the first trials are kept as they were
  EXPECT_EQ(std::count(three.begin(), three.end(), '\n'), 4) << three;
  // A searched parameter that is also fixed, and a bad space, fail before any trial.
  r = run_cli("tune " + train_ + " " + test_ + " --space " + dir_.file("space.json") +
              " --fixed layers=8 --log " + dir_.file("other.csv"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("both fixed"), std::string::npos) << r.output;
  write(dir_.file("bad.json"), "{\"name\": \"layers\", \"dtype\": \"int\"}\n");
  r = run_cli("tune " + train_ + " " + test_ + " --space " + dir_.file("bad.json"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("bad.json:1:"), std::string::npos) << r.output;
}

TEST_F(CliTest, PrepareWritesTheFourFilesAndStatisticsAtomically) {
  std::string raw = "session_id;user_id;item_id;timeframe;eventdate\n";
  // 12 sessions over 12 days of items a, b, c (each well above 5 events).
  for (int day = 1; day <= 12; ++day) {
    raw += fmt::format("{0};NA;a;10;2016-01-{1:02}\n{0};NA;b;20;2016-01-{1:02}\n", day, day);
    raw += fmt::format("{0};NA;c;30;2016-01-{1:02}\n", day, day);
  }
  write(dir_.file("views.csv"), raw);
  const std::string out = dir_.file("prepared");
  const RunResult r =
      run_cli("prepare --preset diginetica " + dir_.file("views.csv") + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name :
       {"train_full.tsv", "test.tsv", "train_tr.tsv", "train_valid.tsv", "stats.json"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + name)) << name;
  std::ifstream in(out + "/stats.json");
  const nlohmann::json stats = nlohmann::json::parse(in);
  // The last event is day 12 + 30 ms: test = the sessions of days 6-12 (starting after day 5 +
  // 30 ms), train_full = days 1-5, day 5 cut before its event at +30 ms.
  EXPECT_EQ(stats["outputs"]["test"]["sessions"], 7);
  EXPECT_EQ(stats["outputs"]["train_full"]["sessions"], 5);
  EXPECT_EQ(stats["outputs"]["train_full"]["events"], 14);
  // The prepared files train and evaluate as they are.
  EXPECT_EQ(run_cli("train " + out + "/train_full.tsv -t " + out + "/test.tsv" + kFast +
                    ",batch_size=2 -q --progress none")
                .exit_code,
            0);
  // An unwritable output folder fails before reading, and leaves nothing behind.
  const RunResult bad = run_cli("prepare --preset diginetica " + dir_.file("views.csv") +
                                " -o /proc/gru4rec-test-out");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("cannot create the output folder"), std::string::npos) << bad.output;
  EXPECT_EQ(bad.output.find("internal"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists("/proc/gru4rec-test-out/test.tsv"));
  write(dir_.file("header.csv"), "a,b,c\n");
  const RunResult header = run_cli("prepare " + dir_.file("header.csv") + " -o " + out +
                                   "2 --session-col a --item-col b --time-col c");
  EXPECT_NE(header.exit_code, 0);
  EXPECT_NE(header.output.find("the input has no event"), std::string::npos) << header.output;
  const RunResult generic = run_cli("prepare " + dir_.file("views.csv") + " -o " + out +
                                    " --session-col session_id --item-col item_id");
  EXPECT_NE(generic.exit_code, 0);
  EXPECT_NE(generic.output.find("--time-col"), std::string::npos) << generic.output;
}

TEST_F(CliTest, UsageErrorsAreReported) {
  EXPECT_NE(run_cli("").exit_code, 0);
  EXPECT_NE(run_cli("train").exit_code, 0);
  EXPECT_NE(run_cli("train " + train_ + " -e optimistic").exit_code, 0);
  const RunResult help = run_cli("train --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("dropout_p_hidden"), std::string::npos);
  EXPECT_NE(help.output.find("[0, 1)"), std::string::npos);
}

TEST(CliSystemInfo, NamesTheCpuTheLibraryCopyAndThePeak) {
  const RunResult r = run_cli("info --system --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json info = nlohmann::json::parse(r.output);
  EXPECT_GE(info["cpu"]["logical_cores"].get<int>(), 1);
  EXPECT_FALSE(info["library"]["level"].get<std::string>().empty());
  EXPECT_NE(info["library"]["path"].get<std::string>().find("libgru4rec"), std::string::npos);
  EXPECT_FALSE(info["library"]["scorer_kernel"].get<std::string>().empty());
  EXPECT_GT(info["fma_peak_gflops"]["one_core"].get<double>(), 0.5);
  EXPECT_GE(info["fma_peak_gflops"]["all_cores"].get<double>(),
            0.5 * info["fma_peak_gflops"]["one_core"].get<double>());
  // FILE and --system exclude each other; neither is an error with a message.
  EXPECT_NE(run_cli("info").exit_code, 0);
  EXPECT_NE(run_cli("info some.g4r --system").exit_code, 0);
}

// `gru4rec serve` as a child process: started with `arguments` (after the model), its stderr
// in `log`; the ports are read from the log. Killed at the end unless it has exited.
struct ServeProcess {
  // `shell_prefix`: commands run by the shell before it execs the server (e.g. "ulimit -n 64;").
  ServeProcess(const std::string& model, const std::string& arguments, const std::string& log,
               const std::string& shell_prefix = "") {
    pid = ::fork();
    if (pid == 0) {
      const std::string command = shell_prefix + "exec " + std::string(GRU4REC_CLI_PATH) +
                                  " serve " + model + " --port 0 " + arguments + " > " + log +
                                  " 2>&1";
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const bool wants_admin = arguments.find("--admin-port") != std::string::npos;
    for (int attempt = 0; attempt < 200 && (port == 0 || (wants_admin && admin == 0)); ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream in(log);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      std::smatch match;
      if (std::regex_search(text, match, std::regex(R"(Serving .* on http://127\.0\.0\.1:(\d+))")))
        port = std::stoi(match[1]);
      if (std::regex_search(text, match, std::regex(R"(Admin .* on http://127\.0\.0\.1:(\d+))")))
        admin = std::stoi(match[1]);
    }
  }
  ~ServeProcess() { kill(); }
  void kill() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  pid_t pid = -1;
  int port = 0, admin = 0;
};

// `gru4rec serve` as a process: SIGHUP reloads another model, the admin listener wants the
// token from its file, SIGTERM turns /ready to 503 and the process exits 0 within its bound.
TEST_F(CliTest, ServeReloadsOnSighupAndStopsGracefullyOnSigterm) {
  ASSERT_EQ(run_cli("train " + train_ + " -s " + model_ + kFast + " -q --progress none").exit_code,
            0);
  const std::string token_file = dir_.file("admin-token");
  write(token_file, "  secret-token-for-the-cli-test\n");
  ServeProcess server(
      model_, "--admin-port 0 --admin-token-file " + token_file + " --drain 1 --shutdown-timeout 3",
      dir_.file("serve.log"));
  const pid_t pid = server.pid;
  const int port = server.port, admin = server.admin;
  ASSERT_GT(port, 0);
  ASSERT_GT(admin, 0);
  testing::HttpClient client(port);
  const auto model_id = [&] {
    return nlohmann::json::parse(client.get("/v1/model").body)["model_id"].get<std::string>();
  };
  const std::string first = model_id();
  // Another model in the file, then SIGHUP: served within a moment.
  Model other = load_model(model_);
  other.weights.By(0) += 0.5f;
  save_model(other, model_);
  ::kill(pid, SIGHUP);
  std::string second = first;
  for (int attempt = 0; attempt < 100 && second == first; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    second = model_id();
  }
  EXPECT_NE(second, first);
  // The admin listener: the token from the file (blanks around it dropped).
  testing::HttpClient admin_client(admin);
  EXPECT_EQ(admin_client.post("/admin/reload", "").status, 401);
  const auto reload = admin_client.post("/admin/reload", "",
                                        "Authorization: Bearer secret-token-for-the-cli-test\r\n");
  EXPECT_EQ(reload.status, 200) << reload.body;
  // SIGTERM: /ready answers 503 while the server drains, then the process exits 0.
  EXPECT_EQ(client.get("/ready").status, 200);
  const auto stop = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  int ready = 200;
  for (int attempt = 0; attempt < 50 && ready == 200; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    testing::HttpClient probe(port);
    ready = probe.get("/ready").status;
  }
  EXPECT_EQ(ready, 503);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  server.pid = -1;  // reaped
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - stop).count(), 4.0);
}

// The model's path replaced by a FIFO (or a device): SIGHUP's reload fails at once instead of
// hanging (it used to wait for a writer forever, with the signal thread, so that SIGTERM was
// ignored), the old model keeps serving, and SIGTERM still stops the process.
TEST_F(CliTest, ServeSurvivesAFifoOrADeviceInPlaceOfItsModel) {
  ASSERT_EQ(run_cli("train " + train_ + " -s " + model_ + kFast + " -q --progress none").exit_code,
            0);
  const std::string served = dir_.file("served.g4r");
  std::filesystem::copy_file(model_, served);
  const std::string log = dir_.file("fifo.log");
  ServeProcess server(served, "--drain 0 --shutdown-timeout 3", log);
  ASSERT_GT(server.port, 0);
  testing::HttpClient client(server.port);
  const std::string item = load_model(model_).items.id(1);
  const std::string body = fmt::format(R"({{"items":["{}"]}})", item);
  ASSERT_EQ(client.post("/v1/recommend", body).status, 200);
  const auto log_text = [&] {
    std::ifstream in(log);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  for (const std::string kind : {"a FIFO", "a character device"}) {
    std::filesystem::remove(served);
    if (kind == "a FIFO")
      ASSERT_EQ(::mkfifo(served.c_str(), 0600), 0);
    else
      std::filesystem::create_symlink("/dev/zero", served);
    ::kill(server.pid, SIGHUP);
    bool logged = false;
    for (int attempt = 0; attempt < 100 && !logged; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      logged = log_text().find("is " + kind + ", expected a regular file") != std::string::npos;
    }
    EXPECT_TRUE(logged) << kind << "\n" << log_text();
    EXPECT_EQ(client.post("/v1/recommend", body).status, 200) << kind;
  }
  const auto stop = std::chrono::steady_clock::now();
  ::kill(server.pid, SIGTERM);
  int status = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::waitpid(server.pid, &status, WNOHANG) == server.pid) {
      server.pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(server.pid, -1) << "SIGTERM did not stop the server\n" << log_text();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - stop).count(), 4.0);
}

// With fewer file descriptors than --max-connections, the clients beyond them get a 503 (a
// descriptor kept in reserve answers them) instead of waiting in the listen queue forever.
TEST_F(CliTest, ServeAnswers503WhenOutOfFileDescriptors) {
  ASSERT_EQ(run_cli("train " + train_ + " -s " + model_ + kFast + " -q --progress none").exit_code,
            0);
  const std::string log = dir_.file("fd.log");
  // Soft and hard limits (the server raises its soft limit to the hard one).
  ServeProcess server(model_, "--max-connections 1000 --io-threads 1", log, "ulimit -n 48; ");
  ASSERT_GT(server.port, 0);
  std::vector<int> clients;
  for (int i = 0; i < 80; ++i) {
    const int fd = testing::connect_local(server.port, 3);
    ASSERT_GE(fd, 0) << i;
    clients.push_back(fd);
  }
  int served = 0, refused = 0, hung = 0;
  for (const int fd : clients) {
    testing::send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string buffer;
    const testing::HttpReply r = testing::read_reply(fd, buffer);
    if (r.status == 200)
      ++served;
    else if (r.status == 503)
      ++refused;
    else
      ++hung;
  }
  for (const int fd : clients) ::close(fd);
  EXPECT_EQ(hung, 0) << served << " served, " << refused << " refused";
  EXPECT_GT(served, 0);
  EXPECT_GT(refused, 0);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("file descriptor limit (48)"), std::string::npos) << text;
  // And the server goes on once they are gone.
  bool again = false;
  for (int attempt = 0; attempt < 50 && !again; ++attempt) {
    testing::HttpClient client(server.port, 3);
    again = client.get("/health").status == 200;
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(again);
}

// Replicas as processes on one Redis: the events of a session sent alternately to two give
// the answers of one process with sessions in memory; a replica killed mid-session, the other
// continues the session.
TEST_F(CliTest, ServeReplicasShareSessionsThroughRedis) {
  if (testing::skip_without_redis()) GTEST_SKIP() << "redis-server is not installed";
  ASSERT_EQ(run_cli("train " + train_ + " -s " + model_ + kFast + " -q --progress none").exit_code,
            0);
  testing::RedisServer redis;
  const std::string store = fmt::format("--session-store redis://127.0.0.1:{}", redis.port());
  ServeProcess alone(model_, "", dir_.file("alone.log"));
  ServeProcess first(model_, store, dir_.file("first.log"));
  ServeProcess second(model_, store, dir_.file("second.log"));
  ASSERT_GT(alone.port, 0);
  ASSERT_GT(first.port, 0);
  ASSERT_GT(second.port, 0);
  testing::HttpClient reference(alone.port), a(first.port), b(second.port);
  const Model model = load_model(model_);
  for (int i = 0; i < 10; ++i) {
    if (i == 6) first.kill();  // mid-session: the rest goes to the other replica
    const std::string body =
        fmt::format(R"({{"item":"{}","k":10}})", model.items.id((i * 5) % model.num_items()));
    const auto expected = nlohmann::json::parse(reference.post("/v1/sessions/v/events", body).body);
    testing::HttpClient& replica = (i % 2 == 0 && i < 6) ? a : b;
    const auto got = replica.post("/v1/sessions/v/events", body);
    ASSERT_EQ(got.status, 200) << got.body;
    const auto json = nlohmann::json::parse(got.body);
    EXPECT_EQ(json["recommendations"], expected["recommendations"]) << i;
    EXPECT_EQ(json["session_events"], i + 1);
    EXPECT_FALSE(json["degraded"].get<bool>());
  }
}

// The JSON document a command printed on stdout after its log lines (run_cli merges them).
nlohmann::json json_after_log(const std::string& output) {
  const size_t start =
      output.rfind("\n{") == std::string::npos ? output.find('{') : output.find("\n{") + 1;
  return nlohmann::json::parse(output.substr(start == std::string::npos ? 0 : start));
}

// Online equals offline: a test log replayed through a server event by event gives, as the
// server's own measure, the offline evaluation's Recall@k and MRR@k (same ties).
TEST_F(CliTest, ReplayThroughAServerMeasuresWhatTheOfflineEvaluationDoes) {
  ASSERT_EQ(run_cli("train " + train_ + " -s " + model_ +
                    " -ps n_epochs=2,layers=24,n_sample=16,batch_size=8 -q --progress none")
                .exit_code,
            0);
  ServeProcess server(model_, "", dir_.file("serve.log"));
  ASSERT_GT(server.port, 0);
  const std::string url = fmt::format(" --server http://127.0.0.1:{}", server.port);
  for (const int k : {20, 5}) {
    const RunResult replay =
        run_cli(fmt::format("replay {}{} -m {} --concurrency 3 --json", test_, url, k));
    ASSERT_EQ(replay.exit_code, 0) << replay.output;
    const RunResult eval = run_cli(fmt::format("eval {} {} -m {} --json", model_, test_, k));
    ASSERT_EQ(eval.exit_code, 0) << eval.output;
    const nlohmann::json online = json_after_log(replay.output)["variants"][0];
    const nlohmann::json offline = json_after_log(eval.output)["evaluations"][0];
    EXPECT_EQ(online["measured"], offline["predictions"]);
    EXPECT_EQ(online["unknown_items"], offline["dropped_unknown_item_events"]);
    EXPECT_GT(offline["predictions"].get<int>(), 100);
    EXPECT_NEAR(online[fmt::format("hit_rate@{}", k)].get<double>(),
                offline["metrics"][fmt::format("recall@{}", k)].get<double>(), 1e-12);
    EXPECT_NEAR(online[fmt::format("mrr@{}", k)].get<double>(),
                offline["metrics"][fmt::format("mrr@{}", k)].get<double>(), 1e-12);
  }
  // Open loop, one pass: events sent at the rate asked whatever the answers, each session's in
  // order, so the server measures the same; the latency is counted from when each was due.
  const RunResult open =
      run_cli(fmt::format("replay {}{} -m 20 --rate 3000 --concurrency 16 --json", test_, url));
  ASSERT_EQ(open.exit_code, 0) << open.output;
  const nlohmann::json open_json = json_after_log(open.output);
  const RunResult eval = run_cli(fmt::format("eval {} {} -m 20 --json", model_, test_));
  const nlohmann::json offline = json_after_log(eval.output)["evaluations"][0];
  EXPECT_EQ(open_json["variants"][0]["measured"], offline["predictions"]);
  EXPECT_NEAR(open_json["variants"][0]["hit_rate@20"].get<double>(),
              offline["metrics"]["recall@20"].get<double>(), 1e-12);
  const nlohmann::json& replayed = open_json["replayed"];
  EXPECT_EQ(replayed["offered_events_per_second"], 3000.0);
  EXPECT_EQ(replayed["answered"], replayed["events"]);
  EXPECT_EQ(replayed["latency_ms"]["from"], "due");
  EXPECT_EQ(replayed["latency_ms"]["count"], replayed["answered"]);
  EXPECT_GT(replayed["latency_ms"]["p50"].get<double>(), 0);
  EXPECT_GE(replayed["latency_ms"]["p99"].get<double>(),
            replayed["latency_ms"]["p50"].get<double>());
  // With a duration: exactly the events due within it (rate x duration), the log replayed again
  // as new sessions when it runs out.
  const RunResult timed = run_cli(fmt::format(
      "replay {}{} --rate 400 --duration 1.5 --sessions 20 --concurrency 8 --json", test_, url));
  ASSERT_EQ(timed.exit_code, 0) << timed.output;
  const nlohmann::json timed_json = json_after_log(timed.output)["replayed"];
  EXPECT_EQ(timed_json["answered"], 600);
  EXPECT_EQ(timed_json["failed_requests"], 0);
  EXPECT_NEAR(timed_json["sending_seconds"].get<double>(), 1.5, 0.01);
  // A server that is not there: a clear error, not a crash.
  const RunResult refused =
      run_cli("replay " + test_ + " --server http://127.0.0.1:1 --concurrency 1");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("127.0.0.1:1"), std::string::npos) << refused.output;
  EXPECT_EQ(refused.output.find("internal"), std::string::npos) << refused.output;
}

// The approximate index from the command line: probing every list finds every item, so the
// answers are the exact ones and the replay still measures the offline evaluation's figures.
TEST_F(CliTest, ServeAnswersFromTheApproximateIndexWhenAsked) {
  ASSERT_EQ(run_cli("train " + train_ + " -s " + model_ + kFast + " -q --progress none").exit_code,
            0);
  ServeProcess server(model_, "--retrieval ann --ann-nlist 4 --ann-nprobe 4",
                      dir_.file("serve.log"));
  ASSERT_GT(server.port, 0);
  std::ifstream log(dir_.file("serve.log"));
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Retrieval: approximate top-k (ivf, nlist 4, nprobe 4)"), std::string::npos)
      << text;
  const RunResult replay = run_cli(fmt::format(
      "replay {} --server http://127.0.0.1:{} -m 20 --concurrency 2 --json", test_, server.port));
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  const RunResult eval = run_cli("eval " + model_ + " " + test_ + " -m 20 --json");
  const nlohmann::json online = json_after_log(replay.output)["variants"][0];
  const nlohmann::json offline = json_after_log(eval.output)["evaluations"][0];
  EXPECT_EQ(online["measured"], offline["predictions"]);
  EXPECT_NEAR(online["hit_rate@20"].get<double>(), offline["metrics"]["recall@20"].get<double>(),
              1e-12);
  EXPECT_NEAR(online["mrr@20"].get<double>(), offline["metrics"]["mrr@20"].get<double>(), 1e-12);
  // Bad retrieval options: a clear error before serving.
  for (const char* bad : {"--retrieval fast", "--retrieval ann --ann-index lsh"}) {
    const RunResult r = run_cli("serve " + model_ + " --port 0 " + bad);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(r.output.find("internal"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace gru4rec
