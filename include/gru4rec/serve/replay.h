// A session log replayed through a running server as live traffic (`gru4rec replay`): each
// session's events are posted in order, each after the previous answer; what the server
// measured of it is the difference of its GET /v1/experiments before and after, so no fresh
// server is needed. With one variant serving model M, the online HitRate@k and MRR@k equal the
// offline Recall@k and MRR@k of `gru4rec eval M TEST`.
//
// Two ways to pace it:
// - closed loop (rate 0): `concurrency` sessions at once, each on its own kept-alive
//   connection, each event sent when the previous answer came; as fast as the server answers.
// - open loop (rate > 0): events are due at a fixed rate, whatever the answers: event i at
//   start + i / rate. They go round `concurrency` session slots (a slot replays one session
//   after another on its own connection), so a session's next event is due concurrency / rate
//   seconds after its previous one; one that is due while its slot still waits for the previous
//   answer is sent when that answer comes. Latency is measured from the time an event was due,
//   not from when it was sent, so a slow server cannot hide its queue by slowing the client
//   (coordinated omission). With a duration the log is replayed again, as new sessions, until
//   the time is up.
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
  int concurrency = 8;                           // sessions replayed at once (connections)
  std::string session_prefix;   // of the replayed session ids; "": replay-<random>- (new ones)
  double rate = 0;              // events/s offered (open loop); 0: closed loop
  double duration_seconds = 0;  // open loop: stop sending after this long; 0: one pass
};

// Latencies of the answered event requests, in seconds (nearest-rank percentiles).
struct LatencySummary {
  int64_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};
// Sorts `seconds`.
LatencySummary summarize_latencies(std::vector<double>& seconds);

struct ReplayResult {
  int64_t sessions = 0;
  int64_t events_sent = 0;
  int64_t failed_requests = 0;
  std::string first_error;     // of the first failed request, "" when none failed
  double seconds = 0;          // from the first event due to the last answer
  double offered_rate = 0;     // open loop: the rate asked for; 0: closed loop
  double sending_seconds = 0;  // open loop: the time over which events were due
  int64_t answered = 0;        // event requests answered 200
  int64_t late_sends = 0;      // open loop: sent more than 1 ms after they were due
  LatencySummary latency;      // from due (open loop) or sent (closed loop) to answered
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
