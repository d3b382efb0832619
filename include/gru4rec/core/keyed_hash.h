// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash of byte strings, for hash
// tables whose keys come from the network (session ids). Without the secret key a client
// cannot craft keys that collide, so it cannot pile its keys into one bucket or one shard.
// Written here because no Debian package offers a plain keyed string hash (OpenSSL's SipHash
// goes through the EVP_MAC machinery, an allocation per call).
//
// Pure. KeyedStringHash is immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace gru4rec {

struct SipKey {
  uint64_t k0 = 0, k1 = 0;
  static SipKey random();  // from std::random_device
};

uint64_t siphash24(const SipKey& key, std::string_view data);

// Hash functor for tables keyed by std::string and searched by std::string_view.
class KeyedStringHash {
 public:
  using is_transparent = void;
  KeyedStringHash() : key_(SipKey::random()) {}
  explicit KeyedStringHash(const SipKey& key) : key_(key) {}
  size_t operator()(std::string_view key) const { return siphash24(key_, key); }

 private:
  SipKey key_;
};

}  // namespace gru4rec
