#include "gru4rec/serve/ann_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"

namespace gru4rec {
namespace {

// Counts the bytes FAISS would write for an index: its memory, vectors and structure.
struct CountingWriter : faiss::IOWriter {
  size_t bytes = 0;
  size_t operator()(const void*, size_t size, size_t nitems) override {
    bytes += size * nitems;
    return nitems;
  }
};

// FAISS parallelizes with OpenMP, whose team size is a per-thread setting: every core for a
// build, one thread for a search (concurrent requests are the parallelism then).
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~OmpThreads() { omp_set_num_threads(saved_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

int default_nlist(int64_t items) {
  const auto by_root = static_cast<int64_t>(std::lround(4.0 * std::sqrt(static_cast<double>(items))));
  return static_cast<int>(std::max<int64_t>(1, std::min(by_root, items / 8)));
}

}  // namespace

RetrievalMode RetrievalOptions::resolve(int64_t items) const {
  if (mode != RetrievalMode::kAuto) return mode;
  return items >= auto_min_items ? RetrievalMode::kAnn : RetrievalMode::kExact;
}

void validate(const RetrievalOptions& o) {
  const auto check = [](bool ok, std::string_view name, int64_t value, std::string_view range) {
    if (!ok) throw Error(fmt::format("{} {}: expected {}", name, value, range));
  };
  check(o.auto_min_items >= 1, "--ann-min-items", o.auto_min_items, "at least 1");
  check(o.nlist >= 0 && o.nlist <= (1 << 24), "--ann-nlist", o.nlist,
        "0 (automatic) to 16777216");
  check(o.nprobe >= 0 && o.nprobe <= (1 << 24), "--ann-nprobe", o.nprobe,
        "0 (automatic) to 16777216");
  if (o.nlist > 0 && o.nprobe > o.nlist) {
    throw Error(fmt::format("--ann-nprobe {}: more than the {} lists of --ann-nlist", o.nprobe,
                            o.nlist));
  }
  check(o.hnsw_m >= 4 && o.hnsw_m <= 256, "--ann-hnsw-m", o.hnsw_m, "4 to 256");
  check(o.ef_construction >= 8 && o.ef_construction <= 4096, "--ann-ef-construction",
        o.ef_construction, "8 to 4096");
  check(o.ef_search >= 1 && o.ef_search <= 65536, "--ann-ef-search", o.ef_search, "1 to 65536");
}

RetrievalMode parse_retrieval_mode(std::string_view text) {
  if (text == "exact") return RetrievalMode::kExact;
  if (text == "ann") return RetrievalMode::kAnn;
  if (text == "auto") return RetrievalMode::kAuto;
  throw Error(fmt::format("--retrieval '{}': expected exact, ann or auto", text));
}

AnnIndexType parse_ann_index_type(std::string_view text) {
  if (text == "ivf") return AnnIndexType::kIvf;
  if (text == "hnsw") return AnnIndexType::kHnsw;
  throw Error(fmt::format("--ann-index '{}': expected ivf or hnsw", text));
}

std::string_view retrieval_mode_name(RetrievalMode mode) {
  switch (mode) {
    case RetrievalMode::kExact: return "exact";
    case RetrievalMode::kAnn: return "ann";
    case RetrievalMode::kAuto: return "auto";
  }
  return "?";
}

AnnIndex::AnnIndex(const MatrixR<float>& weights, std::span<const float> bias,
                   const RetrievalOptions& options)
    : type_(options.index),
      units_(static_cast<int>(weights.cols())),
      items_(weights.rows()),
      hnsw_m_(options.hnsw_m),
      ef_search_(options.ef_search) {
  validate(options);
  GRU4REC_CHECK(static_cast<int64_t>(bias.size()) == items_);
  if (items_ < 1) throw Error("an approximate index needs at least one item");
  const auto start = std::chrono::steady_clock::now();
  const OmpThreads threads(available_cores());
  const int d = units_ + 1;
  if (type_ == AnnIndexType::kIvf) {
    // v_i = [Wy[i], By[i]]; the query [state, 1].
    std::vector<float> vectors(static_cast<size_t>(items_) * static_cast<size_t>(d));
    for (int64_t i = 0; i < items_; ++i) {
      float* v = vectors.data() + i * d;
      std::copy_n(&weights(i, 0), units_, v);
      v[units_] = bias[static_cast<size_t>(i)];
    }
    nlist_ = options.nlist > 0 ? static_cast<int>(std::min<int64_t>(options.nlist, items_))
                               : default_nlist(items_);
    nprobe_ = options.nprobe > 0 ? std::min(options.nprobe, nlist_)
                                 : std::min(nlist_, std::max(8, nlist_ / 32));
    quantizer_ = std::make_unique<faiss::IndexFlatIP>(d);
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer_.get(), d,
                                                     static_cast<size_t>(nlist_),
                                                     faiss::METRIC_INNER_PRODUCT);
    // k-means on at most 64 items per list (FAISS's default, 256, makes the build of a 1M-item
    // catalog several times slower for no measurable recall), 10 iterations, a fixed seed.
    ivf->cp.max_points_per_centroid = 64;
    ivf->cp.niter = 10;
    ivf->cp.seed = 1234;
    ivf->cp.verbose = false;
    ivf->train(items_, vectors.data());
    ivf->add(items_, vectors.data());
    ivf->nprobe = static_cast<size_t>(nprobe_);
    index_ = std::move(ivf);
  } else {
    // u_i = [v_i, sqrt(R^2 - |v_i|^2)] under L2; the query [state, 1, 0].
    const int d2 = d + 1;
    std::vector<float> vectors(static_cast<size_t>(items_) * static_cast<size_t>(d2));
    double max_norm2 = 0;
    for (int64_t i = 0; i < items_; ++i) {
      float* v = vectors.data() + i * d2;
      std::copy_n(&weights(i, 0), units_, v);
      v[units_] = bias[static_cast<size_t>(i)];
      double norm2 = 0;
      for (int j = 0; j < d; ++j) norm2 += static_cast<double>(v[j]) * v[j];
      v[d] = static_cast<float>(norm2);  // |v_i|^2 for now
      max_norm2 = std::max(max_norm2, norm2);
    }
    for (int64_t i = 0; i < items_; ++i) {
      float* v = vectors.data() + i * d2;
      v[d] = static_cast<float>(std::sqrt(std::max(0.0, max_norm2 - v[d])));
    }
    auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(d2, options.hnsw_m, faiss::METRIC_L2);
    hnsw->hnsw.efConstruction = options.ef_construction;
    hnsw->hnsw.efSearch = options.ef_search;
    hnsw->add(items_, vectors.data());
    index_ = std::move(hnsw);
  }
  build_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CountingWriter counter;
  faiss::write_index(index_.get(), &counter);
  bytes_ = counter.bytes;
}

AnnIndex::~AnnIndex() {
  index_.reset();  // before the quantizer it points to
  quantizer_.reset();
}

size_t AnnIndex::search(std::span<const float> state, std::span<int32_t> out, int breadth) const {
  GRU4REC_CHECK(static_cast<int>(state.size()) == units_);
  if (out.empty()) return 0;
  thread_local std::vector<float> query, distances;
  thread_local std::vector<faiss::Index::idx_t> labels;
  query.assign(state.begin(), state.end());
  query.push_back(1.0f);                                    // times the bias
  if (type_ == AnnIndexType::kHnsw) query.push_back(0.0f);  // the norm-completing coordinate
  const auto n = static_cast<faiss::Index::idx_t>(std::min<size_t>(out.size(), items_));
  distances.resize(static_cast<size_t>(n));
  labels.resize(static_cast<size_t>(n));
  thread_local const bool one_thread = (omp_set_num_threads(1), true);
  (void)one_thread;
  // HNSW keeps max(efSearch, n) candidates during the search; IVF scans nprobe lists.
  faiss::SearchParametersIVF ivf;
  faiss::SearchParametersHNSW hnsw;
  const faiss::SearchParameters* params = nullptr;
  if (breadth > 0 && type_ == AnnIndexType::kIvf) {
    ivf.nprobe = static_cast<size_t>(std::min(breadth, nlist_));
    params = &ivf;
  } else if (breadth > 0) {
    hnsw.efSearch = breadth;
    params = &hnsw;
  }
  index_->search(1, query.data(), n, distances.data(), labels.data(), params);
  size_t count = 0;
  for (faiss::Index::idx_t label : labels) {
    if (label < 0) break;  // fewer candidates than asked for
    out[count++] = static_cast<int32_t>(label);
  }
  return count;
}

std::string AnnIndex::describe() const {
  const std::string params =
      type_ == AnnIndexType::kIvf
          ? fmt::format("ivf, nlist {}, nprobe {}", nlist_, nprobe_)
          : fmt::format("hnsw, M {}, efSearch {}", hnsw_m_, ef_search_);
  return fmt::format("approximate top-k ({}) over {} items, built in {:.1f} s, {:.0f} MiB", params,
                     items_, build_seconds_, static_cast<double>(bytes_) / (1 << 20));
}

}  // namespace gru4rec
