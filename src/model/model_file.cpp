#include "gru4rec/model/model_file.h"

#include <zlib.h>

#include <bit>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/core/keyed_hash.h"

namespace gru4rec {
namespace {

using Json = nlohmann::json;

// 16 hexadecimal digits (a model id as the header writes it).
std::optional<uint64_t> parse_hex64(const std::string& text) {
  if (text.size() != 16) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    value = value << 4 | static_cast<uint64_t>(digit);
  }
  return value;
}

constexpr char kMagic[8] = {'G', 'R', 'U', '4', 'R', 'E', 'C', 'm'};
constexpr char kEndMagic[4] = {'G', '4', 'R', 'E'};
constexpr size_t kPrefixBytes = 16;
constexpr size_t kTrailerBytes = 16;
constexpr size_t kAlignment = 64;

size_t align_up(size_t value) {
  return (value + kAlignment - 1) / kAlignment * kAlignment;
}

template <typename Int>
void put_le(std::string& out, Int value) {
  for (size_t i = 0; i < sizeof(Int); ++i) {
    out.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xFF));
  }
}

template <typename Int>
Int get_le(std::string_view bytes, size_t offset) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(Int); ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return static_cast<Int>(value);
}

// Writes through to a stream while keeping the running length and CRC-32.
class ChecksummedWriter {
 public:
  explicit ChecksummedWriter(std::ostream& out) : out_(out), crc_(crc32(0L, Z_NULL, 0)) {}
  void write(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    size_t done = 0;
    while (done < size) {  // zlib takes 32-bit lengths
      const auto chunk = static_cast<uInt>(std::min<size_t>(size - done, 1u << 30));
      crc_ = crc32(crc_, bytes + done, chunk);
      done += chunk;
    }
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    length_ += size;
  }
  void write(std::string_view text) { write(text.data(), text.size()); }
  void pad_to(size_t offset) {
    static const char zeros[kAlignment] = {};
    GRU4REC_CHECK(offset >= length_ && offset - length_ < kAlignment);
    write(zeros, offset - length_);
  }
  size_t length() const { return length_; }
  uLong crc() const { return crc_; }

 private:
  std::ostream& out_;
  uLong crc_;
  size_t length_ = 0;
};

struct Block {
  std::string name;
  std::string kind;  // "items", "int64", "float32"
  int64_t rows = 0, cols = 0;
  size_t offset = 0;  // from the start of the data area
  size_t bytes = 0;
};

Json stats_to_json(const TrainingStats& s) {
  return Json{{"events", s.events},        {"sessions", s.sessions}, {"transitions", s.transitions},
              {"time_min", s.time_min},    {"time_max", s.time_max}, {"epochs", s.epochs},
              {"final_loss", s.final_loss}};
}

