// What the closed-loop replay (replay.cpp) and the open-loop one (open_loop_replay.cpp) share.
// Internal to the serving library.
#pragma once

#include <string>
#include <string_view>

#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/serve/replay.h"

namespace gru4rec::replay_detail {

struct Target {
  std::string host, port;
};

// http://HOST:PORT; throws Error naming what is expected.
Target parse_server(const std::string& url);
// Percent-encodes all but the unreserved characters (RFC 3986) for a path segment.
std::string path_segment(std::string_view text);
// The JSON body of one event request.
std::string event_body(const std::string& item_id, int k);

// The open loop of replay_log (see replay.h): sends, measures and fills `result`'s events_sent,
// answered, failed_requests, first_error, seconds, sending_seconds, late_sends and latency.
void replay_open_loop(const SessionLog& log, const ItemIndex& items, const ReplayOptions& options,
                      const Target& target, const std::string& prefix, int64_t sessions,
                      ReplayResult& result);

}  // namespace gru4rec::replay_detail
