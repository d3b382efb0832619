// Raw event logs as `gru4rec prepare` reads them: delimited files with or without a header, JSON
// lines (with events nested in an array or not), every time format, event types and time
// offsets, compressed or not (the reader detects gzip and zstd from the first bytes, so the
// fuzzer reaches the decompressors too). The bytes are read from a memory file by path, as the
// command reads files. What reads must be a consistent table.
#include "gru4rec/prepare/raw_events.h"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "fuzz_targets.h"
#include "gru4rec/core/error.h"

namespace gru4rec::fuzz {

int raw_events(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t a = data[0], b = data[1];
  RawFormat format;
  format.kind = (a & 1) ? RawFormat::Kind::kJsonLines : RawFormat::Kind::kDelimited;
  format.header = (a & 2) != 0;
  static constexpr char kSeparators[] = {'\0', '\t', ',', ';'};
  format.separator = kSeparators[(a >> 2) & 3];
  static constexpr TimeFormat kTimes[] = {TimeFormat::kUnixSeconds, TimeFormat::kUnixMilliseconds,
                                          TimeFormat::kIso8601, TimeFormat::kIso8601};
  format.time_format = kTimes[(a >> 4) & 3];
  const bool named = format.kind == RawFormat::Kind::kJsonLines || format.header;
  format.key = named ? "session|user" : "1";
  format.item = named ? "item" : "2";
  format.time = named ? "time" : "3";
  if (a & 0x40) {
    format.type = named ? "type" : "4";
    format.keep_types = {"view", "buy"};
  }
  if ((a & 0x80) && format.kind == RawFormat::Kind::kJsonLines) format.events_array = "events";
  if (b & 1) format.time_offset_ms = named ? "offset" : "5";
  const bool skip_bad_lines = (b & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  parse_iso8601_ms(text.substr(0, std::min<size_t>(text.size(), 64)));

  const int fd = ::memfd_create("gru4rec-fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  EventTable table;
  try {
    read_raw_events("/proc/self/fd/" + std::to_string(fd), format, skip_bad_lines, table);
    const size_t n = table.item.size();
    FUZZ_CHECK(table.key.size() == n && table.time.size() == n && table.kept_type.size() == n);
    FUZZ_CHECK(format.time_offset_ms.empty() || table.offset.size() == n);
    for (size_t i = 0; i < n; ++i) {
      FUZZ_CHECK(table.key[i] >= 0 && table.key[i] < table.keys.size());
      FUZZ_CHECK(table.item[i] >= 0 && table.item[i] < table.items.size());
    }
    FUZZ_CHECK(table.bad_lines == 0 || skip_bad_lines);
  } catch (const Error&) {
  }
  ::close(fd);
  return 0;
}

}  // namespace gru4rec::fuzz
