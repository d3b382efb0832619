#include "gru4rec/data/session_reader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "gru4rec/core/error.h"
#include "test_support.h"

namespace gru4rec {
namespace {

SessionLog read_train(const std::string& text, ItemIndex& items, ReadReport* report = nullptr,
                      ReadOptions options = {}) {
  return parse_training_log(text, "data.tsv", options, items, report);
}

std::string error_of(const std::string& text, ReadOptions options = {}) {
  ItemIndex items;
  try {
    parse_training_log(text, "data.tsv", options, items);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SessionReader, ReadsTabSeparatedSessionsWithStringIds) {
  ItemIndex items;
  ReadReport report;
  SessionLog log = read_train(
      "SessionId\tItemId\tTime\n"
      "s1\tapple\t1.5\n"
      "s1\tpear\t2\n"
      "s2\tpear\t3\n",
      items, &report);
  ASSERT_EQ(log.num_sessions(), 2);
  EXPECT_EQ(log.num_events(), 3);
  EXPECT_EQ(items.size(), 2);
  EXPECT_EQ(items.id(0), "apple");  // order of first appearance
  EXPECT_EQ(items.id(1), "pear");
  EXPECT_EQ(log.items, (std::vector<int32_t>{0, 1, 1}));
  EXPECT_EQ(log.offsets, (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(log.session_ids[1], "s2");
  EXPECT_DOUBLE_EQ(log.times[0], 1.5);
  EXPECT_FALSE(report.was_sorted);
  EXPECT_EQ(count_transitions(log), 1);
}

TEST(SessionReader, ReadsCommaSeparatedWithOtherColumnNamesCrlfBomAndQuotes) {
  ReadOptions options;
  options.columns = ColumnNames{"sid", "item", "ts"};
  ItemIndex items;
  SessionLog log =
      read_train("\xEF\xBB\xBFts,extra,\"sid\",item\r\n10,x,1,\"a\"\r\n11,y,1,b\r\n\r\n", items,
                 nullptr, options);
  ASSERT_EQ(log.num_events(), 2);
  EXPECT_EQ(items.id(0), "a");
  EXPECT_DOUBLE_EQ(log.times[1], 11);
}

TEST(SessionReader, SortsUnsortedInputStablyBySessionThenTime) {
  ItemIndex items;
  ReadReport report;
  SessionLog log = read_train(
      "SessionId\tItemId\tTime\n"
      "1\ta\t5\n"
      "2\tb\t1\n"
      "1\tc\t3\n"
      "1\td\t3\n",
      items, &report);
  EXPECT_TRUE(report.was_sorted);
  ASSERT_EQ(log.num_sessions(), 2);
  // Session 1: c (3), d (3, after c: stable), a (5); then session 2.
  std::vector<std::string> order;
  for (int32_t item : log.items) order.push_back(items.id(item));
  EXPECT_EQ(order, (std::vector<std::string>{"c", "d", "a", "b"}));
  EXPECT_EQ(log.offsets, (std::vector<int64_t>{0, 3, 4}));
  // Training order follows the first timestamp: session "2" (t=1) before session "1" (t=3).
  EXPECT_EQ(session_order_by_time(log), (std::vector<int64_t>{1, 0}));
}

TEST(SessionReader, TestDataDropsUnknownItemsAndJoinsTheRest) {
  ItemIndex items;
  items.insert("A");
  items.insert("B");
  ReadReport report;
  SessionLog log = parse_test_log(
      "SessionId\tItemId\tTime\n"
      "1\tA\t1\n1\tX\t2\n1\tB\t3\n"
      "2\tY\t1\n"
      "3\tB\t4\n",
      "test.tsv", ReadOptions{}, items, &report);
  EXPECT_EQ(report.dropped_unknown_items, 2);
  EXPECT_EQ(report.dropped_sessions, 1);
  ASSERT_EQ(log.num_sessions(), 2);
  EXPECT_EQ(log.items, (std::vector<int32_t>{0, 1, 1}));  // A -> B, then B
  EXPECT_EQ(items.size(), 2);                             // nothing added
}

TEST(SessionReader, SupportsCountEvents) {
  ItemIndex items;
  SessionLog log = read_train("SessionId,ItemId,Time\n1,a,1\n1,b,2\n2,a,3\n", items);
  EXPECT_EQ(item_supports(log, items.size()), (std::vector<int64_t>{2, 1}));
}

TEST(SessionReader, RejectsBadInputWithFileLineAndExpectation) {
  EXPECT_NE(error_of("").find("data.tsv: the file is empty"), std::string::npos);
  EXPECT_NE(error_of("SessionId\tItemId\tTime\n").find("no events"), std::string::npos);
  const std::string missing = error_of("SessionId\tItem\tTime\n1\ta\t1\n");
  EXPECT_NE(missing.find("data.tsv:1: no column named 'ItemId'"), std::string::npos) << missing;
  EXPECT_NE(missing.find("-ik"), std::string::npos);
  const std::string separator = error_of("SessionId;ItemId;Time\n1;a;1\n");
  EXPECT_NE(separator.find("no tab or comma"), std::string::npos) << separator;
  const std::string few = error_of("SessionId\tItemId\tTime\n1\ta\t1\n2\tb\n");
  EXPECT_NE(few.find("data.tsv:3: too few fields: found 2, expected at least 3"), std::string::npos)
      << few;
  const std::string time = error_of("SessionId\tItemId\tTime\n1\ta\tnoon\n");
  EXPECT_NE(time.find("data.tsv:2: Time value 'noon' is not a number"), std::string::npos) << time;
  EXPECT_NE(error_of("SessionId\tItemId\tTime\n\ta\t1\n").find("data.tsv:2: empty SessionId"),
            std::string::npos);
  EXPECT_NE(error_of("SessionId\tSessionId\tItemId\tTime\n").find("appears twice"),
            std::string::npos);
  // A comma-separated file read with a forced tab separator has no such columns.
  ReadOptions tab;
  tab.separator = '\t';
  EXPECT_NE(error_of("SessionId,ItemId,Time\n1,a,1\n", tab).find("no column named 'SessionId'"),
            std::string::npos);
}

TEST(SessionReader, ReadsKeyColumnsBeyondTheSixtyFourth) {
  std::string header, row;
  for (int c = 0; c < 70; ++c) {
    header += "c" + std::to_string(c) + "\t";
    row += std::to_string(c) + "\t";
  }
  ReadOptions options;
  options.columns = ColumnNames{"c66", "c67", "c68"};
  ItemIndex items;
  const SessionLog log = parse_training_log(header + "\n" + row + "\n", "wide.tsv", options, items);
  ASSERT_EQ(log.num_events(), 1);
  EXPECT_EQ(items.id(0), "67");
}

TEST(SessionReader, RejectsTwoKeysNamingTheSameColumn) {
  ReadOptions options;
  options.columns = ColumnNames{"A", "A", "Time"};
  EXPECT_NE(error_of("A\tTime\n1\t2\n", options).find("must name three different columns"),
            std::string::npos);
}

TEST(SessionReader, ReadsAFileFromDiskAndNamesItInErrors) {
  ItemIndex items;
  try {
    read_training_log("/nonexistent/train.tsv", ReadOptions{}, items);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/train.tsv: cannot open"), std::string::npos);
  }
}

TEST(SessionReader, ReadsGzipAndZstdFilesAsThePlainOne) {
  const std::string text = "SessionId\tItemId\tTime\n1\ta\t1\n1\tb\t2\n2\tb\t3\n2\tc\t4\n2\ta\t5\n";
  testing::TempDir dir;
  std::ofstream(dir.file("plain.tsv")) << text;
  testing::write_gzip(dir.file("data.tsv.gz"), text);
  testing::write_zstd(dir.file("data.zst"), text);  // detected from the bytes, not the name
  ItemIndex plain_items;
  const SessionLog plain = read_training_log(dir.file("plain.tsv"), ReadOptions{}, plain_items);
  ASSERT_EQ(plain.num_events(), 5);
  for (const char* name : {"data.tsv.gz", "data.zst"}) {
    ItemIndex items;
    const SessionLog log = read_training_log(dir.file(name), ReadOptions{}, items);
    EXPECT_EQ(log.items, plain.items) << name;
    EXPECT_EQ(log.offsets, plain.offsets) << name;
    EXPECT_EQ(log.session_ids, plain.session_ids) << name;
    EXPECT_EQ(log.times, plain.times) << name;
    const SessionLog test = read_test_log(dir.file(name), ReadOptions{}, items);
    EXPECT_EQ(test.items, plain.items) << name;
  }
  // Errors name the compressed file and the line of the decompressed text.
  testing::write_gzip(dir.file("bad.tsv.gz"), text + "3\tx\tnot-a-time\n");
  ItemIndex items;
  try {
    read_training_log(dir.file("bad.tsv.gz"), ReadOptions{}, items);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.tsv.gz:7: Time value"), std::string::npos)
        << e.what();
  }
  // A corrupt stream is an error, never a partial log.
  std::ofstream(dir.file("broken.gz"), std::ios::binary) << std::string("\x1f\x8b\x08\x00junk", 8);
  EXPECT_THROW(read_training_log(dir.file("broken.gz"), ReadOptions{}, items), Error);
}

TEST(SessionReader, LongLinesAndSessionIdsSurviveTheLineBuffer) {
  // Lines longer than the reader's 1 MiB buffer and many sessions (whose ids are kept while
  // the buffer is reused) read the same from a file as from memory.
  std::string text = "SessionId\tItemId\tTime\tNote\n";
  for (int s = 0; s < 3000; ++s) {
    for (int e = 0; e < 3; ++e) {
      text += fmt::format("session-{}\titem-{}\t{}\t{}\n", s, (s * 7 + e) % 101, s * 10 + e,
                          s == 1500 && e == 1 ? std::string(3 << 20, 'x') : "n");
    }
  }
  testing::TempDir dir;
  std::ofstream(dir.file("long.tsv")) << text;
  ItemIndex file_items, memory_items;
  const SessionLog from_file = read_training_log(dir.file("long.tsv"), ReadOptions{}, file_items);
  const SessionLog from_memory = parse_training_log(text, "m", ReadOptions{}, memory_items);
  EXPECT_EQ(from_file.session_ids, from_memory.session_ids);
  EXPECT_EQ(from_file.items, from_memory.items);
  EXPECT_EQ(from_file.num_sessions(), 3000);
  EXPECT_EQ(from_file.session_ids[2999], "session-2999");
}

}  // namespace
TEST(SessionReader, ColumnsInMemoryGiveTheLogOfTheSameText) {
  // Unsorted on purpose: session "b" interleaved, a time going back.
  const std::vector<std::string> sessions = {"a", "b", "a", "b", "c", "a"};
  const std::vector<std::string> items = {"10", "11", "12", "10", "13", "11"};
  const std::vector<double> times = {1, 2, 3, 1.5, 4, 2.5};
  std::string text = "SessionId\tItemId\tTime\n";
  for (size_t i = 0; i < sessions.size(); ++i)
    text += fmt::format("{}\t{}\t{}\n", sessions[i], items[i], times[i]);
  EventColumns columns;
  columns.size = sessions.size();
  columns.session = [&](size_t i) { return std::string_view(sessions[i]); };
  columns.item = [&](size_t i) { return std::string_view(items[i]); };
  columns.times = times;
  ItemIndex from_text_items, from_columns_items;
  ReadReport text_report, columns_report;
  const SessionLog from_text =
      parse_training_log(text, "t", ReadOptions{}, from_text_items, &text_report);
  const SessionLog from_columns =
      training_log_from_columns(columns, from_columns_items, &columns_report);
  EXPECT_EQ(from_columns.items, from_text.items);
  EXPECT_EQ(from_columns.times, from_text.times);
  EXPECT_EQ(from_columns.offsets, from_text.offsets);
  EXPECT_EQ(from_columns.session_ids, from_text.session_ids);
  EXPECT_EQ(from_columns_items.size(), from_text_items.size());
  EXPECT_TRUE(columns_report.was_sorted);
  // Test data: unknown items dropped and counted, as from a file.
  const std::vector<std::string> test_items = {"10", "99", "12", "10", "99", "11"};
  columns.item = [&](size_t i) { return std::string_view(test_items[i]); };
  ReadReport test_report;
  const SessionLog test = test_log_from_columns(columns, from_columns_items, &test_report);
  EXPECT_EQ(test_report.dropped_unknown_items, 2);
  EXPECT_EQ(test_report.dropped_sessions, 1);  // "c" had only the unknown item
  EXPECT_EQ(test.num_events(), 4);
  // Bad values: what is wrong and where.
  const std::vector<double> bad_times = {1, 2, std::nan(""), 4, 5, 6};
  columns.item = [&](size_t i) { return std::string_view(items[i]); };
  columns.times = bad_times;
  ItemIndex scratch;
  try {
    training_log_from_columns(columns, scratch);
    FAIL() << "a NaN time was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("event 3"), std::string::npos) << e.what();
  }
  columns.times = times;
  const std::vector<std::string> empty_id = {"a", "", "a", "b", "c", "a"};
  columns.session = [&](size_t i) { return std::string_view(empty_id[i]); };
  EXPECT_THROW(training_log_from_columns(columns, scratch), Error);
  columns.size = 0;
  EXPECT_THROW(training_log_from_columns(columns, scratch), Error);
}

}  // namespace gru4rec
