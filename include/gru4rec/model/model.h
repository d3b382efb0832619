// A trained (or freshly initialized) GRU4Rec model: the effective parameters, the item
// dictionary with the items' training supports, the network weights and statistics of the
// training data. Plain value type; concurrent const use is safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

// One earlier training in a model's history (gru4rec train --init): the model continued from
// and the data that model had been trained on.
struct LineageStep {
  uint64_t model_id = 0;  // content id of the parent model (its file's SipHash)
  int32_t items = 0;      // the parent's item count
  int64_t events = 0, sessions = 0;
  double time_min = 0, time_max = 0;  // of the parent's training data
  int epochs = 0;
};

// The optimizer's state after a training, tensor by tensor as the weights (same shape): the
// Adagrad accumulators and, when trained with momentum, the velocities (else no tensors). Kept
// so that a continued training (gru4rec train --init) goes on where this one stopped.
struct OptimizerState {
  NetworkWeights<float> accumulators;
  std::optional<NetworkWeights<float>> velocities;
};

struct Model {
  Params params;
  ItemIndex items;
  std::vector<int64_t> supports;  // training events per item
  NetworkWeights<float> weights;
  TrainingStats stats;  // of the data of the last training
  // The models this one continued from, oldest first; empty for a model trained from scratch.
  std::vector<LineageStep> lineage;
  // Set by train_model(); read from a model file saved with it; null otherwise (a continued
  // training then starts its optimizer from zeros).
  std::shared_ptr<const OptimizerState> optimizer_state;
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
