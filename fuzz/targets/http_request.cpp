// Bytes as a client sends them, cut into pieces as a socket delivers them, through the reader the
// server uses; pipelined requests one after another until the input ends or a request fails.
#include <algorithm>
#include <string>

#include "fuzz_targets.h"
#include "gru4rec/serve/http_request_reader.h"

namespace gru4rec::fuzz {

int http_request(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first byte picks the limits (small ones reach every limit with short inputs) and the
  // admin listener's Host rule; the second the size of the pieces.
  const uint8_t config = data[0], cut = data[1];
  HttpLimits limits;
  limits.max_header_bytes = (config & 1) ? 256 : 4096;
  limits.max_header_count = (config & 2) ? 4 : 64;
  limits.max_body_bytes = (config & 4) ? 32 : 4096;
  limits.admin_host_check = (config & 8) != 0;
  const size_t piece = 1 + (cut & 0x3F) * ((cut & 0x80) ? 97 : 1);
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  // The most a request may have parsed: its head, and its body with the framing's allowance.
  const uint64_t most = 2 * limits.max_header_bytes + limits.max_body_bytes + 64;

  HttpRequestReader reader(limits);
  std::string buffer;  // the connection's unparsed bytes
  size_t offset = 0;
  for (;;) {
    const size_t before = buffer.size();
    const size_t used = reader.parse(buffer);
    FUZZ_CHECK(used <= before);
    buffer.erase(0, used);
    FUZZ_CHECK(reader.bytes_parsed() <= most);
    const auto state = reader.state();
    if (state == HttpRequestReader::State::kDone) {
      const HttpRequest request = reader.take();
      FUZZ_CHECK(request.body.size() <= limits.max_body_bytes);
      FUZZ_CHECK(request.version == 10 || request.version == 11);
      FUZZ_CHECK(!request.method.empty() && !request.target.empty());
      continue;  // the next, pipelined one
    }
    if (state == HttpRequestReader::State::kFailed) {
      const int s = reader.status();
      FUZZ_CHECK(s == 0 || s == 400 || s == 403 || s == 411 || s == 413 || s == 415 || s == 421 ||
                 s == 431 || s == 501 || s == 505);
      FUZZ_CHECK(s == 0 || !reader.message().empty());
      return 0;
    }
    // Reading: the connection never keeps more than the reader allows.
    FUZZ_CHECK(buffer.size() < reader.buffer_limit());
    if (offset == input.size()) {
      reader.end_of_input();
      FUZZ_CHECK(reader.state() == HttpRequestReader::State::kFailed && reader.status() == 0);
      return 0;
    }
    const size_t n =
        std::min({piece, reader.buffer_limit() - buffer.size(), input.size() - offset});
    buffer.append(input.substr(offset, n));
    offset += n;
  }
}

}  // namespace gru4rec::fuzz
