// Every input of the committed fuzz corpus (fuzz/corpus/TARGET) and every input that once made a
// target fail (fuzz/regressions/TARGET) through its fuzz target, in the ordinary build and under
// the sanitizers (scripts/sanitize.sh): what the fuzzers found stays fixed. A failing input
// aborts the test program with the target's message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "targets/fuzz_targets.h"

namespace gru4rec {
namespace {

class FuzzCorpus : public ::testing::TestWithParam<fuzz::NamedTarget> {};

TEST_P(FuzzCorpus, EveryKeptInputRunsCleanly) {
  const fuzz::NamedTarget target = GetParam();
  size_t inputs = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    const std::filesystem::path dir =
        std::filesystem::path(GRU4REC_FUZZ_DIR) / kind / std::string(target.name);
    if (!std::filesystem::is_directory(dir)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      SCOPED_TRACE(file.string());
      target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++inputs;
    }
  }
  // A target without a seed corpus would be fuzzed from nothing: every one has some.
  EXPECT_GE(inputs, 3u) << "fuzz/corpus/" << target.name;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(fuzz::kTargets),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace gru4rec