void write_model(const Model& model, std::ostream& out, bool with_optimizer_state) {
  const NetworkWeights<float>& w = model.weights;
  std::vector<Block> blocks;
  size_t offset = 0;
  auto add_block = [&](std::string name, std::string kind, int64_t rows, int64_t cols,
                       size_t bytes) {
    blocks.push_back(Block{std::move(name), std::move(kind), rows, cols, offset, bytes});
    offset = align_up(offset + bytes);
  };
  size_t item_bytes = 0;
  for (const std::string& id : model.items.ids()) item_bytes += 4 + id.size();
  add_block("items", "items", model.num_items(), 1, item_bytes);
  add_block("supports", "int64", model.num_items(), 1, sizeof(int64_t) * model.supports.size());
  w.for_each_tensor([&](const std::string& name, const auto& tensor) {
    add_block(name, "float32", tensor.rows(), tensor.cols(),
              sizeof(float) * static_cast<size_t>(tensor.size()));
  });
  // The optimizer's state: "adagrad.<tensor>" (and "momentum.<tensor>") blocks after the weights.
  const OptimizerState* state = with_optimizer_state ? model.optimizer_state.get() : nullptr;
  const auto state_parts = [&](const auto& f) {
    if (state == nullptr) return;
    f("adagrad.", state->accumulators);
    if (state->velocities) f("momentum.", *state->velocities);
  };
  state_parts([&](const std::string& prefix, const NetworkWeights<float>& part) {
    part.for_each_tensor([&](const std::string& name, const auto& tensor) {
      add_block(prefix + name, "float32", tensor.rows(), tensor.cols(),
                sizeof(float) * static_cast<size_t>(tensor.size()));
    });
  });

  Json params = Json::object();
  for (const auto& [name, value] : format_params(model.params)) params[name] = value;
  Json block_table = Json::array();
  for (const Block& b : blocks) {
    block_table.push_back(Json{{"name", b.name},
                               {"kind", b.kind},
                               {"rows", b.rows},
                               {"cols", b.cols},
                               {"offset", b.offset},
                               {"bytes", b.bytes}});
  }
  Json header{{"created_by", std::string("gru4rec ") + GRU4REC_VERSION},
              {"params", params},
              {"num_items", model.num_items()},
              {"stats", stats_to_json(model.stats)},
              {"blocks", block_table}};
  if (!model.lineage.empty()) {  // absent from models trained from scratch (and older files)
    Json lineage = Json::array();
    for (const LineageStep& step : model.lineage) {
      lineage.push_back(Json{{"model_id", fmt::format("{:016x}", step.model_id)},
                             {"items", step.items},
                             {"events", step.events},
                             {"sessions", step.sessions},
                             {"time_min", step.time_min},
                             {"time_max", step.time_max},
                             {"epochs", step.epochs}});
    }
    header["lineage"] = lineage;
  }
  const std::string header_text = header.dump();

  ChecksummedWriter writer(out);
  std::string prefix(kMagic, sizeof kMagic);
  put_le<uint32_t>(prefix, kModelFormatVersion);
  put_le<uint32_t>(prefix, static_cast<uint32_t>(header_text.size()));
  writer.write(prefix);
  writer.write(header_text);
  const size_t data_start = align_up(writer.length());
  size_t block_index = 0;
  auto start_block = [&]() { writer.pad_to(data_start + blocks[block_index++].offset); };

  start_block();
  for (const std::string& id : model.items.ids()) {
    std::string length;
    put_le<uint32_t>(length, static_cast<uint32_t>(id.size()));
    writer.write(length);
    writer.write(id);
  }
  start_block();
  for (int64_t support : model.supports) {
    std::string bytes;
    put_le<int64_t>(bytes, support);
    writer.write(bytes);
  }
  static_assert(std::endian::native == std::endian::little, "the model format is little-endian");
  w.for_each_tensor([&](const std::string&, const auto& tensor) {
    start_block();
    writer.write(tensor.data(), sizeof(float) * static_cast<size_t>(tensor.size()));
  });
  state_parts([&](const std::string&, const NetworkWeights<float>& part) {
    part.for_each_tensor([&](const std::string&, const auto& tensor) {
      start_block();
      writer.write(tensor.data(), sizeof(float) * static_cast<size_t>(tensor.size()));
    });
  });
  std::string trailer;
  put_le<uint64_t>(trailer, writer.length());
  put_le<uint32_t>(trailer, static_cast<uint32_t>(writer.crc()));
  trailer.append(kEndMagic, sizeof kEndMagic);
  out.write(trailer.data(), static_cast<std::streamsize>(trailer.size()));
}

// A model with a NaN or infinite weight is never written (loading would refuse it anyway):
// throws Error naming the tensor, prefixed with `target`.
void require_finite_weights(const Model& model, std::string_view target) {
  model.weights.for_each_tensor([&](const std::string& name, const auto& tensor) {
    if (!tensor.allFinite()) {
      throw Error(
          fmt::format("{}: not written: tensor {} of the model holds NaN or infinite "
                      "weights (the training diverged)",
                      target, name));
    }
  });
}

// An integer field of the header within what `T` holds: a fraction, a number out of range or
// another type is a damaged header, never converted (converting 8.9e107 to an integer is
// undefined behaviour; found by fuzz/targets/model_file.cpp). Json::out_of_range when absent.
template <typename T>
T integer_at(const Json& object, const char* key, std::string_view source) {
  const Json& value = object.at(key);
  bool fits = value.is_number_integer();
  if (fits && value.is_number_unsigned()) {
    fits = value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if (fits) {
    const int64_t v = value.get<int64_t>();
    fits = v >= 0 ? static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                  : std::numeric_limits<T>::is_signed &&
                        v >= static_cast<int64_t>(std::numeric_limits<T>::min());
  }
  if (!fits) {
    throw Error(fmt::format("{}: header field '{}' is {}; expected an integer from {} to {}",
                            source, key, value.dump().substr(0, 40), std::numeric_limits<T>::min(),
                            std::numeric_limits<T>::max()));
  }
  return value.is_number_unsigned() ? static_cast<T>(value.get<uint64_t>())
                                    : static_cast<T>(value.get<int64_t>());
}

}  // namespace

uint64_t model_content_id(std::string_view file_bytes) {
  // Identity, not security: the key is fixed so that every process agrees on a file's id.
  return siphash24(SipKey{0x6772753472656331ull, 0x6d6f64656c2d6964ull}, file_bytes);
}

