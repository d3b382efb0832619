// A session log replayed through a running server as live traffic (`gru4rec replay`): each
// session's events are posted in order, each after the previous answer, on `concurrency`
// kept-alive connections; what the server measured of it is the difference of its
// GET /v1/experiments before and after, so no fresh server is needed. With one variant
// serving model M, the online HitRate@k and MRR@k equal the offline Recall@k and MRR@k of
// `gru4rec eval M TEST`.
//
// Blocking; uses its own threads and connections (Boost.Beast). Throws Error when the server
// cannot be reached or /v1/experiments does not answer 200; failed event requests are counted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/serve/experiment.h"

namespace gru4rec {

struct ReplayOptions {
  std::string server = "http://127.0.0.1:8080";  // http://HOST:PORT
  int k = 20;                                    // asked for with every event
  int64_t sessions = 0;                          // the first N sessions; 0: all
  int concurrency = 8;                           // sessions replayed at once
  std::string session_prefix;  // of the replayed session ids; "": replay-<random>- (new ones)
};

struct ReplayResult {
  int64_t sessions = 0;
  int64_t events_sent = 0;
  int64_t failed_requests = 0;
  std::string first_error;  // of the first failed request, "" when none failed
  double seconds = 0;
  std::vector<std::string> variant_names;
  std::vector<VariantCounts> counts;  // per variant: what the replay added to the server's
  std::string server_experiments;     // the JSON of /v1/experiments after the replay
};

// Every event of the first options.sessions sessions of `log` (items of `items`) is sent,
// known to the model or not: the server counts unknown items apart.
ReplayResult replay_log(const SessionLog& log, const ItemIndex& items,
                        const ReplayOptions& options);

// Checks the form of a server URL (http://HOST:PORT); throws Error naming what is expected.
void check_server_url(const std::string& url);

}  // namespace gru4rec
