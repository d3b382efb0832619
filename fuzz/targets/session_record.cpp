// The bytes of a session record or of its answer, as any client of the shared Redis could have
// written them. "Resealed" inputs get the magic, version and CRC-32 of a real record around
// them, so that the fuzzer reaches the parsing behind the checksum. Whatever decodes must encode
// back to bytes that decode to the same record.
#include "gru4rec/serve/session_record.h"

#include <zlib.h>

#include <cstring>
#include <string>

#include "fuzz_targets.h"

namespace gru4rec::fuzz {
namespace {

std::string sealed(std::string_view magic, std::string_view body) {
  std::string out(magic);
  const uint32_t version = SessionRecord::kFormatVersion;
  out.append(reinterpret_cast<const char*>(&version), 4);
  out += body;
  const auto crc =
      static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()),
                                  static_cast<uInt>(out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out;
}

bool same(const SessionRecord& a, const SessionRecord& b) {
  return a.model_id == b.model_id && a.events == b.events && a.items == b.items &&
         a.state.size() == b.state.size() &&
         (a.state.empty() ||
          std::memcmp(a.state.data(), b.state.data(), a.state.size() * sizeof(float)) == 0) &&
         a.answer == b.answer && a.answer_events == b.answer_events;
}

}  // namespace

int session_record(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] & 3;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool answer = mode & 1;
  const std::string bytes = mode & 2 ? sealed(answer ? "G4RA" : "G4RS", input) : std::string(input);
  if (!answer) {
    const std::optional<SessionRecord> record = decode_session(bytes);
    if (!record) return 0;
    const std::optional<SessionRecord> again = decode_session(encode_session(*record));
    FUZZ_CHECK(again && same(*record, *again));
  } else {
    SessionRecord record;
    if (!decode_answer(bytes, record)) return 0;
    SessionRecord again;
    FUZZ_CHECK(decode_answer(encode_answer(record), again) && same(record, again));
  }
  return 0;
}

}  // namespace gru4rec::fuzz
