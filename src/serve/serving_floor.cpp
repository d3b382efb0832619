#include "gru4rec/serve/serving_floor.h"

#include "gru4rec/core/error.h"

namespace gru4rec {

EventWork event_work(const NetworkShape& shape, WeightPrecision precision) {
  EventWork w;
  const double items = shape.num_items;
  const double units = shape.output_size();
  w.item_bytes = items * (weight_bytes_per_item(precision, static_cast<int>(units)) + 4);  // + By
  w.score_flops = 2 * items * units;
  for (size_t layer = 0; layer < shape.layers.size(); ++layer) {
    const double in = shape.input_size(layer);
    const double out = shape.layers[layer];
    if (layer == 0 && shape.mode == EmbeddingMode::kOneHot) {
      w.step_bytes += 3 * out * 4;  // the item's row of Wx
    } else {
      // kShared: the item's row of Wy is the input; kSeparate: its row of E.
      if (layer == 0) w.step_bytes += in * 4;
      w.step_bytes += in * 3 * out * 4;
      w.step_flops += 2 * in * 3 * out;
    }
    w.step_bytes += out * 3 * out * 4 + 3 * out * 4;  // Urz, Uh and the biases
    w.step_flops += 2 * out * 3 * out;
  }
  return w;
}

Floor batch_floor(const EventWork& work, const CoreSpeed& speed, int batch, bool from_l3) {
  const double bandwidth = from_l3 ? speed.l3_gb_per_s : speed.dram_gb_per_s;
  GRU4REC_CHECK(batch >= 1 && bandwidth > 0 && speed.fma_gflops > 0);
  Floor f;
  f.batch = batch;
  f.memory_seconds = (work.item_bytes + batch * work.step_bytes) / (bandwidth * 1e9);
  f.fma_seconds = batch * (work.score_flops + work.step_flops) / (speed.fma_gflops * 1e9);
  return f;
}

}  // namespace gru4rec
