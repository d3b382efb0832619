#include "gru4rec/serve/ann_index.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/model/top_k.h"

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
  const auto by_root =
      static_cast<int64_t>(std::lround(4.0 * std::sqrt(static_cast<double>(items))));
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
  check(o.nlist >= 0 && o.nlist <= (1 << 24), "--ann-nlist", o.nlist, "0 (automatic) to 16777216");
  check(o.nprobe >= 0 && o.nprobe <= (1 << 24), "--ann-nprobe", o.nprobe,
        "0 (automatic) to 16777216");
  if (o.nlist > 0 && o.nprobe > o.nlist) {
    throw Error(
        fmt::format("--ann-nprobe {}: more than the {} lists of --ann-nlist", o.nprobe, o.nlist));
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
                   const RetrievalOptions& options, WeightPrecision precision)
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
                                 : std::min(nlist_, std::max(8, nlist_ / 128));
    // k-means on at most 64 items per list (FAISS's default, 256, makes the build of a 1M-item
    // catalog several times slower), 10 iterations, a fixed seed; inner product assignment.
    faiss::ClusteringParameters cp;
    cp.max_points_per_centroid = 64;
    cp.niter = 10;
    cp.seed = 1234;
    cp.verbose = false;
    faiss::Clustering clustering(d, nlist_, cp);
    faiss::IndexFlatIP assign_index(d);
    clustering.train(items_, vectors.data(), assign_index);
    MatrixR<float> centroids(nlist_, d);
    std::copy_n(clustering.centroids.data(), centroids.size(), centroids.data());
    // Each item to the list of its largest inner product, in batches of 32 items per product
    // (the centroids scored as items of units + 1 floats, no bias), on every core.
    const std::vector<float> zeros(static_cast<size_t>(nlist_), 0.0f);
    const ItemScorer by_vector(centroids, zeros);
    std::vector<int32_t> list_of(static_cast<size_t>(items_));
    const int shares = available_cores();
    run_parallel(shares, [&](int share) {
      const auto [begin, end] = share_range(items_, share, shares);
      std::vector<float> scores(32 * static_cast<size_t>(nlist_));
      for (int64_t i0 = begin; i0 < end; i0 += 32) {
        const int rows = static_cast<int>(std::min<int64_t>(32, end - i0));
        by_vector.score(vectors.data() + i0 * d, rows, d, scores.data(), nlist_);
        for (int r = 0; r < rows; ++r) {
          const float* row = scores.data() + static_cast<size_t>(r) * nlist_;
          list_of[static_cast<size_t>(i0 + r)] =
              static_cast<int32_t>(std::max_element(row, row + nlist_) - row);
        }
      }
    });
    // The centroids as items for a query [state, 1]: their first units floats, their last as bias.
    MatrixR<float> centroid_weights = centroids.leftCols(units_);
    std::vector<float> centroid_bias(static_cast<size_t>(nlist_));
    for (int c = 0; c < nlist_; ++c) centroid_bias[static_cast<size_t>(c)] = centroids(c, units_);
    centroids_ = std::make_unique<ItemScorer>(centroid_weights, centroid_bias, precision);
    list_items_.assign(static_cast<size_t>(nlist_), {});
    for (int64_t i = 0; i < items_; ++i)
      list_items_[static_cast<size_t>(list_of[static_cast<size_t>(i)])].push_back(
          static_cast<int32_t>(i));
    lists_.reserve(static_cast<size_t>(nlist_));
    bytes_ = centroids_->bytes();
    for (const std::vector<int32_t>& members : list_items_) {
      MatrixR<float> w(static_cast<Eigen::Index>(members.size()), units_);
      std::vector<float> b(members.size());
      for (size_t j = 0; j < members.size(); ++j) {
        w.row(static_cast<Eigen::Index>(j)) = weights.row(members[j]);
        b[j] = bias[static_cast<size_t>(members[j])];
      }
      lists_.emplace_back(w, b, precision);
      bytes_ += lists_.back().bytes() + members.size() * sizeof(int32_t);
    }
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
  build_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (index_) {
    CountingWriter counter;
    faiss::write_index(index_.get(), &counter);
    bytes_ = counter.bytes;
  }
}

AnnIndex::~AnnIndex() = default;

size_t AnnIndex::search(std::span<const float> state, std::span<int32_t> out, int breadth) const {
  GRU4REC_CHECK(static_cast<int>(state.size()) == units_);
  if (out.empty()) return 0;
  if (type_ == AnnIndexType::kIvf) {
    // The nprobe lists of the best centroids, each scored whole; the best out.size() items.
    thread_local std::vector<float> centroid_scores, scores;
    thread_local std::vector<ScoredItem> probes, best;
    const int nprobe = breadth > 0 ? std::min(breadth, nlist_) : nprobe_;
    centroid_scores.resize(static_cast<size_t>(nlist_));
    centroids_->score(state.data(), 1, units_, centroid_scores.data(), nlist_);
    probes.resize(static_cast<size_t>(nprobe));
    probes.resize(top_k(centroid_scores, static_cast<size_t>(nprobe), probes));
    best.clear();
    for (const ScoredItem& probe : probes) {
      const ItemScorer& list = lists_[static_cast<size_t>(probe.item)];
      const std::vector<int32_t>& members = list_items_[static_cast<size_t>(probe.item)];
      if (members.empty()) continue;
      scores.resize(members.size());
      list.score(state.data(), 1, units_, scores.data(), static_cast<int>(members.size()));
      for (size_t j = 0; j < members.size(); ++j) best.push_back(ScoredItem{members[j], scores[j]});
    }
    const auto better = [](const ScoredItem& a, const ScoredItem& b) {
      return a.score > b.score || (a.score == b.score && a.item < b.item);
    };
    const size_t n = std::min(out.size(), best.size());
    std::partial_sort(best.begin(), best.begin() + static_cast<ptrdiff_t>(n), best.end(), better);
    for (size_t i = 0; i < n; ++i) out[i] = best[i].item;
    return n;
  }
  thread_local std::vector<float> query, distances;
  thread_local std::vector<faiss::Index::idx_t> labels;
  query.assign(state.begin(), state.end());
  query.push_back(1.0f);  // times the bias
  query.push_back(0.0f);  // the norm-completing coordinate
  const auto n = static_cast<faiss::Index::idx_t>(std::min<size_t>(out.size(), items_));
  distances.resize(static_cast<size_t>(n));
  labels.resize(static_cast<size_t>(n));
  thread_local const bool one_thread = (omp_set_num_threads(1), true);
  (void)one_thread;
  // HNSW keeps max(efSearch, n) candidates during the search.
  faiss::SearchParametersHNSW hnsw;
  hnsw.efSearch = breadth > 0 ? breadth : ef_search_;
  index_->search(1, query.data(), n, distances.data(), labels.data(), &hnsw);
  size_t count = 0;
  for (faiss::Index::idx_t label : labels) {
    if (label < 0) break;  // fewer candidates than asked for
    out[count++] = static_cast<int32_t>(label);
  }
  return count;
}

std::string AnnIndex::describe() const {
  const std::string params = type_ == AnnIndexType::kIvf
                                 ? fmt::format("ivf, nlist {}, nprobe {}", nlist_, nprobe_)
                                 : fmt::format("hnsw, M {}, efSearch {}", hnsw_m_, ef_search_);
  return fmt::format("approximate top-k ({}) over {} items, built in {:.1f} s, {:.0f} MiB", params,
                     items_, build_seconds_, static_cast<double>(bytes_) / (1 << 20));
}

}  // namespace gru4rec
