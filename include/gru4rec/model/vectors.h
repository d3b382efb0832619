// The model's vectors as outputs, for search, similar-item lists or other models: the item
// vectors (the rows of the output weights Wy, what a session's state is multiplied with to
// score an item; with constrained_embedding, the default, also the input embedding) and
// session vectors (the last GRU layer's state after a session's events). Written as TSV (id,
// then the values) or as NumPy .npy (float32, row-major, one row per id).
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/model/model.h"

namespace gru4rec {

// The last layer's state after each session of `sessions` (item indices of model.items), one
// row per session in log order; zeros for a session without events. Sessions are shared out
// between `threads` threads.
MatrixR<float> session_vectors(const Model& model, const SessionLog& sessions, int threads = 1);

// One line per row: ids[r], then the row's values (tab-separated, shortest exact text), after
// a header "<id_column>\tv0\tv1...".
void write_vectors_tsv(std::ostream& out, const std::string& id_column,
                       const std::vector<std::string>& ids, const MatrixR<float>& vectors);

// The matrix as NumPy format version 1.0 ('<f4', C order).
void write_npy(std::ostream& out, const MatrixR<float>& vectors);

// Writes the vectors to `path` atomically: NumPy when it ends in ".npy" (then the ids go, one
// per line, to the same path with ".ids.txt" instead of ".npy"), else TSV. Returns the paths
// written.
std::vector<std::string> save_vectors(const std::string& path, const std::string& id_column,
                                      const std::vector<std::string>& ids,
                                      const MatrixR<float>& vectors);

}  // namespace gru4rec
