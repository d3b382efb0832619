// Bytes as a Redis server (or anything listening where Redis should be) sends them: parsed as the
// client parses them, then read as the server reads session records and experiment counters.
// Counts that are accepted must be consistent and give statistics within their ranges.
#include <cmath>

#include "fuzz_targets.h"
#include "gru4rec/core/error.h"
#include "gru4rec/serve/experiment.h"
#include "gru4rec/serve/redis_client.h"
#include "gru4rec/serve/redis_session_store.h"

namespace gru4rec::fuzz {
namespace {

void read_as_counts(const RedisReply& reply) {
  VariantCounts counts;
  try {
    counts = counts_from_redis_hash(reply);
  } catch (const Error&) {
    return;  // refused, with a message: what /v1/experiments answers 503 with
  }
  FUZZ_CHECK(consistency_problem(counts).empty());
  const Estimate hr = hit_rate(counts), mrr = mean_reciprocal_rank(counts);
  for (const Estimate& e : {hr, mrr}) {
    FUZZ_CHECK(std::isfinite(e.value) && e.value >= 0 && e.value <= 1);
    FUZZ_CHECK(e.low <= e.value + 1e-12 && e.value <= e.high + 1e-12);
  }
  // Against itself: no difference (a variant without measured events has none to give: NaN).
  for (const Difference& d :
       {hit_rate_difference(counts, counts), mrr_difference(counts, counts)}) {
    if (counts[VariantCounts::kMeasured] == 0) {
      FUZZ_CHECK(std::isnan(d.value));
    } else {
      FUZZ_CHECK(d.value == 0 && d.p_value == 1);
    }
  }
}

}  // namespace

int redis_reply(const uint8_t* data, size_t size) {
  std::vector<RedisReply> replies;
  try {
    replies = parse_redis_replies(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const Error&) {
    return 0;
  }
  for (const RedisReply& reply : replies) {
    read_as_counts(reply);
    session_record_of(reply);
    if (reply.kind == RedisReply::Kind::kArray && reply.elements.size() == 2)
      session_record_of(reply.elements[0], &reply.elements[1]);
  }
  return 0;
}

}  // namespace gru4rec::fuzz
