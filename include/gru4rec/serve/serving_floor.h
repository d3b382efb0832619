// The floor of serving a model on a CPU: the least time the work of an event can take, from
// the bytes it must read and the floating-point operations it must do, against the measured
// speed of one core (cpu_info.h: read bandwidth from DRAM and from L3, FMA peak). Every
// serving figure is reported as a multiple of it.
//
// One event's work: one GRU step of its session (the input row, then every layer's products;
// its weights are read from the caches: they are small) and one pass over the item matrix with
// its bias (scores against every item). Requests scored together (Recommender batches them)
// share the pass over the item matrix: a batch of B events reads the matrix once and does B
// times the arithmetic. The floor of a batch is its bytes over the bandwidth plus its FLOPs
// over the peak (no overlap assumed: the kernels do not reach both at once).
//
// Pure: no I/O, no measuring; thread-safe.
#pragma once

#include <cstdint>

#include "gru4rec/model/item_scorer.h"
#include "gru4rec/model/network.h"

namespace gru4rec {

struct EventWork {
  double item_bytes = 0;   // the item matrix and its bias, read once per batch
  double step_bytes = 0;   // the GRU step's weights and input row, per event
  double score_flops = 0;  // scores against every item, per event (an FMA counts as 2)
  double step_flops = 0;   // the GRU step, per event
};

// Exact retrieval (every item scored); `precision` of the item matrix.
EventWork event_work(const NetworkShape& shape, WeightPrecision precision);

struct CoreSpeed {
  double dram_gb_per_s = 0;  // 1e9 bytes per second
  double l3_gb_per_s = 0;
  double fma_gflops = 0;
};

struct Floor {
  int batch = 1;
  double memory_seconds = 0;  // the batch's bytes over the bandwidth
  double fma_seconds = 0;     // its FLOPs over the peak
  double seconds() const { return memory_seconds + fma_seconds; }
  double events_per_second() const { return batch / seconds(); }
};

// The floor of a batch of `batch` events with the matrix read from DRAM (from_l3 false) or L3.
Floor batch_floor(const EventWork& work, const CoreSpeed& speed, int batch, bool from_l3 = false);

}  // namespace gru4rec
