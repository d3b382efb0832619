#include "gru4rec/train/sampler.h"

#include <cmath>

#include "gru4rec/core/error.h"

namespace gru4rec {

AliasSampler::AliasSampler(std::span<const int64_t> support, double alpha) {
  size_ = support.size();
  GRU4REC_CHECK(size_ > 0 && size_ < (uint64_t{1} << 31));
  std::vector<double> weight(size_);
  double total = 0;
  for (size_t i = 0; i < size_; ++i) {
    GRU4REC_CHECK(support[i] > 0, "item {} has no support", i);
    weight[i] = std::pow(static_cast<double>(support[i]), alpha);
    total += weight[i];
  }
  // Vose's construction: scale to mean 1, pair each "small" column with a "large" donor.
  std::vector<double> scaled(size_);
  std::vector<int32_t> small, large;
  for (size_t i = 0; i < size_; ++i) {
    scaled[i] = weight[i] * static_cast<double>(size_) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<int32_t>(i));
  }
  threshold_.assign(size_, uint64_t{1} << 32);
  alias_.resize(size_);
  for (size_t i = 0; i < size_; ++i) alias_[i] = static_cast<int32_t>(i);
  while (!small.empty() && !large.empty()) {
    const int32_t s = small.back();
    small.pop_back();
    const int32_t l = large.back();
    threshold_[static_cast<size_t>(s)] =
        static_cast<uint64_t>(std::llround(scaled[static_cast<size_t>(s)] * 4294967296.0));
    alias_[static_cast<size_t>(s)] = l;
    scaled[static_cast<size_t>(l)] -= 1.0 - scaled[static_cast<size_t>(s)];
    if (scaled[static_cast<size_t>(l)] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Columns left over are full up to rounding error.
}

std::vector<double> AliasSampler::probabilities() const {
  std::vector<double> p(size_, 0.0);
  const double column = 1.0 / static_cast<double>(size_);
  for (size_t i = 0; i < size_; ++i) {
    const double keep = static_cast<double>(threshold_[i]) / 4294967296.0;
    p[i] += column * keep;
    p[static_cast<size_t>(alias_[i])] += column * (1.0 - keep);
  }
  return p;
}

SampleStore::SampleStore(const AliasSampler* sampler, int n_sample, int64_t store_size,
                         uint64_t seed)
    : sampler_(sampler), n_sample_(static_cast<size_t>(n_sample)), rng_(seed) {
  GRU4REC_CHECK(n_sample >= 0 && (n_sample == 0 || sampler != nullptr));
  rows_ = n_sample_ == 0 ? 0 : static_cast<size_t>(store_size) / n_sample_;
  if (rows_ <= 1) rows_ = 1;  // no real store: draw a fresh row every step
  store_.resize(rows_ * n_sample_);
  next_row_ = rows_;  // filled on first use
}

void SampleStore::refill() {
  for (int32_t& id : store_) id = sampler_->draw(rng_);
  next_row_ = 0;
  ++refills_;
}

std::span<const int32_t> SampleStore::next() {
  if (n_sample_ == 0) return {};
  if (next_row_ >= rows_) refill();
  return {store_.data() + (next_row_++) * n_sample_, n_sample_};
}

}  // namespace gru4rec
