// The lifecycle of a serving process around ServeApp and HttpServer: signals are taken by a
// thread of their own (SIGHUP reloads the model files, SIGINT and SIGTERM stop the server
// gracefully: /ready answers 503, the requests in flight finish), a sweeper frees idle
// sessions every 5 s and sends the A/B counts to Redis every second, and the last counts are
// sent when the server stops.
//
// run_server() blocks SIGHUP, SIGINT and SIGTERM in the calling thread (and so in every thread
// it starts afterwards); threads started earlier by libraries get a handler that forwards the
// signals. One run_server() per process at a time.
#pragma once

#include <functional>
#include <string>

#include "gru4rec/serve/server.h"

namespace gru4rec {

// Blocks the signals; call it before starting threads (before constructing ServeApp, whose
// stores and pools start some), so that only run_server's signal thread receives them.
void block_server_signals();

// Serves until SIGINT or SIGTERM (or server.stop()). `log` gets one line per event (reload
// done, refused or failed; stopping). `server` must be bound.
void run_server(ServeApp& app, HttpServer& server,
                const std::function<void(const std::string&)>& log);

// The admin token: the first line of `file` (surrounding blanks dropped), else the environment
// variable GRU4REC_ADMIN_TOKEN when `file` is empty; never from the command line, where other
// users of the machine can read it. Throws Error when it cannot be read or is shorter than 16
// characters.
std::string read_admin_token(const std::string& file);

}  // namespace gru4rec
