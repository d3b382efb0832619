// The bytes of a model file. "Resealed" inputs get a valid trailer (length and CRC-32), so that
// the fuzzer reaches the header and the blocks behind the checksum. A model that loads must
// serialize and load again to the same model, and serve.
#include "gru4rec/model/model_file.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <string>

#include "fuzz_targets.h"
#include "gru4rec/core/error.h"
#include "gru4rec/model/inference.h"

namespace gru4rec::fuzz {
namespace {

std::string resealed(std::string_view body) {
  std::string out(body);
  const uint64_t length = body.size();
  const auto crc =
      static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()),
                                  static_cast<uInt>(body.size())));
  out.append(reinterpret_cast<const char*>(&length), 8);
  out.append(reinterpret_cast<const char*>(&crc), 4);
  out += "G4RE";
  return out;
}

}  // namespace

int model_file(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string bytes = (data[0] & 1) ? resealed(input) : std::string(input);
  Model model;
  try {
    model = load_model_from_bytes(bytes, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(model.num_items() > 0);
  FUZZ_CHECK(static_cast<int64_t>(model.supports.size()) == model.num_items());
  const std::string again = serialize_model(model);
  const Model reloaded = load_model_from_bytes(again, "again");
  FUZZ_CHECK(serialize_model(reloaded) == again);
  // A model that loads can serve: one event, every item scored (within the buffers; the values
  // are the weights' business: a file of finite but extreme weights may well give infinities).
  const Predictor predictor(model);
  auto scratch = predictor.make_scratch(1);
  std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
  std::vector<float> scores(static_cast<size_t>(model.num_items()));
  predictor.advance(state, model.num_items() - 1, scratch);
  predictor.score(state, scores);
  return 0;
}

}  // namespace gru4rec::fuzz
