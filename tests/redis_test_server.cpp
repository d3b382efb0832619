#include "redis_test_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "gru4rec/serve/redis_client.h"

namespace gru4rec::testing {
namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

bool RedisServer::available() {
  return std::filesystem::exists("/usr/bin/redis-server");
}

RedisServer::RedisServer() : port_(free_port()) {
  start();
}

RedisServer::~RedisServer() {
  stop();
}

void RedisServer::start() {
  pid_ = ::fork();
  if (pid_ == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    const std::string port = std::to_string(port_);
    ::execl("/usr/bin/redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--loglevel", "warning",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  RedisClient probe({"127.0.0.1", port_, 0}, 0.2);
  for (int i = 0; i < 100; ++i) {
    const auto pong = probe.command({"PING"});
    if (pong && pong->text == "PONG") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "redis-server did not start on port " << port_;
}

void RedisServer::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

void RedisServer::freeze() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::thaw() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

bool skip_without_redis() {
  if (RedisServer::available()) return false;
  if (std::getenv("CI") != nullptr) {
    ADD_FAILURE() << "redis-server is missing (scripts/install-deps.sh installs it)";
  }
  return true;
}

}  // namespace gru4rec::testing
