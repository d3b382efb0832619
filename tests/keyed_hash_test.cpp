#include "gru4rec/core/keyed_hash.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace gru4rec {
namespace {

// The key 00 01 .. 0f of the SipHash paper's test vectors.
constexpr SipKey kPaperKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

std::string bytes_up_to(int n) {  // 00 01 .. n-1
  std::string message;
  for (int i = 0; i < n; ++i) message.push_back(static_cast<char>(i));
  return message;
}

TEST(KeyedHash, MatchesThePapersTestVectors) {
  EXPECT_EQ(siphash24(kPaperKey, ""), 0x726fdb47dd0e0e31ull);
  // The example of the paper's appendix: 15 bytes, so the last word is part message, part
  // length.
  EXPECT_EQ(siphash24(kPaperKey, bytes_up_to(15)), 0xa129ca6149be45e5ull);
}

TEST(KeyedHash, DependsOnTheKeyAndOnEveryByte) {
  const SipKey other{kPaperKey.k0 ^ 1, kPaperKey.k1};
  EXPECT_NE(siphash24(kPaperKey, "session-42"), siphash24(other, "session-42"));
  EXPECT_NE(siphash24(kPaperKey, "session-42"), siphash24(kPaperKey, "session-43"));
  // A trailing zero byte changes the length, hence the hash.
  EXPECT_NE(siphash24(kPaperKey, std::string_view("ab")),
            siphash24(kPaperKey, std::string_view("ab\0", 3)));
  // Two random keys (from the OS) differ.
  EXPECT_NE(KeyedStringHash()("x"), KeyedStringHash()("x"));
}

TEST(KeyedHash, SpreadsSequentialIdsEvenly) {
  const KeyedStringHash hash(kPaperKey);
  int shards[16] = {};
  std::set<size_t> distinct;
  for (int i = 0; i < 16000; ++i) {
    const size_t h = hash("visitor-" + std::to_string(i));
    distinct.insert(h);
    ++shards[(h >> 40) % 16];
  }
  EXPECT_EQ(distinct.size(), 16000u);
  for (int count : shards) {  // 1,000 expected per shard; 5 standard deviations is about 150
    EXPECT_GT(count, 850);
    EXPECT_LT(count, 1150);
  }
}

}  // namespace
}  // namespace gru4rec
