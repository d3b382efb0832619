// gru4rec prepare: each preset on small hand-made raw files against outputs written out by
// hand, the shared raw samples through the generic and named readers, compressed inputs, the
// iterated filters and the split, and the bad inputs.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gru4rec/core/error.h"
#include "gru4rec/data/line_input.h"
#include "gru4rec/prepare/presets.h"
#include "test_support.h"

namespace gru4rec {
namespace {

void write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string text_of(const PreparedLog& log, const EventTable& table, bool seconds) {
  std::ostringstream out;
  write_log(out, log, table, seconds);
  return out.str();
}

struct Prepared {
  EventTable table;
  PreparedData data;
};

Prepared prepare_file(const std::string& path, const Preset& preset, bool skip_bad_lines = false) {
  Prepared run;
  read_raw_events(path, preset.format, skip_bad_lines, run.table);
  run.data = prepare_events(run.table, preset.options);
  return run;
}

class PrepareTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST(Iso8601, ParsesDatesTimesFractionsAndZones) {
  EXPECT_EQ(parse_iso8601_ms("1970-01-01"), 0);
  EXPECT_EQ(parse_iso8601_ms("2016-01-01"), 1451606400000);
  EXPECT_EQ(parse_iso8601_ms("2014-04-07T10:51:09.277Z"), 1396867869277);
  EXPECT_EQ(parse_iso8601_ms("2019-10-01 00:00:00 UTC"), 1569888000000);
  EXPECT_EQ(parse_iso8601_ms("2009-05-04T23:08:57Z"), 1241478537000);
  EXPECT_EQ(parse_iso8601_ms("2016-01-01T02:00:00+02:00"), 1451606400000);
  EXPECT_EQ(parse_iso8601_ms("2016-01-01T00:00:00.5"), 1451606400500);
  EXPECT_FALSE(parse_iso8601_ms("2016-13-01"));
  EXPECT_FALSE(parse_iso8601_ms("yesterday"));
  EXPECT_FALSE(parse_iso8601_ms("2016-01-01X"));
}

// Diginetica: ';'-separated, not time-ordered; time = the session's first day + timeframe.
// A support 7, B support 6, C 1 (dropped, and its one-event session with it); session 3's
// repeat A A is deduplicated; session 7's events are on two dates, both timed from the first.
// Max time 2016-01-20 + 2 ms: test = sessions starting in the last 7 days (4), validation =
// those starting in the 7 days before (5).
TEST_F(PrepareTest, DigineticaPresetByHand) {
  write(dir_.file("views.csv"),
        "session_id;user_id;item_id;timeframe;eventdate\n"
        "1;NA;A;100;2016-01-01\n1;NA;B;200;2016-01-01\n1;NA;A;300;2016-01-01\n"
        "2;NA;B;50;2016-01-02\n2;NA;A;10;2016-01-02\n"
        "3;NA;A;5;2016-01-03\n3;NA;A;6;2016-01-03\n3;5;B;7;2016-01-03\n"
        "4;NA;A;1;2016-01-20\n4;NA;B;2;2016-01-20\n"
        "5;NA;B;1;2016-01-10\n5;NA;A;2;2016-01-10\n"
        "6;NA;C;1;2016-01-02\n"
        "7;NA;A;1000;2016-01-06\n7;NA;B;500;2016-01-05\n");
  const Prepared run = prepare_file(dir_.file("views.csv"), find_preset("diginetica"));
  const std::string head = "SessionId\tItemId\tTime\n";
  EXPECT_EQ(text_of(run.data.train_full, run.table, false),
            head +
                "1\tA\t1451606400100\n1\tB\t1451606400200\n1\tA\t1451606400300\n"
                "2\tA\t1451692800010\n2\tB\t1451692800050\n"
                "3\tA\t1451779200005\n3\tB\t1451779200007\n"
                "5\tB\t1452384000001\n5\tA\t1452384000002\n"
                "7\tB\t1451952000500\n7\tA\t1451952001000\n");
  EXPECT_EQ(text_of(run.data.test, run.table, false),
            head + "4\tA\t1453248000001\n4\tB\t1453248000002\n");
  EXPECT_EQ(text_of(run.data.train_tr, run.table, false),
            head +
                "1\tA\t1451606400100\n1\tB\t1451606400200\n1\tA\t1451606400300\n"
                "2\tA\t1451692800010\n2\tB\t1451692800050\n"
                "3\tA\t1451779200005\n3\tB\t1451779200007\n"
                "7\tB\t1451952000500\n7\tA\t1451952001000\n");
  EXPECT_EQ(text_of(run.data.train_valid, run.table, false),
            head + "5\tB\t1452384000001\n5\tA\t1452384000002\n");
}

// RetailRocket: sessions per visitor cut at 1 h gaps on every event type, then only views:
// visitor 1's add-to-cart 50 min after the view bridges the 100 min between its two views.
// Split at 2015-09-18 03:00 UTC: test = sessions from 2015-09-11 03:00, validation from
// 2015-09-04 03:00.
TEST_F(PrepareTest, RetailRocketPresetByHand) {
  write(dir_.file("events.csv"),
        "timestamp,visitorid,event,itemid,transactionid\n"
        "1441000000000,1,view,X,\n1441003000000,1,addtocart,Z,\n1441006000000,1,view,Y,\n"
        "1441086400000,2,view,X,\n1441087000000,2,view,Y,\n"
        "1441172800000,3,view,Y,\n1441173100000,3,view,X,\n"
        "1441500000000,4,view,X,\n1441500060000,4,view,Y,\n"
        "1442000000000,5,view,X,\n1442000060000,5,view,Y,\n"
        "1442000070000,5,transaction,,77\n");
  const Prepared run = prepare_file(dir_.file("events.csv"), find_preset("retailrocket"));
  const std::string head = "SessionId\tItemId\tTime\n";
  const std::string early =
      "1_1\tX\t1441000000000\n1_1\tY\t1441006000000\n"
      "2_1\tX\t1441086400000\n2_1\tY\t1441087000000\n"
      "3_1\tY\t1441172800000\n3_1\tX\t1441173100000\n";
  EXPECT_EQ(text_of(run.data.train_full, run.table, false),
            head + early + "4_1\tX\t1441500000000\n4_1\tY\t1441500060000\n");
  EXPECT_EQ(text_of(run.data.train_tr, run.table, false), head + early);
  EXPECT_EQ(text_of(run.data.train_valid, run.table, false),
            head + "4_1\tX\t1441500000000\n4_1\tY\t1441500060000\n");
  EXPECT_EQ(text_of(run.data.test, run.table, false),
            head + "5_1\tX\t1442000000000\n5_1\tY\t1442000060000\n");
}

// RSC15: no header, ISO times, no dedupe (session 1 keeps P P), one filter pass, split by
// session END: sessions ending in the last day are test (5; 6 loses R, then its length).
TEST_F(PrepareTest, Rsc15PresetByHand) {
  write(dir_.file("clicks.dat"),
        "1,2014-04-01T10:00:00.000Z,P,0\n1,2014-04-01T10:01:00.000Z,P,0\n"
        "1,2014-04-01T10:02:00.000Z,Q,0\n"
        "2,2014-04-02T10:00:00.000Z,Q,0\n2,2014-04-02T10:00:01.000Z,P,0\n"
        "3,2014-04-03T10:00:00.000Z,P,0\n3,2014-04-03T10:00:01.000Z,Q,0\n"
        "4,2014-04-05T09:00:00.000Z,P,0\n4,2014-04-05T09:00:01.000Z,Q,0\n"
        "5,2014-04-06T12:00:00.000Z,P,0\n5,2014-04-06T12:00:01.000Z,Q,0\n"
        "6,2014-04-06T08:00:00.000Z,R,0\n6,2014-04-06T08:00:01.000Z,P,0\n");
  const Prepared run = prepare_file(dir_.file("clicks.dat"), find_preset("rsc15"));
  const std::string head = "SessionId\tItemId\tTime\n";
  const std::string first_three =
      "1\tP\t1396346400\n1\tP\t1396346460\n1\tQ\t1396346520\n"
      "2\tQ\t1396432800\n2\tP\t1396432801\n"
      "3\tP\t1396519200\n3\tQ\t1396519201\n";
  EXPECT_EQ(text_of(run.data.train_full, run.table, true),
            head + first_three + "4\tP\t1396688400\n4\tQ\t1396688401\n");
  EXPECT_EQ(text_of(run.data.test, run.table, true), head + "5\tP\t1396785600\n5\tQ\t1396785601\n");
  EXPECT_EQ(text_of(run.data.train_tr, run.table, true), head + first_three);
  EXPECT_EQ(text_of(run.data.train_valid, run.table, true),
            head + "4\tP\t1396688400\n4\tQ\t1396688401\n");
}

// Yoochoose: the RSC15 raw format, but consecutive repeats removed (session 1's P P), the
// filters iterated (session 6 loses R, then its length) and the split by session START.
TEST_F(PrepareTest, YoochoosePresetByHand) {
  write(dir_.file("clicks.dat"),
        "1,2014-04-01T10:00:00.000Z,P,0\n1,2014-04-01T10:01:00.000Z,P,0\n"
        "1,2014-04-01T10:02:00.000Z,Q,0\n"
        "2,2014-04-02T10:00:00.000Z,Q,0\n2,2014-04-02T10:00:01.000Z,P,0\n"
        "3,2014-04-03T10:00:00.000Z,P,0\n3,2014-04-03T10:00:01.000Z,Q,0\n"
        "4,2014-04-05T09:00:00.000Z,P,0\n4,2014-04-05T09:00:01.000Z,Q,0\n"
        "6,2014-04-06T08:00:00.000Z,R,0\n6,2014-04-06T08:00:01.000Z,P,0\n");
  write(dir_.file("test.dat"), "5,2014-04-06T12:00:00.000Z,P,0\n5,2014-04-06T12:00:01.000Z,Q,0\n");
  Prepared run;
  const Preset& preset = find_preset("yoochoose");
  read_raw_events(dir_.file("clicks.dat"), preset.format, false, run.table);
  read_raw_events(dir_.file("test.dat"), preset.format, false, run.table);  // both files
  run.data = prepare_events(run.table, preset.options);
  const std::string head = "SessionId\tItemId\tTime\n";
  const std::string first_three =
      "1\tP\t1396346400\n1\tQ\t1396346520\n"
      "2\tQ\t1396432800\n2\tP\t1396432801\n"
      "3\tP\t1396519200\n3\tQ\t1396519201\n";
  EXPECT_EQ(text_of(run.data.train_full, run.table, true),
            head + first_three + "4\tP\t1396688400\n4\tQ\t1396688401\n");
  EXPECT_EQ(text_of(run.data.test, run.table, true), head + "5\tP\t1396785600\n5\tQ\t1396785601\n");
  EXPECT_EQ(text_of(run.data.train_tr, run.table, true), head + first_three);
  EXPECT_EQ(text_of(run.data.train_valid, run.table, true),
            head + "4\tP\t1396688400\n4\tQ\t1396688401\n");
}

// Rees46: views only, THEN users cut at 1 h gaps (user 1's cart event does not bridge its two
// views 80 min apart, so both its sessions have one event and go); split at 2019-12-01 UTC
// with 1-day spans.
TEST_F(PrepareTest, Rees46PresetByHand) {
  const std::string head_raw =
      "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_"
      "session\n";
  const auto row = [](const std::string& time, const std::string& type, const std::string& item,
                      const std::string& user) {
    return time + " UTC," + type + "," + item + ",1,,brand,1.0," + user + ",s\n";
  };
  write(dir_.file("2019-Nov.csv"), head_raw + row("2019-11-20 10:00:00", "view", "X", "1") +
                                       row("2019-11-20 10:30:00", "cart", "Y", "1") +
                                       row("2019-11-20 11:20:00", "view", "Y", "1") +
                                       row("2019-11-21 10:00:00", "view", "X", "2") +
                                       row("2019-11-21 10:10:00", "view", "Y", "2") +
                                       row("2019-11-22 10:00:00", "view", "X", "3") +
                                       row("2019-11-22 10:10:00", "view", "Y", "3") +
                                       row("2019-11-23 10:00:00", "view", "Y", "4") +
                                       row("2019-11-23 10:10:00", "view", "X", "4") +
                                       row("2019-11-29 05:00:00", "view", "X", "5") +
                                       row("2019-11-29 05:10:00", "view", "Y", "5") +
                                       row("2019-11-30 08:00:00", "view", "X", "6") +
                                       row("2019-11-30 08:10:00", "view", "Y", "6"));
  const Prepared run = prepare_file(dir_.file("2019-Nov.csv"), find_preset("rees46"));
  const std::string head = "SessionId\tItemId\tTime\n";
  const std::string early =
      "2_1\tX\t1574330400\n2_1\tY\t1574331000\n"
      "3_1\tX\t1574416800\n3_1\tY\t1574417400\n"
      "4_1\tY\t1574503200\n4_1\tX\t1574503800\n";
  EXPECT_EQ(text_of(run.data.train_full, run.table, true),
            head + early + "5_1\tX\t1575003600\n5_1\tY\t1575004200\n");
  EXPECT_EQ(text_of(run.data.train_tr, run.table, true), head + early);
  EXPECT_EQ(text_of(run.data.train_valid, run.table, true),
            head + "5_1\tX\t1575003600\n5_1\tY\t1575004200\n");
  EXPECT_EQ(text_of(run.data.test, run.table, true),
            head + "6_1\tX\t1575100800\n6_1\tY\t1575101400\n");
}

// Coveo: the given sessions cut further at 1 h gaps computed on EVERY event (session a's page
// view without a product bridges its two detail views), then only detail views; b is cut in
// two. Max time: e's last event; 1-day test and validation spans.
TEST_F(PrepareTest, CoveoPresetByHand) {
  std::string raw =
      "session_id_hash,event_type,product_action,product_sku_hash,server_timestamp_epoch_ms,"
      "hashed_url\n";
  const auto row = [&](const std::string& session, const std::string& action,
                       const std::string& item, int64_t time) {
    raw += session + "," + (action.empty() ? "pageview" : "event_product") + "," + action + "," +
           item + "," + std::to_string(time) + ",u\n";
  };
  row("a", "detail", "K", 1600000000000);
  row("a", "", "", 1600002400000);
  row("a", "detail", "L", 1600004800000);
  row("b", "detail", "K", 1600086400000);
  row("b", "detail", "L", 1600086700000);
  row("b", "detail", "K", 1600097200000);
  row("b", "detail", "L", 1600097500000);
  row("c", "detail", "K", 1600172800000);
  row("c", "detail", "L", 1600172860000);
  row("d", "detail", "L", 1600259800000);
  row("d", "detail", "K", 1600259860000);
  row("e", "detail", "K", 1600432000000);
  row("e", "detail", "L", 1600432300000);
  write(dir_.file("browsing.csv"), raw);
  const Prepared run = prepare_file(dir_.file("browsing.csv"), find_preset("coveo"));
  const std::string head = "SessionId\tItemId\tTime\n";
  const std::string early =
      "a_1\tK\t1600000000000\na_1\tL\t1600004800000\n"
      "b_1\tK\t1600086400000\nb_1\tL\t1600086700000\n"
      "b_2\tK\t1600097200000\nb_2\tL\t1600097500000\n"
      "c_1\tK\t1600172800000\nc_1\tL\t1600172860000\n";
  EXPECT_EQ(text_of(run.data.train_full, run.table, false),
            head + early + "d_1\tL\t1600259800000\nd_1\tK\t1600259860000\n");
  EXPECT_EQ(text_of(run.data.train_tr, run.table, false), head + early);
  EXPECT_EQ(text_of(run.data.train_valid, run.table, false),
            head + "d_1\tL\t1600259800000\nd_1\tK\t1600259860000\n");
  EXPECT_EQ(text_of(run.data.test, run.table, false),
            head + "e_1\tK\t1600432000000\ne_1\tL\t1600432300000\n");
}

// Removing a rare item can shorten a session below the minimum, which removes events of other
// items, which can push them below the support: the filters repeat until nothing changes.
TEST_F(PrepareTest, IteratedFiltersReachAFixedPointWhereOnePassDoesNot) {
  // Supports A 5, B 3, C 4, Z 1; minimum support 3, minimum length 2. Round 1: Z goes, so
  // session 9 is B alone; round 2: session 9 goes, B falls to 2 and goes, so sessions 1 and 2
  // are A alone; round 3: they go (A keeps 3); round 4: nothing changes.
  std::string log = "SessionId,ItemId,Time\n";
  log +=
      "1,A,1\n1,B,2\n2,A,3\n2,B,4\n9,B,5\n9,Z,6\n3,A,7\n3,A,8\n3,C,9\n4,C,10\n4,C,11\n"
      "5,C,12\n5,A,13\n";
  write(dir_.file("log.csv"), log);
  Preset preset;
  preset.format.key = "SessionId";
  preset.format.item = "ItemId";
  preset.format.time = "Time";
  preset.options.dedupe = false;
  preset.options.min_item_support = 3;
  preset.options.test_span_ms = 1500;  // test: sessions starting in the last 1.5 s (5)
  const Prepared iterated = prepare_file(dir_.file("log.csv"), preset);
  EXPECT_EQ(iterated.data.steps.back().name, "train_valid");
  int rounds = 0;
  for (const auto& step : iterated.data.steps)
    rounds += step.name.find("item-support filter") != std::string::npos ? 1 : 0;
  EXPECT_EQ(rounds, 4);
  std::vector<std::string> sessions = iterated.data.train_full.session_ids;
  for (const std::string& s : iterated.data.test.session_ids) sessions.push_back(s);
  EXPECT_EQ(sessions, (std::vector<std::string>{"3", "4", "5"}));
  preset.options.iterate_filters = false;
  const Prepared once = prepare_file(dir_.file("log.csv"), preset);
  EXPECT_GT(once.data.train_full.events() + once.data.test.events(),
            iterated.data.train_full.events() + iterated.data.test.events());
}

TEST_F(PrepareTest, TheSplitPutsNoTestSessionEventInTrain) {
  // Sessions starting before the test span but ending inside it are cut at the boundary.
  write(dir_.file("log.csv"),
        "s,i,t\n1,a,0\n1,b,50000\n1,a,100000\n2,a,90000\n2,b,91000\n3,b,1000\n3,a,2000\n");
  Preset preset;
  preset.format.key = "s";
  preset.format.item = "i";
  preset.format.time = "t";
  preset.options.min_item_support = 1;
  preset.options.test_span_ms = 20'000'000;  // 20,000 s: boundary at 80,000 s
  const Prepared run = prepare_file(dir_.file("log.csv"), preset);
  EXPECT_EQ(run.data.test.session_ids, (std::vector<std::string>{"2"}));
  EXPECT_EQ(run.data.train_full.session_ids, (std::vector<std::string>{"1", "3"}));
  for (int64_t t : run.data.train_full.times) EXPECT_LT(t, 80'000'000);
  for (const std::string& s : run.data.train_full.session_ids) EXPECT_NE(s, "2");
}

TEST_F(PrepareTest, CompressedInputsReadTheSame) {
  const std::string text = "a,b\n1,2\nlast line without newline";
  write(dir_.file("plain.csv"), text);
  testing::write_gzip(dir_.file("data.csv.gz"), text);
  testing::write_zstd(dir_.file("data.zst"), text);
  for (const auto& [name, kind] : std::vector<std::pair<std::string, std::string>>{
           {"plain.csv", "none"}, {"data.csv.gz", "gzip"}, {"data.zst", "zstd"}}) {
    LineInput input(dir_.file(name));
    EXPECT_EQ(input.compression(), kind);
    std::vector<std::string> lines;
    std::string_view line;
    while (input.next(line)) lines.emplace_back(line);
    EXPECT_EQ(lines, (std::vector<std::string>{"a,b", "1,2", "last line without newline"})) << name;
  }
  write(dir_.file("broken.gz"), std::string("\x1f\x8b\x08\x00garbage", 12));
  LineInput broken(dir_.file("broken.gz"));
  std::string_view line;
  EXPECT_THROW(while (broken.next(line)){}, Error);
}

TEST_F(PrepareTest, LargeZstdFramesWithoutChecksumAndBadNestedLines) {
  // 3 MB of text compressed to a small frame without checksum: the decoder holds output after
  // the whole input is read.
  std::string text;
  for (int i = 0; text.size() < 3'000'000; ++i) text += fmt::format("line {}\n", i % 1000);
  testing::write_zstd(dir_.file("big.zst"), text, 1);
  LineInput input(dir_.file("big.zst"));
  int64_t lines = 0;
  std::string_view line;
  while (input.next(line)) ++lines;
  EXPECT_EQ(lines, std::count(text.begin(), text.end(), '\n'));
  // A nested line with one bad event is skipped whole, not in part.
  write(dir_.file("nested.jsonl"),
        "{\"sid\": \"s1\", \"events\": [{\"item\": \"a\", \"ts\": 1}, {\"item\": \"b\", \"ts\": "
        "\"x\"}]}\n"
        "{\"sid\": \"s2\", \"events\": [{\"item\": \"c\", \"ts\": 2}]}\n");
  RawFormat nested;
  nested.kind = RawFormat::Kind::kJsonLines;
  nested.key = "sid";
  nested.events_array = "events";
  nested.item = "item";
  nested.time = "ts";
  EventTable table;
  read_raw_events(dir_.file("nested.jsonl"), nested, true, table);
  EXPECT_EQ(table.events(), 1);
  EXPECT_EQ(table.bad_lines, 1);
}

TEST_F(PrepareTest, EventsAtTheSameTimeAreOrderedByItemIdBeforeDedupe) {
  // i@5, j@5, i@5 sorts to i, i, j (item ids 2 < 10 numerically), and dedupe leaves i, j.
  write(dir_.file("ties.csv"), "s,i,t\n1,10,5\n1,2,5\n1,10,5\n2,2,9\n2,10,9\n3,2,20\n3,10,20\n");
  Preset preset;
  preset.format.key = "s";
  preset.format.item = "i";
  preset.format.time = "t";
  preset.options.min_item_support = 1;
  preset.options.test_span_ms = 5000;
  const Prepared run = prepare_file(dir_.file("ties.csv"), preset);
  EXPECT_EQ(text_of(run.data.train_full, run.table, true),
            "SessionId\tItemId\tTime\n1\t2\t5\n1\t10\t5\n2\t2\t9\n2\t10\t9\n");
  // The CIKM Cup header (sessionId, itemId) is read by the Diginetica preset too.
  write(dir_.file("cikm.csv"),
        "sessionId;userId;itemId;timeframe;eventdate\n1;NA;a;5;2016-01-01\n");
  EventTable cikm;
  read_raw_events(dir_.file("cikm.csv"), find_preset("diginetica").format, false, cikm);
  EXPECT_EQ(cikm.events(), 1);
}

TEST_F(PrepareTest, SharedRawSamplesThroughTheNamedAndGenericReaders) {
  GRU4REC_REQUIRE_SHARED_DATA(data);  // ../shared/data, or GRU4REC_DATA_DIR
  // Diginetica sample: 12,391 events in 2,986 sessions over 7,139 items.
  EventTable digi;
  read_raw_events(data + "/diginetica-cikm16/sample_train-item-views.csv",
                  find_preset("diginetica").format, false, digi);
  EXPECT_EQ(digi.events(), 12391);
  EXPECT_EQ(digi.keys.size(), 2986);
  EXPECT_EQ(digi.items.size(), 7139);
  // OTTO: nested events per session, millisecond times, typed events.
  RawFormat otto;
  otto.kind = RawFormat::Kind::kJsonLines;
  otto.key = "session";
  otto.events_array = "events";
  otto.item = "aid";
  otto.time = "ts";
  otto.type = "type";
  otto.time_format = TimeFormat::kUnixMilliseconds;
  EventTable otto_events;
  read_raw_events(data + "/otto-sample/train.jsonl", otto, false, otto_events);
  EXPECT_EQ(otto_events.events(), 862);
  EXPECT_EQ(otto_events.keys.size(), 20);
  EXPECT_EQ(otto_events.items.size(), 510);
  // Last.fm: no header, ISO times, users cut into sessions at 30-minute gaps.
  RawFormat lastfm;
  lastfm.separator = '\t';
  lastfm.header = false;
  lastfm.key = "1";
  lastfm.time = "2";
  lastfm.item = "4";  // the artist name (the track id is often empty)
  lastfm.time_format = TimeFormat::kIso8601;
  EventTable music;
  read_raw_events(data + "/lastfm-1k-sample/userid-timestamp-artid-artname-traid-traname.tsv",
                  lastfm, false, music);
  EXPECT_EQ(music.events(), 5000);
  EXPECT_EQ(music.keys.size(), 2);
  PrepareOptions sessions;
  sessions.cut_at_gaps = true;
  sessions.gap_ms = 30 * 60'000;
  sessions.min_item_support = 1;
  const PreparedData prepared = prepare_events(music, sessions);
  EXPECT_GT(prepared.train_full.sessions(), 100);
  for (size_t s = 0; s + 1 < prepared.train_full.offsets.size(); ++s)  // time-ordered sessions
    for (int64_t i = prepared.train_full.offsets[s] + 1; i < prepared.train_full.offsets[s + 1];
         ++i)
      EXPECT_LE(prepared.train_full.times[static_cast<size_t>(i) - 1],
                prepared.train_full.times[static_cast<size_t>(i)]);
}

TEST_F(PrepareTest, BadInputsStopWithFileAndLineOrAreCounted) {
  Preset preset;
  preset.format.key = "s";
  preset.format.item = "i";
  preset.format.time = "t";
  const auto error_of = [&](const std::string& content, bool skip = false) {
    write(dir_.file("bad.csv"), content);
    try {
      EventTable table;
      read_raw_events(dir_.file("bad.csv"), preset.format, skip, table);
      return fmt::format("ok {} {}", table.events(), table.bad_lines);
    } catch (const Error& e) {
      return std::string(e.what());
    }
  };
  EXPECT_NE(error_of("s,i,t\n1,a,5\n1,b\n").find("bad.csv:3: too few fields"), std::string::npos);
  EXPECT_EQ(error_of("s,i,t\n1,a,5\n1,b\n2,c,x\n", true), "ok 1 2");
  EXPECT_NE(error_of("s,i,t\n1,a,soon\n").find("bad.csv:2: time 'soon' is not a number"),
            std::string::npos);
  EXPECT_NE(
      error_of("s,item,t\n1,a,5\n").find("bad.csv:1: no column 'i'; the columns are: s, item, t"),
      std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("s,i,t\n1,\"a,5\n").find("quoted field"), std::string::npos);
  EXPECT_EQ(error_of("s,i,t\n1,\"a,1\",5\n"), "ok 1 0");  // a quoted separator
  // Everything filtered away: the message names the filter.
  write(dir_.file("few.csv"), "s,i,t\n1,a,1\n1,b,2\n");
  EventTable few;
  read_raw_events(dir_.file("few.csv"), preset.format, false, few);
  try {
    prepare_events(few, preset.options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("item-support filter (>= 5), round 1: no event left"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(find_preset("movielens"), Error);
}

}  // namespace
}  // namespace gru4rec
