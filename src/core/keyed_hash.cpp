#include "gru4rec/core/keyed_hash.h"

#include <bit>
#include <cstring>
#include <random>

namespace gru4rec {
namespace {

struct SipState {
  uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void absorb(uint64_t word) {
    v3 ^= word;
    round();
    round();
    v0 ^= word;
  }
};

uint64_t load_little_endian(const char* at, size_t bytes) {
  uint64_t word = 0;
  for (size_t i = 0; i < bytes; ++i)
    word |= static_cast<uint64_t>(static_cast<unsigned char>(at[i])) << (8 * i);
  return word;
}

}  // namespace

SipKey SipKey::random() {
  std::random_device device;
  const auto draw = [&] { return (static_cast<uint64_t>(device()) << 32) ^ device(); };
  return SipKey{draw(), draw()};
}

uint64_t siphash24(const SipKey& key, std::string_view data) {
  SipState s{key.k0 ^ 0x736f6d6570736575ull, key.k1 ^ 0x646f72616e646f6dull,
             key.k0 ^ 0x6c7967656e657261ull, key.k1 ^ 0x7465646279746573ull};
  const size_t whole = data.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) s.absorb(load_little_endian(data.data() + i, 8));
  // The last word: the remaining bytes, and the length's low byte in the top byte.
  s.absorb(load_little_endian(data.data() + whole, data.size() - whole) |
           (static_cast<uint64_t>(data.size() & 0xff) << 56));
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace gru4rec
