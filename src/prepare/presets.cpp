#include "gru4rec/prepare/presets.h"

#include <fmt/format.h>

#include "gru4rec/core/error.h"
#include "gru4rec/core/text.h"

namespace gru4rec {
namespace {

constexpr int64_t kDay = 86'400'000;

Preset yoochoose_like(std::string name) {
  Preset p;
  p.name = std::move(name);
  p.input = "yoochoose-clicks.dat (SessionId,Timestamp,ItemId,Category; no header)";
  p.format.separator = ',';
  p.format.header = false;
  p.format.key = "1";
  p.format.time = "2";
  p.format.item = "3";
  p.format.time_format = TimeFormat::kIso8601;
  return p;
}

std::vector<Preset> make_presets() {
  std::vector<Preset> all;
  // RSC15 (the ICLR'16 / CIKM'18 script): no dedupe, one filter pass, split by session end.
  Preset rsc15 = yoochoose_like("rsc15");
  rsc15.options.dedupe = false;
  rsc15.options.iterate_filters = false;
  rsc15.options.split = PrepareOptions::Split::kBySessionEnd;
  rsc15.options.test_span_ms = kDay;
  all.push_back(rsc15);
  // Yoochoose (the comparison study): dedupe, iterated filters, split by session start.
  Preset yoochoose = yoochoose_like("yoochoose");
  yoochoose.input = "yoochoose-clicks.dat and yoochoose-test.dat (both; no header)";
  yoochoose.options.test_span_ms = kDay;
  all.push_back(yoochoose);

  Preset rr;
  rr.name = "retailrocket";
  rr.input = "events.csv (timestamp,visitorid,event,itemid,transactionid)";
  rr.format.separator = ',';
  rr.format.key = "visitorid";
  rr.format.item = "itemid";
  rr.format.time = "timestamp";
  rr.format.type = "event";
  rr.format.keep_types = {"view"};
  rr.format.time_format = TimeFormat::kUnixMilliseconds;
  rr.options.cut_at_gaps = true;
  rr.options.filter_types_after_cut = true;  // sessions are cut on every event type
  rr.options.test_span_ms = 7 * kDay;
  rr.options.split_time_ms = 1'442'545'200'000;  // 2015-09-18 03:00 UTC
  rr.options.time_in_seconds = false;
  all.push_back(rr);

  Preset digi;
  digi.name = "diginetica";
  digi.input = "train-item-views.csv (sessionId;userId;itemId;timeframe;eventdate)";
  digi.format.separator = ';';
  // The CIKM Cup file names its columns sessionId, itemId; some copies session_id, item_id.
  digi.format.key = "sessionId|session_id";
  digi.format.item = "itemId|item_id";
  digi.format.time = "eventdate";
  digi.format.time_offset_ms = "timeframe";
  digi.format.time_format = TimeFormat::kIso8601;
  digi.options.offset_from_session_day = true;
  digi.options.test_span_ms = 7 * kDay;
  digi.options.time_in_seconds = false;
  all.push_back(digi);

  Preset rees;
  rees.name = "rees46";
  rees.input =
      "2019-Oct.csv and 2019-Nov.csv (event_time,event_type,product_id,...,user_id,user_session)";
  rees.format.separator = ',';
  rees.format.key = "user_id";
  rees.format.item = "product_id";
  rees.format.time = "event_time";
  rees.format.type = "event_type";
  rees.format.keep_types = {"view"};
  rees.format.time_format = TimeFormat::kIso8601;
  rees.options.cut_at_gaps = true;  // on views only
  rees.options.test_span_ms = kDay;
  rees.options.split_time_ms = 1'575'158'400'000;  // 2019-12-01 00:00 UTC
  all.push_back(rees);

  Preset coveo;
  coveo.name = "coveo";
  coveo.input =
      "browsing_train.csv "
      "(session_id_hash,event_type,product_action,product_sku_hash,server_timestamp_epoch_ms,"
      "hashed_url)";
  coveo.format.separator = ',';
  coveo.format.key = "session_id_hash";
  coveo.format.item = "product_sku_hash";
  coveo.format.time = "server_timestamp_epoch_ms";
  coveo.format.type = "product_action";
  coveo.format.keep_types = {"detail"};
  coveo.format.time_format = TimeFormat::kUnixMilliseconds;
  coveo.options.cut_at_gaps = true;  // the given sessions, cut further at 1 h gaps
  coveo.options.filter_types_after_cut = true;
  coveo.options.test_span_ms = kDay;
  coveo.options.time_in_seconds = false;
  all.push_back(coveo);
  return all;
}

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = make_presets();
  return all;
}

const Preset& find_preset(std::string_view name) {
  std::vector<std::string> names;
  for (const Preset& p : presets()) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  throw Error(fmt::format("unknown preset {}; the presets: {}", quote_for_message(name),
                          join(names, ", ")));
}

}  // namespace gru4rec
