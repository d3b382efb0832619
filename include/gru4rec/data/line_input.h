// Line-by-line reading of a text file that may be gzip- or zstd-compressed (detected from its
// first bytes, whatever its name), or of stdin ("-"), in constant memory: the input is never
// held whole. Lines are returned without their "\n" (and "\r\n"). Errors throw Error naming
// the file. One reader per thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gru4rec {

class LineInput {
 public:
  explicit LineInput(const std::string& path);
  ~LineInput();
  LineInput(const LineInput&) = delete;
  LineInput& operator=(const LineInput&) = delete;

  // The next line (valid until the next call); false at the end of the input.
  bool next(std::string_view& line);
  int64_t line_number() const { return line_number_; }  // of the last line returned
  const std::string& name() const { return name_; }
  std::string_view compression() const;  // "none", "gzip" or "zstd"

 private:
  struct Decoder;
  size_t fill(char* out, size_t capacity);  // decompressed bytes, 0 at the end

  std::string name_;
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  std::unique_ptr<Decoder> decoder_;
  std::vector<char> buffer_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::string carry_;  // a line longer than the buffer
  int64_t line_number_ = 0;
};

}  // namespace gru4rec
