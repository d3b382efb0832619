// Approximate top-k retrieval for large catalogs (gru4rec serve --retrieval ann), over FAISS.
//
// An item's score is state . Wy[i] + By[i]: a maximum inner product search with a bias. Both
// index types reduce it exactly to a search FAISS knows, so that the only approximation is the
// index's own (which lists or graph nodes it visits):
// - ivf (the default): an inverted file over the vectors v_i = [Wy[i], By[i]] (units + 1
//   floats), searched by inner product with the query q = [state, 1]: q . v_i is the item's
//   score. The `nlist` centroids are trained by FAISS's k-means (faiss::Clustering, inner
//   product assignment) on a sample of the items; each item goes to the list of its largest
//   inner product; a query scans the `nprobe` lists whose centroids have the largest inner
//   product with q. The centroids and each list are scored by the project's ItemScorer
//   (AVX-512/AVX2 kernels, uncompressed float32), not by FAISS: Debian's libfaiss is compiled
//   for baseline x86-64 and its list scan runs a scalar inner product (57% of the server's
//   time at 1M items in the profile of docs/performance.md). Scores are thus exact.
// - hnsw: a HNSW graph under the Euclidean distance, over u_i = [v_i, sqrt(R^2 - |v_i|^2)]
//   (R: the largest |v_i|) and the query [q, 0]: |[q,0] - u_i|^2 = |q|^2 + R^2 - 2 q . v_i, so
//   the nearest items are those of the largest scores (the usual MIPS-to-L2 reduction; graphs
//   built directly for inner products have no triangle inequality to rely on).
//
// Built at construction (from the model's weights: at every load and reload), with FAISS's
// OpenMP threads set to every core for the build; searches run one query on the calling thread
// (FAISS's OpenMP team of that thread is set to 1, so that concurrent requests do not each start
// a team on every core). Immutable after construction; search() is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/model/item_scorer.h"

namespace faiss {
struct Index;
}

namespace gru4rec {

enum class RetrievalMode {
  kExact,  // every item scored (ItemScorer): the offline evaluator's ranking
  kAnn,    // candidates from an AnnIndex, rescored exactly
  kAuto,   // kAnn for catalogs of at least auto_min_items items, else kExact
};
enum class AnnIndexType { kIvf, kHnsw };

struct RetrievalOptions {
  RetrievalMode mode = RetrievalMode::kAuto;
  // kAuto's threshold (docs/performance.md, "Large catalogs", has the measurements behind it).
  int64_t auto_min_items = 200'000;
  AnnIndexType index = AnnIndexType::kIvf;
  int nlist = 0;    // ivf: lists (0: 4 sqrt(items), at least 1, at most items / 8)
  int nprobe = 0;   // ivf: lists scanned per query (0: nlist / 128, at least 8)
  int hnsw_m = 32;  // hnsw: links per node
  int ef_construction = 80;
  int ef_search = 256;  // hnsw: candidates kept during a search (at least k + excluded)

  // The mode for a catalog of `items` items (kAuto resolved).
  RetrievalMode resolve(int64_t items) const;
};

// Throws Error with the option's name when a value is out of range.
void validate(const RetrievalOptions& options);
// From the command line's words ("exact", "ann", "auto"; "ivf", "hnsw"); throw Error otherwise.
RetrievalMode parse_retrieval_mode(std::string_view text);
AnnIndexType parse_ann_index_type(std::string_view text);
std::string_view retrieval_mode_name(RetrievalMode mode);

class AnnIndex {
 public:
  // `weights`: items x units (Wy), `bias`: one value per item (By). `precision`: of the lists'
  // copies of the weights (ivf; float16 halves the bytes a search streams; the candidates are
  // rescored exactly by the caller).
  AnnIndex(const MatrixR<float>& weights, std::span<const float> bias,
           const RetrievalOptions& options, WeightPrecision precision = WeightPrecision::kFloat32);
  ~AnnIndex();
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  // Up to `out.size()` candidate items for `state` (units floats), by decreasing approximate
  // score; returns how many (fewer when the probed lists hold fewer items). `breadth` > 0
  // overrides the index's nprobe (ivf) or efSearch (hnsw) for this search (benchmarks sweep it).
  size_t search(std::span<const float> state, std::span<int32_t> out, int breadth = 0) const;

  double build_seconds() const { return build_seconds_; }
  size_t bytes() const { return bytes_; }  // memory held by the index (vectors and structure)
  // e.g. "ivf (nlist 4000, nprobe 125) over 1000000 items, built in 12.3 s, 420 MiB"
  std::string describe() const;

 private:
  std::unique_ptr<faiss::Index> index_;           // hnsw
  std::unique_ptr<ItemScorer> centroids_;         // ivf: the lists' centroids
  std::vector<ItemScorer> lists_;                 // ivf: each list's items (Wy and By rows)
  std::vector<std::vector<int32_t>> list_items_;  // ivf: their item indices
  AnnIndexType type_;
  int units_ = 0;
  int64_t items_ = 0;
  int nlist_ = 0, nprobe_ = 0, hnsw_m_ = 0, ef_search_ = 0;
  double build_seconds_ = 0;
  size_t bytes_ = 0;
};

}  // namespace gru4rec
