#include "gru4rec/core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

std::string system_error_text() {
  return std::strerror(errno);
}

std::string temporary_path_for(const std::string& path) {
  return fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
}

}  // namespace

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(fmt::format("{}: is a directory, expected a file", path));
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw Error(fmt::format("{}: cannot open: {}", path, system_error_text()));
  std::string content;
  // A regular file is read in one piece into a buffer of its size; a pipe in chunks.
  long size = -1;
  if (std::fseek(file, 0, SEEK_END) == 0) {
    size = std::ftell(file);
    std::fseek(file, 0, SEEK_SET);
  }
  if (size > 0) {
    content.resize(static_cast<size_t>(size));
    content.resize(std::fread(content.data(), 1, content.size(), file));
  }
  char buffer[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) content.append(buffer, got);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) throw Error(fmt::format("{}: read error", path));
  return content;
}

namespace {

// What a file that is not a regular one is, for messages.
std::string_view kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::string read_regular_file(const std::string& path, uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO does not wait for a writer; the check below refuses it anyway.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", path, system_error_text()));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    throw Error(fmt::format("{}: cannot read: {}", path, system_error_text()));
  if (!S_ISREG(info.st_mode))
    throw Error(fmt::format("{}: is {}, expected a regular file", path, kind_of(info.st_mode)));
  const auto size = static_cast<uint64_t>(info.st_size);
  if (size > max_bytes) {
    throw Error(
        fmt::format("{}: has {} bytes, more than the limit of {} bytes", path, size, max_bytes));
  }
  std::string content(static_cast<size_t>(size), '\0');
  size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(fmt::format("{}: read error: {}", path, system_error_text()));
    if (n == 0) throw Error(fmt::format("{}: the file shrank while it was read", path));
    got += static_cast<size_t>(n);
  }
  char extra = 0;
  if (::read(fd, &extra, 1) > 0)
    throw Error(fmt::format("{}: the file grew while it was read", path));
  return content;
}

void require_regular_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw Error(fmt::format("{}: cannot open: {}", path, system_error_text()));
  if (!S_ISREG(info.st_mode))
    throw Error(fmt::format("{}: is {}, expected a regular file", path, kind_of(info.st_mode)));
}

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  const std::string temporary = temporary_path_for(path);
  try {
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      if (!out) {
        throw Error(fmt::format("{}: cannot create file: {}", path, system_error_text()));
      }
      write(out);
      out.flush();
      if (!out) throw Error(fmt::format("{}: write failed (disk full?)", path));
    }
    // fsync so that a crash after the rename cannot leave an empty file behind the name.
    int fd = ::open(temporary.c_str(), O_RDONLY);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      throw Error(fmt::format("{}: cannot rename temporary file into place: {}", path,
                              system_error_text()));
    }
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
}

void check_writable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(fmt::format("{}: is a directory, expected a file path to write", path));
  }
  const std::string temporary = temporary_path_for(path);
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) {
    throw Error(fmt::format("{}: cannot write here: {}", path, system_error_text()));
  }
  std::fclose(file);
  std::remove(temporary.c_str());
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

}  // namespace gru4rec
