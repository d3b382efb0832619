#include "gru4rec/model/vectors.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "gru4rec/core/error.h"
#include "gru4rec/core/file_io.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/model/inference.h"

namespace gru4rec {

MatrixR<float> session_vectors(const Model& model, const SessionLog& sessions, int threads) {
  const Predictor predictor(model);
  const auto units = static_cast<size_t>(model.weights.shape.output_size());
  const int64_t n = sessions.num_sessions();
  MatrixR<float> out = MatrixR<float>::Zero(n, static_cast<Eigen::Index>(units));
  const int workers = static_cast<int>(std::clamp<int64_t>(n, 1, std::max(1, threads)));
  run_parallel(workers, [&](int t) {
    auto scratch = predictor.make_scratch(1);
    std::vector<float> state(static_cast<size_t>(predictor.state_size()));
    for (int64_t s = t; s < n; s += workers) {
      std::fill(state.begin(), state.end(), 0.0f);
      for (int32_t item : sessions.session_items(s)) predictor.advance(state, item, scratch);
      // The state holds every layer's; the last layer's comes last.
      std::copy(state.end() - static_cast<ptrdiff_t>(units), state.end(), &out(s, 0));
    }
  });
  return out;
}

void write_vectors_tsv(std::ostream& out, const std::string& id_column,
                       const std::vector<std::string>& ids, const MatrixR<float>& vectors) {
  GRU4REC_CHECK(static_cast<Eigen::Index>(ids.size()) == vectors.rows());
  std::string line = id_column;
  for (Eigen::Index c = 0; c < vectors.cols(); ++c) line += fmt::format("\tv{}", c);
  out << line << '\n';
  for (Eigen::Index r = 0; r < vectors.rows(); ++r) {
    line = ids[static_cast<size_t>(r)];
    for (Eigen::Index c = 0; c < vectors.cols(); ++c) line += fmt::format("\t{}", vectors(r, c));
    out << line << '\n';
  }
}

void write_npy(std::ostream& out, const MatrixR<float>& vectors) {
  std::string header =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", vectors.rows(),
                  vectors.cols());
  // Magic (6), version (2), header length (2), header: padded with spaces to a multiple of 64
  // bytes in all, ending with a newline.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  out.write("\x93NUMPY\x01\x00", 8);
  const auto length = static_cast<uint16_t>(header.size());
  const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out << header;
  static_assert(std::endian::native == std::endian::little, "npy '<f4' is written as in memory");
  out.write(reinterpret_cast<const char*>(vectors.data()),
            static_cast<std::streamsize>(sizeof(float) * static_cast<size_t>(vectors.size())));
}

std::vector<std::string> save_vectors(const std::string& path, const std::string& id_column,
                                      const std::vector<std::string>& ids,
                                      const MatrixR<float>& vectors) {
  constexpr std::string_view kNpy = ".npy";
  if (path.size() > kNpy.size() && path.ends_with(kNpy)) {
    const std::string ids_path = path.substr(0, path.size() - kNpy.size()) + ".ids.txt";
    write_file_atomically(ids_path, [&](std::ostream& out) {
      for (const std::string& id : ids) out << id << '\n';
    });
    write_file_atomically(path, [&](std::ostream& out) { write_npy(out, vectors); });
    return {path, ids_path};
  }
  write_file_atomically(
      path, [&](std::ostream& out) { write_vectors_tsv(out, id_column, ids, vectors); });
  return {path};
}

}  // namespace gru4rec
