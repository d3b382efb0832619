// Negative sampling of GRU4Rec: items are drawn with probability proportional to
// support^alpha (alpha = 1: popularity, 0: uniform). The official code draws by binary search
// on the cumulative distribution; we draw the same distribution in O(1) per sample with
// Walker's alias method.
//
// SampleStore precomputes store_size / n_sample rows of n_sample ids and hands out one row per
// training step, refilling when used up (it persists across epochs, as in the official code).
// With fewer than two rows of capacity it samples every step. Per-thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gru4rec/core/random.h"

namespace gru4rec {

class AliasSampler {
 public:
  AliasSampler(std::span<const int64_t> support, double alpha);

  int32_t draw(Rng& rng) const {
    const uint64_t bits = rng.next_u64();
    const auto column = static_cast<uint32_t>(((bits >> 32) * size_) >> 32);
    const auto coin = static_cast<uint32_t>(bits);
    return coin < threshold_[column] ? static_cast<int32_t>(column) : alias_[column];
  }
  int32_t size() const { return static_cast<int32_t>(size_); }
  // The probability of drawing each item (for tests).
  std::vector<double> probabilities() const;

 private:
  uint64_t size_ = 0;
  std::vector<uint64_t> threshold_;  // P(keep column) scaled to 2^32 (2^32 = always)
  std::vector<int32_t> alias_;
};

class SampleStore {
 public:
  SampleStore(const AliasSampler* sampler, int n_sample, int64_t store_size, uint64_t seed);

  // The next n_sample ids (empty when n_sample == 0). Valid until the next call.
  std::span<const int32_t> next();

  int64_t refills() const { return refills_; }

 private:
  void refill();

  const AliasSampler* sampler_;
  size_t n_sample_;
  size_t rows_;  // rows per refill
  Rng rng_;
  std::vector<int32_t> store_;
  size_t next_row_ = 0;
  int64_t refills_ = 0;
};

}  // namespace gru4rec
