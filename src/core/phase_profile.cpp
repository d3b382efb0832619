#include "gru4rec/core/phase_profile.h"

namespace gru4rec {

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::kBatch: return "batching";
    case Phase::kSampling: return "sampling";
    case Phase::kForward: return "forward (gather, GRU)";
    case Phase::kScores: return "scores (gather, GEMM)";
    case Phase::kLoss: return "loss";
    case Phase::kBackward: return "backward";
    case Phase::kSparseUpdate: return "sparse update";
    case Phase::kDenseUpdate: return "dense update";
    case Phase::kCount: break;
  }
  return "?";
}

}  // namespace gru4rec
