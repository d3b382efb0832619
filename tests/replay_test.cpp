#include "gru4rec/data/replay.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

// Session i of the log has id prefix + i and the items (i, i + 1), at times 10 i and 10 i + 1.
SessionLog numbered_log(const std::string& prefix, int sessions, int32_t first_item) {
  SessionLog log;
  for (int i = 0; i < sessions; ++i) {
    log.items.push_back(first_item + i);
    log.items.push_back(first_item + i + 1);
    log.times.push_back(10.0 * i);
    log.times.push_back(10.0 * i + 1);
    log.offsets.push_back(static_cast<int64_t>(log.items.size()));
    log.session_ids.push_back(prefix + std::to_string(i));
  }
  return log;
}

TEST(Replay, DrawsTheShareOfTheRecentSessionsThenKeepsEveryRecentOne) {
  const SessionLog recent = numbered_log("new", 4, 100);
  const SessionLog older = numbered_log("old", 50, 0);
  const SessionLog merged = with_replayed_sessions(recent, older, 1.5, 7);
  ASSERT_EQ(merged.num_sessions(), 6 + 4);
  ASSERT_EQ(merged.num_events(), 2 * 10);
  std::set<std::string> drawn;
  for (int64_t s = 0; s < 6; ++s) {
    const std::string& id = merged.session_ids[static_cast<size_t>(s)];
    ASSERT_EQ(id.rfind("old", 0), 0u) << id;
    drawn.insert(id);
    const int i = std::stoi(id.substr(3));  // the session's events came with it
    EXPECT_EQ(merged.session_items(s)[0], i);
    EXPECT_EQ(merged.session_items(s)[1], i + 1);
    EXPECT_EQ(merged.times[static_cast<size_t>(merged.offsets[static_cast<size_t>(s)])], 10.0 * i);
  }
  EXPECT_EQ(drawn.size(), 6u);  // without replacement
  for (int64_t s = 0; s < 4; ++s) {
    EXPECT_EQ(merged.session_ids[static_cast<size_t>(6 + s)], "new" + std::to_string(s));
    EXPECT_EQ(merged.session_items(6 + s)[0], 100 + s);
  }
}

TEST(Replay, TheSeedDecidesTheDraw) {
  const SessionLog recent = numbered_log("new", 5, 100);
  const SessionLog older = numbered_log("old", 1000, 0);
  const SessionLog a = with_replayed_sessions(recent, older, 1, 1);
  const SessionLog b = with_replayed_sessions(recent, older, 1, 1);
  const SessionLog c = with_replayed_sessions(recent, older, 1, 2);
  EXPECT_EQ(a.session_ids, b.session_ids);
  EXPECT_NE(a.session_ids, c.session_ids);
}

TEST(Replay, NeverDrawsARecentSessionAndStopsAtWhatIsLeft) {
  const SessionLog recent = numbered_log("s", 3, 0);   // s0, s1, s2
  const SessionLog history = numbered_log("s", 5, 0);  // the whole history: s0 .. s4
  const SessionLog merged = with_replayed_sessions(recent, history, 10, 3);
  ASSERT_EQ(merged.num_sessions(), 2 + 3);  // only s3 and s4 are older
  EXPECT_EQ(merged.session_ids[0], "s3");
  EXPECT_EQ(merged.session_ids[1], "s4");
  EXPECT_EQ(with_replayed_sessions(recent, history, 0, 3).session_ids, recent.session_ids);
  EXPECT_EQ(with_replayed_sessions(recent, history, 1e300, 3).num_sessions(), 2 + 3);
}

TEST(Replay, RefusesABadShare) {
  const SessionLog log = numbered_log("s", 2, 0);
  EXPECT_THROW(with_replayed_sessions(log, log, -0.5, 1), Error);
  EXPECT_THROW(with_replayed_sessions(log, log, std::numeric_limits<double>::quiet_NaN(), 1),
               Error);
}

}  // namespace
}  // namespace gru4rec
