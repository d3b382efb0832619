// The model file: versioned, self-describing, checksummed, written atomically.
//
// Layout (all integers little-endian):
//   0    8 bytes   magic "GRU4RECm"
//   8    uint32    format version (kModelFormatVersion)
//   12   uint32    H, length of the header
//   16   H bytes   header, UTF-8 JSON: the effective parameters (name -> value text, as in a
//                  parameter string), the network shape, training data statistics, and a
//                  table of the binary blocks that follow (name, kind, shape, offset, bytes)
//   ...            zero padding to a multiple of 64, then the blocks, each starting at a
//                  multiple of 64 from the beginning of the file:
//                    items     for each item: uint32 length + the id's bytes
//                    supports  int64 per item
//                    tensors   float32, row-major (E, layerL.Wx/.Urz/.Uh/.bh, Wy, By)
//                    optional: adagrad.<tensor> (and momentum.<tensor>) for every tensor
//   end  16 bytes  trailer: uint64 length of everything before the trailer, uint32 CRC-32
//                  (zlib) of those bytes, magic "G4RE"
//
// Loading checks, in order: magic, version (newer versions are refused), trailer (truncation),
// checksum (any flipped byte), then the header and every block against the shape. Each failure
// throws gru4rec::Error naming the file and the problem.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gru4rec/model/model.h"

namespace gru4rec {

inline constexpr uint32_t kModelFormatVersion = 1;

// Writes the model to `path` atomically (temporary file, then rename). Throws Error, and writes
// nothing, when a weight is NaN or infinite. with_optimizer_state: also the optimizer's state
// ("adagrad.<tensor>" blocks, and "momentum.<tensor>" ones with momentum: the file doubles or
// triples), so that a continued training goes on where this one stopped; Error when the model
// has none.
void save_model(const Model& model, const std::string& path, bool with_optimizer_state = false);

Model load_model(const std::string& path);
// The same from a regular file of at most max_bytes only (what a server reloading files that
// others replace needs: a FIFO, a device or an oversized file is refused without blocking).
Model load_model(const std::string& path, uint64_t max_bytes);
// The same from bytes in memory; `source_name` is used in messages.
Model load_model_from_bytes(std::string_view bytes, std::string_view source_name);

// The file's bytes, as save_model writes them (the same refusal of non-finite weights).
std::string serialize_model(const Model& model, bool with_optimizer_state = false);

// The id of a model file's bytes (Model::content_id of the model loaded from them).
uint64_t model_content_id(std::string_view file_bytes);

}  // namespace gru4rec
