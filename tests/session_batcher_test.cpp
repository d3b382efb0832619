#include "gru4rec/data/session_batcher.h"

#include <gtest/gtest.h>

namespace gru4rec {
namespace {

// Sessions (item values name them): S0 = 10 11 12, S1 = 20 21, S2 = 30 31 32 33, S3 = 40
// (too short), S4 = 50 51.
SessionLog hand_made_log() {
  SessionLog log;
  log.items = {10, 11, 12, 20, 21, 30, 31, 32, 33, 40, 50, 51};
  log.offsets = {0, 3, 5, 9, 10, 12};
  log.times.assign(log.items.size(), 0.0);
  log.session_ids = {"0", "1", "2", "3", "4"};
  return log;
}

struct Expected {
  std::vector<int32_t> inputs, targets;
  std::vector<uint8_t> ends;
  std::vector<int32_t> kept;
};

std::vector<Expected> run(const SessionLog& log, int batch_size, int min_rows = 1) {
  SessionBatcher batcher(log, {0, 1, 2, 3, 4}, batch_size, min_rows);
  std::vector<Expected> steps;
  SessionBatcher::Step step;
  while (batcher.next(step)) {
    steps.push_back(Expected{{step.inputs.begin(), step.inputs.end()},
                             {step.targets.begin(), step.targets.end()},
                             {step.session_ends.begin(), step.session_ends.end()},
                             {step.kept_rows.begin(), step.kept_rows.end()}});
  }
  return steps;
}

void expect_steps(const std::vector<Expected>& got, const std::vector<Expected>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(got[s].inputs, want[s].inputs) << "step " << s;
    EXPECT_EQ(got[s].targets, want[s].targets) << "step " << s;
    EXPECT_EQ(got[s].ends, want[s].ends) << "step " << s;
    EXPECT_EQ(got[s].kept, want[s].kept) << "step " << s;
  }
}

TEST(SessionBatcher, ProducesTheSessionParallelSequenceAndShrinksAtTheEnd) {
  const SessionLog log = hand_made_log();
  expect_steps(run(log, 2), {
                                {{10, 20}, {11, 21}, {0, 1}, {}},
                                {{11, 30}, {12, 31}, {1, 0}, {}},
                                {{50, 31}, {51, 32}, {1, 0}, {}},  // S3 skipped: length 1
                                {{32}, {33}, {1}, {1}},            // row 0 had no session left
                            });
}

TEST(SessionBatcher, StopsBelowTheMinimumRows) {
  const SessionLog log = hand_made_log();
  EXPECT_EQ(run(log, 2, 2).size(), 3u);
}

TEST(SessionBatcher, BatchLargerThanTheSessionsStartsShrunk) {
  const SessionLog log = hand_made_log();
  const auto steps = run(log, 8);
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps[0].inputs, (std::vector<int32_t>{10, 20, 30, 50}));
  int64_t pairs = 0;
  for (const auto& s : steps) pairs += static_cast<int64_t>(s.inputs.size());
  EXPECT_EQ(pairs, count_transitions(log));  // every (input, target) pair exactly once
}

TEST(SessionBatcher, RestartReplaysTheEpoch) {
  const SessionLog log = hand_made_log();
  SessionBatcher batcher(log, {0, 1, 2, 3, 4}, 2);
  SessionBatcher::Step step;
  int first = 0, second = 0;
  while (batcher.next(step)) ++first;
  batcher.restart();
  while (batcher.next(step)) ++second;
  EXPECT_EQ(first, 4);
  EXPECT_EQ(second, 4);
}

}  // namespace
}  // namespace gru4rec
