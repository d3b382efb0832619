#include "gru4rec/data/line_input.h"

#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "gru4rec/core/error.h"

namespace gru4rec {

struct LineInput::Decoder {
  enum class Kind { kNone, kGzip, kZstd } kind = Kind::kNone;
  std::vector<unsigned char> input;  // compressed bytes read from the file
  size_t in_begin = 0, in_end = 0;
  bool input_done = false;
  z_stream gzip{};
  ZSTD_DStream* zstd = nullptr;
  bool stream_ended = false;

  ~Decoder() {
    if (kind == Kind::kGzip) inflateEnd(&gzip);
    if (zstd != nullptr) ZSTD_freeDStream(zstd);
  }
};

namespace {
constexpr size_t kChunk = 1 << 20;
}

LineInput::LineInput(const std::string& path) : name_(path == "-" ? "stdin" : path) {
  if (path == "-") {
    file_ = stdin;
  } else {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw Error(fmt::format("{}: is a directory, expected a file", path));
    file_ = std::fopen(path.c_str(), "rb");
    if (file_ == nullptr)
      throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    owns_file_ = true;
  }
  decoder_ = std::make_unique<Decoder>();
  Decoder& d = *decoder_;
  d.input.resize(kChunk);
  d.in_end = std::fread(d.input.data(), 1, d.input.size(), file_);
  d.input_done = d.in_end < d.input.size();
  if (d.in_end >= 2 && d.input[0] == 0x1f && d.input[1] == 0x8b) {
    d.kind = Decoder::Kind::kGzip;
    // 32 + 15: a gzip header, the largest window.
    if (inflateInit2(&d.gzip, 32 + 15) != Z_OK) throw Error(name_ + ": cannot start gzip decoding");
  } else if (d.in_end >= 4 && d.input[0] == 0x28 && d.input[1] == 0xb5 && d.input[2] == 0x2f &&
             d.input[3] == 0xfd) {
    d.kind = Decoder::Kind::kZstd;
    d.zstd = ZSTD_createDStream();
    if (d.zstd == nullptr) throw Error(name_ + ": cannot start zstd decoding");
    ZSTD_initDStream(d.zstd);
  }
  buffer_.resize(kChunk);
}

LineInput::~LineInput() {
  if (owns_file_ && file_ != nullptr) std::fclose(file_);
}

std::string_view LineInput::compression() const {
  switch (decoder_->kind) {
    case Decoder::Kind::kGzip: return "gzip";
    case Decoder::Kind::kZstd: return "zstd";
    default: return "none";
  }
}

size_t LineInput::fill(char* out, size_t capacity) {
  Decoder& d = *decoder_;
  for (;;) {
    if (d.in_begin == d.in_end && !d.input_done) {
      d.in_begin = 0;
      d.in_end = std::fread(d.input.data(), 1, d.input.size(), file_);
      if (std::ferror(file_))
        throw Error(fmt::format("{}: read error: {}", name_, std::strerror(errno)));
      d.input_done = d.in_end < d.input.size();
    }
    const size_t available = d.in_end - d.in_begin;
    if (d.kind == Decoder::Kind::kNone) {
      const size_t n = std::min(available, capacity);
      std::memcpy(out, d.input.data() + d.in_begin, n);
      d.in_begin += n;
      if (n > 0 || d.input_done) return n;
      continue;
    }
    if (d.kind == Decoder::Kind::kGzip) {
      if (d.stream_ended) {
        // Concatenated gzip members (as `cat a.gz b.gz` makes) continue the stream.
        if (available == 0 && d.input_done) return 0;
        if (available == 0) continue;
        inflateReset(&d.gzip);
        d.stream_ended = false;
      }
      d.gzip.next_in = d.input.data() + d.in_begin;
      d.gzip.avail_in = static_cast<uInt>(available);
      d.gzip.next_out = reinterpret_cast<Bytef*>(out);
      d.gzip.avail_out = static_cast<uInt>(capacity);
      const int status = inflate(&d.gzip, Z_NO_FLUSH);
      d.in_begin = d.in_end - d.gzip.avail_in;
      const size_t produced = capacity - d.gzip.avail_out;
      if (status == Z_STREAM_END)
        d.stream_ended = true;
      else if (status != Z_OK && status != Z_BUF_ERROR)
        throw Error(fmt::format("{}: corrupt gzip data ({})", name_,
                                d.gzip.msg ? d.gzip.msg : "inflate failed"));
      if (produced > 0) return produced;
      if (d.input_done && d.in_begin == d.in_end) {
        if (!d.stream_ended) throw Error(name_ + ": truncated gzip data");
        return 0;
      }
      continue;
    }
    if (available == 0 && d.input_done) {
      if (d.stream_ended) return 0;
      // All input consumed, but the decoder may still hold output of the last block.
      ZSTD_inBuffer none{nullptr, 0, 0};
      ZSTD_outBuffer rest{out, capacity, 0};
      const size_t status = ZSTD_decompressStream(d.zstd, &rest, &none);
      if (ZSTD_isError(status))
        throw Error(fmt::format("{}: corrupt zstd data ({})", name_, ZSTD_getErrorName(status)));
      d.stream_ended = status == 0;
      if (rest.pos > 0) return rest.pos;
      throw Error(name_ + ": truncated zstd data");
    }
    ZSTD_inBuffer in{d.input.data() + d.in_begin, available, 0};
    ZSTD_outBuffer result{out, capacity, 0};
    const size_t status = ZSTD_decompressStream(d.zstd, &result, &in);
    if (ZSTD_isError(status))
      throw Error(fmt::format("{}: corrupt zstd data ({})", name_, ZSTD_getErrorName(status)));
    d.in_begin += in.pos;
    if (in.pos > 0 || result.pos > 0) d.stream_ended = status == 0;  // 0: a frame is complete
    if (result.pos > 0) return result.pos;
  }
}

bool LineInput::next(std::string_view& line) {
  carry_.clear();
  for (;;) {
    if (begin_ < end_) {
      const char* start = buffer_.data() + begin_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
      if (newline != nullptr) {
        const size_t length = static_cast<size_t>(newline - start);
        begin_ += length + 1;
        ++line_number_;
        if (carry_.empty()) {
          line = std::string_view(start, length);
        } else {
          carry_.append(start, length);
          line = carry_;
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
      }
      carry_.append(start, end_ - begin_);  // a line across buffers
      begin_ = end_;
    }
    if (eof_) break;
    begin_ = 0;
    end_ = fill(buffer_.data(), buffer_.size());
    if (end_ == 0) eof_ = true;
  }
  if (carry_.empty()) return false;
  ++line_number_;  // the last line, without "\n"
  line = carry_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

}  // namespace gru4rec