std::string serialize_model(const Model& model, bool with_optimizer_state) {
  require_finite_weights(model, "model");
  std::ostringstream out(std::ios::binary);
  write_model(model, out, with_optimizer_state);
  return std::move(out).str();
}

void save_model(const Model& model, const std::string& path, bool with_optimizer_state) {
  require_finite_weights(model, path);
  if (with_optimizer_state && !model.optimizer_state)
    throw Error(
        fmt::format("{}: not written: the model has no optimizer state to save (it was "
                    "not trained in this process nor loaded with one)",
                    path));
  write_file_atomically(path,
                        [&](std::ostream& out) { write_model(model, out, with_optimizer_state); });
}

Model load_model(const std::string& path) {
  return load_model_from_bytes(read_file(path), path);
}

Model load_model(const std::string& path, uint64_t max_bytes) {
  return load_model_from_bytes(read_regular_file(path, max_bytes), path);
}

Model load_model_from_bytes(std::string_view bytes, std::string_view source) {
  auto fail = [&](std::string_view what) -> Error {
    return Error(fmt::format("{}: {}", source, what));
  };
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw fail("not a gru4rec model file (wrong magic number)");
  }
  if (bytes.size() < kPrefixBytes + kTrailerBytes) {
    throw fail(fmt::format("truncated model file ({} bytes)", bytes.size()));
  }
  const auto version = get_le<uint32_t>(bytes, 8);
  if (version > kModelFormatVersion) {
    throw fail(
        fmt::format("model format version {} is newer than this gru4rec supports ({}); "
                    "use a newer gru4rec",
                    version, kModelFormatVersion));
  }
  if (version == 0) throw fail("invalid model format version 0 (damaged file)");
  const size_t body = bytes.size() - kTrailerBytes;
  if (std::memcmp(bytes.data() + bytes.size() - 4, kEndMagic, 4) != 0 ||
      get_le<uint64_t>(bytes, body) != body) {
    throw fail(
        fmt::format("truncated or damaged model file ({} bytes; the end marker is "
                    "missing or gives another length)",
                    bytes.size()));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < body;) {
    const auto chunk = static_cast<uInt>(std::min<size_t>(body - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const unsigned char*>(bytes.data()) + done, chunk);
    done += chunk;
  }
  if (static_cast<uint32_t>(crc) != get_le<uint32_t>(bytes, body + 8)) {
    throw fail("checksum mismatch: the model file is corrupt");
  }
  const auto header_length = get_le<uint32_t>(bytes, 12);
  if (kPrefixBytes + header_length > body) throw fail("header length exceeds the file");
  Json header;
  try {
    header = Json::parse(bytes.substr(kPrefixBytes, header_length));
  } catch (const Json::exception& e) {
    throw fail(fmt::format("invalid model header: {}", e.what()));
  }
  const size_t data_start = align_up(kPrefixBytes + header_length);

  Model model;
  model.content_id = model_content_id(bytes);
  try {
    for (const auto& [name, value] : header.at("params").items()) {
      set_param(model.params, name, value.get<std::string>(), fmt::format("{}: parameter", source));
    }
    try {
      validate_params(model.params);
    } catch (const Error& e) {
      throw fail(fmt::format("stored parameters are inconsistent: {}", e.what()));
    }
    const auto stored_items = integer_at<int64_t>(header, "num_items", source);
    if (stored_items < 2 || stored_items > INT32_MAX) {
      throw fail(fmt::format("invalid item count {}", stored_items));
    }
    const auto num_items = static_cast<int32_t>(stored_items);
    const Json& stats = header.at("stats");
    model.stats.events = integer_at<int64_t>(stats, "events", source);
    model.stats.sessions = integer_at<int64_t>(stats, "sessions", source);
    model.stats.transitions = integer_at<int64_t>(stats, "transitions", source);
    model.stats.time_min = stats.at("time_min").get<double>();
    model.stats.time_max = stats.at("time_max").get<double>();
    model.stats.epochs = integer_at<int>(stats, "epochs", source);
    model.stats.final_loss = stats.at("final_loss").get<double>();
    if (header.contains("lineage")) {
      for (const Json& step : header.at("lineage")) {
        const std::string id = step.at("model_id").get<std::string>();
        const std::optional<uint64_t> parsed = parse_hex64(id);
        if (!parsed) throw fail(fmt::format("lineage: invalid model id '{}'", id));
        model.lineage.push_back(LineageStep{
            *parsed, integer_at<int32_t>(step, "items", source),
            integer_at<int64_t>(step, "events", source),
            integer_at<int64_t>(step, "sessions", source), step.at("time_min").get<double>(),
            step.at("time_max").get<double>(), integer_at<int>(step, "epochs", source)});
      }
    }

    std::map<std::string, Block> blocks;
    for (const Json& b : header.at("blocks")) {
      Block block{b.at("name").get<std::string>(),         b.at("kind").get<std::string>(),
                  integer_at<int64_t>(b, "rows", source),  integer_at<int64_t>(b, "cols", source),
                  integer_at<size_t>(b, "offset", source), integer_at<size_t>(b, "bytes", source)};
      if (block.offset > body || block.bytes > body ||
          data_start + block.offset + block.bytes > body) {
        throw fail(fmt::format("block {} lies outside the file", block.name));
      }
      blocks[block.name] = block;
    }
    auto block_bytes = [&](const std::string& name) {
      auto it = blocks.find(name);
      if (it == blocks.end()) throw fail(fmt::format("block {} is missing", name));
      return std::make_pair(it->second,
                            bytes.substr(data_start + it->second.offset, it->second.bytes));
    };

    auto [items_block, item_data] = block_bytes("items");
    size_t pos = 0;
    for (int32_t i = 0; i < num_items; ++i) {
      if (pos + 4 > item_data.size()) throw fail("item dictionary is shorter than the item count");
      const auto length = get_le<uint32_t>(item_data, pos);
      pos += 4;
      if (length > item_data.size() - pos) throw fail("item dictionary entry exceeds its block");
      const std::string_view id = item_data.substr(pos, length);
      pos += length;
      if (model.items.insert(id) != i) throw fail(fmt::format("item id '{}' appears twice", id));
    }
    if (pos != item_data.size()) throw fail("item dictionary is longer than the item count");
    auto [support_block, support_data] = block_bytes("supports");
    if (support_data.size() != sizeof(int64_t) * static_cast<size_t>(num_items)) {
      throw fail("supports block does not match the item count");
    }
    model.supports.resize(static_cast<size_t>(num_items));
    for (int32_t i = 0; i < num_items; ++i) {
      model.supports[static_cast<size_t>(i)] =
          get_le<int64_t>(support_data, 8 * static_cast<size_t>(i));
      if (model.supports[static_cast<size_t>(i)] < 1) throw fail("an item has no support");
    }

    const NetworkShape shape = NetworkShape::from_params(model.params, num_items);
    if (sizeof(float) * static_cast<uint64_t>(shape.parameter_count()) > body) {
      throw fail("the stored parameters need more weights than the file holds");
    }
    model.weights = NetworkWeights<float>::zeros(shape);
    model.weights.for_each_tensor([&](const std::string& name, auto& tensor) {
      auto [block, data] = block_bytes(name);
      if (block.kind != "float32" || block.rows != tensor.rows() || block.cols != tensor.cols() ||
          data.size() != sizeof(float) * static_cast<size_t>(tensor.size())) {
        throw fail(fmt::format("tensor {} is {}x{}, expected {}x{} for the stored parameters", name,
                               block.rows, block.cols, tensor.rows(), tensor.cols()));
      }
      std::memcpy(tensor.data(), data.data(), data.size());
      if (!tensor.allFinite()) throw fail(fmt::format("tensor {} holds NaN or Inf values", name));
    });
    // The optimizer's state, when the file holds it: every tensor, or the file is refused.
    if (blocks.contains("adagrad.Wy")) {
      auto state = std::make_shared<OptimizerState>();
      const auto read_part = [&](const std::string& prefix, NetworkWeights<float>& part) {
        part = NetworkWeights<float>::zeros(shape);
        part.for_each_tensor([&](const std::string& name, auto& tensor) {
          auto [block, data] = block_bytes(prefix + name);
          if (block.kind != "float32" || block.rows != tensor.rows() ||
              block.cols != tensor.cols() ||
              data.size() != sizeof(float) * static_cast<size_t>(tensor.size())) {
            throw fail(
                fmt::format("tensor {}{} does not have the shape of {}", prefix, name, name));
          }
          std::memcpy(tensor.data(), data.data(), data.size());
          if (!tensor.allFinite())
            throw fail(fmt::format("tensor {}{} holds NaN or Inf values", prefix, name));
        });
      };
      read_part("adagrad.", state->accumulators);
      if (blocks.contains("momentum.Wy")) {
        state->velocities.emplace();
        read_part("momentum.", *state->velocities);
      }
      model.optimizer_state = std::move(state);
    }
  } catch (const Json::exception& e) {
    throw fail(fmt::format("invalid model header: {}", e.what()));
  }
  return model;
}

}  // namespace gru4rec
