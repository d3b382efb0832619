// File helpers implementing the "never half-written output" rule: every output file is
// written to a temporary file in the same directory and renamed over the target only after
// it is complete and flushed. Errors throw gru4rec::Error naming the path.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace gru4rec {

// Reads a whole file into memory. Throws Error if it cannot be opened or read.
std::string read_file(const std::string& path);

// Reads a whole regular file of at most max_bytes. Anything else is refused without blocking
// or reading: a FIFO (opening it would wait for a writer), a device (/dev/zero never ends), a
// directory. Throws Error naming the path and the problem.
std::string read_regular_file(const std::string& path, uint64_t max_bytes);

// Throws Error unless `path` is a regular file (checked before a reader that would block on a
// FIFO opens it).
void require_regular_file(const std::string& path);

// Calls `write` with a stream to a temporary file next to `path`, then renames it to `path`.
// If `write` throws or any write fails, the temporary file is removed and `path` is untouched.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

// Throws Error unless a file could be created at `path` (checked before long work starts,
// so that an unwritable output path fails in seconds, not after training).
void check_writable(const std::string& path);

bool stderr_is_terminal();

}  // namespace gru4rec
