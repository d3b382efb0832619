// A redis-server of a test's own, on a free loopback port, without persistence; for the tests
// of the shared session store. Killed (SIGKILL) by stop() and the destructor.
#pragma once

#include <sys/types.h>

namespace gru4rec::testing {

class RedisServer {
 public:
  static bool available();
  RedisServer();  // starts it and waits until it answers PING
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  int port() const { return port_; }
  void start();
  void stop();
  // Stops the process (SIGSTOP) without closing its socket: connections and commands hang, as
  // with a Redis that is overloaded or swapping; thaw() (SIGCONT) lets it go on.
  void freeze();
  void thaw();

 private:
  int port_;
  pid_t pid_ = -1;
};

// True (the test should skip) when redis-server is absent; a failure as well when CI is set.
bool skip_without_redis();

}  // namespace gru4rec::testing
