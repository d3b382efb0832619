// A trained (or freshly initialized) GRU4Rec model: the effective parameters, the item
// dictionary with the items' training supports, the network weights and statistics of the
// training data. Plain value type; concurrent const use is safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/model/network.h"
#include "gru4rec/model/params.h"

namespace gru4rec {

struct TrainingStats {
  int64_t events = 0;
  int64_t sessions = 0;
  int64_t transitions = 0;  // (input, target) pairs per epoch
  double time_min = 0;
  double time_max = 0;
  int epochs = 0;         // epochs completed
  double final_loss = 0;  // mean loss of the last epoch
};

struct Model {
  Params params;
  ItemIndex items;
  std::vector<int64_t> supports;  // training events per item
  NetworkWeights<float> weights;
  TrainingStats stats;
  // The model's identity: SipHash-2-4 (fixed public key) of the model file it was loaded from,
  // so that the same content always has the same id; 0 for a model not loaded from a file.
  uint64_t content_id = 0;

  int32_t num_items() const { return items.size(); }

  // A model with initialized weights for the given training data (sets supports and the data
  // statistics). Throws Error if the data cannot train a model (fewer than 2 items, or no
  // session with at least 2 events); `source` names the data in that message.
  static Model initialize(const Params& params, ItemIndex items, const SessionLog& train,
                          const std::string& source);
};

}  // namespace gru4rec
