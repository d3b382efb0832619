// A live session in a form that any server process can read back: what a shared session store
// (Redis) keeps. Item ids as text (not a process's indices), the GRU state, the identity of
// the model that computed the state (its content checksum), and a format version.
//
// The bytes come from outside the process (any client of the store can write them), so
// decoding trusts nothing: a record that is truncated, too long, of another format or
// version, with counts beyond the limits, or whose checksum does not match decodes to nothing,
// and the caller treats the session as missing. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gru4rec {

struct SessionRecord {
  static constexpr uint32_t kFormatVersion = 2;
  static constexpr size_t kMaxStateFloats = 1 << 16;
  static constexpr size_t kMaxItems = 1000;
  static constexpr size_t kMaxItemIdBytes = 1024;

  uint64_t model_id = 0;           // Model::content_id of the model that computed `state`
  std::vector<float> state;        // the GRU state (all layers)
  std::vector<std::string> items;  // the session's item ids, oldest first
  uint64_t events = 0;             // known events applied to `state` since the session began

  // Not part of the record's bytes: the top-k answered at the session's last event, kept apart
  // (encode_answer) and joined by the store.
  std::vector<std::string> answer;
  uint64_t answer_events = 0;  // `events` when it was answered
};

// The record as bytes: "G4RS", format version, model id, state, items, CRC-32 of all before it
// (integers little-endian). Throws Error when the record exceeds the limits above.
std::string encode_session(const SessionRecord& record);

// The record from bytes; nullopt for anything but a well-formed record of this format version.
std::optional<SessionRecord> decode_session(std::string_view bytes);

// The answer part (answer_events, answer) as bytes of its own ("G4RA", the same layout and
// checks), and back into `record`; false, leaving it unchanged, for anything but an answer.
std::string encode_answer(const SessionRecord& record);
bool decode_answer(std::string_view bytes, SessionRecord& record);

}  // namespace gru4rec
