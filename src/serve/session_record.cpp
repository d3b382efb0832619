#include "gru4rec/serve/session_record.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

#include "gru4rec/core/error.h"

namespace gru4rec {
namespace {

constexpr char kMagic[4] = {'G', '4', 'R', 'S'};

template <typename T>
void put(std::string& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and the other targets are little-endian
  out.append(bytes, sizeof(T));
}

uint32_t crc_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes 32-bit lengths; records are far below that.
  crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
  return static_cast<uint32_t>(crc);
}

// Reads from the front of `in`; false when it is too short.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool get(T& value) {
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(&value, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    if (in_.size() < n) return false;
    out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  size_t left() const { return in_.size(); }

 private:
  std::string_view in_;
};

void put_items(std::string& out, const std::vector<std::string>& items) {
  if (items.size() > SessionRecord::kMaxItems)
    throw Error("a session record beyond the limits (too many items)");
  put<uint32_t>(out, static_cast<uint32_t>(items.size()));
  for (const std::string& item : items) {
    if (item.size() > SessionRecord::kMaxItemIdBytes)
      throw Error("a session record with an item id longer than 1024 bytes");
    put<uint16_t>(out, static_cast<uint16_t>(item.size()));
    out += item;
  }
}

bool get_items(Reader& in, std::vector<std::string>& items) {
  uint32_t n_items = 0;
  if (!in.get(n_items) || n_items > SessionRecord::kMaxItems) return false;
  items.clear();
  items.reserve(n_items);
  for (uint32_t i = 0; i < n_items; ++i) {
    uint16_t length = 0;
    std::string_view id;
    if (!in.get(length) || length > SessionRecord::kMaxItemIdBytes || !in.bytes(length, id))
      return false;
    items.emplace_back(id);
  }
  return true;
}

// The magic and format version, then what `fill` appends, then the CRC-32 of all before it.
template <typename Fill>
std::string framed(const char (&magic)[4], Fill fill) {
  std::string out;
  out.append(magic, 4);
  put<uint32_t>(out, SessionRecord::kFormatVersion);
  fill(out);
  put<uint32_t>(out, crc_of(out));
  return out;
}

// The body of bytes framed() with `magic` made (a Reader after the version), or nullopt. The
// checksum first: no count is believed before the bytes are known to be ours.
std::optional<Reader> unframed(std::string_view bytes, const char (&magic)[4]) {
  if (bytes.size() < 4 + 4 + 4) return std::nullopt;
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + body.size(), 4);
  if (stored != crc_of(body)) return std::nullopt;
  Reader in(body);
  std::string_view found;
  uint32_t version = 0;
  if (!in.bytes(4, found) || found != std::string_view(magic, 4)) return std::nullopt;
  if (!in.get(version) || version != SessionRecord::kFormatVersion) return std::nullopt;
  return in;
}

constexpr char kAnswerMagic[4] = {'G', '4', 'R', 'A'};

}  // namespace

std::string encode_session(const SessionRecord& record) {
  if (record.state.size() > SessionRecord::kMaxStateFloats)
    throw Error("a session record beyond the limits (state too long)");
  return framed(kMagic, [&](std::string& out) {
    put<uint64_t>(out, record.model_id);
    put<uint64_t>(out, record.events);
    put<uint32_t>(out, static_cast<uint32_t>(record.state.size()));
    for (float v : record.state) put<float>(out, v);
    put_items(out, record.items);
  });
}

std::optional<SessionRecord> decode_session(std::string_view bytes) {
  std::optional<Reader> in = unframed(bytes, kMagic);
  if (!in) return std::nullopt;
  SessionRecord record;
  uint32_t n_state = 0;
  if (!in->get(record.model_id) || !in->get(record.events) || !in->get(n_state))
    return std::nullopt;
  if (n_state > SessionRecord::kMaxStateFloats || in->left() < n_state * sizeof(float))
    return std::nullopt;
  record.state.resize(n_state);
  for (float& v : record.state) {
    in->get(v);
    if (!std::isfinite(v)) return std::nullopt;  // a GRU state is finite; this is not one
  }
  if (!get_items(*in, record.items)) return std::nullopt;
  if (in->left() != 0) return std::nullopt;  // trailing bytes: not a record we wrote
  return record;
}

std::string encode_answer(const SessionRecord& record) {
  return framed(kAnswerMagic, [&](std::string& out) {
    put<uint64_t>(out, record.answer_events);
    put_items(out, record.answer);
  });
}

bool decode_answer(std::string_view bytes, SessionRecord& record) {
  std::optional<Reader> in = unframed(bytes, kAnswerMagic);
  uint64_t events = 0;
  std::vector<std::string> answer;
  if (!in || !in->get(events) || !get_items(*in, answer) || in->left() != 0) return false;
  record.answer_events = events;
  record.answer = std::move(answer);
  return true;
}

}  // namespace gru4rec
