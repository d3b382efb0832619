// Fitting the repeat head (model/repeat_head.h) of a trained model, with the GRU and the item
// weights fixed.
//
// Data: the most recent predictions of the training log (the latest sessions by time, up to
// Params::repeat_events predictions), each with the GRU's top-layer state h (no dropout), the
// candidates of its window (the distinct items of its last repeat_window events) with their
// features and scores s_c = h Wy_c^T + By_c, the target, and log Z_rest(b), the log of the sum
// of exp(b s_j) over all the other items, for a few scales b of the scores. Since the head
// changes only the candidates' scores, the full softmax over every item is exact and cheap:
//
//   loss = mean over predictions of  log(Z_rest(b) + sum_c exp(b s_c + g_c)) - (b s_t + g_t)
//          + l2 / 2 |Wr|^2,     g_c = sum_k phi_k(c) (Br_k + h Wr_k^T), g_t = 0 outside the window
//
// The scale b is the softmax temperature of the GRU's scores, which are not log-probabilities
// (bpr-max trains no softmax, sampled cross-entropy only approximately one); the head's bonuses
// are stored divided by b, which ranks the items as b s + g does.
//
// For each scale, Adam on mini-batches of the first 90% of the predictions (in time); the scale
// and epoch kept are those whose MRR@20 on the last 10% is highest (the cross-entropy picks the
// scale 1 and a bonus that ranks worse: on Tmall's validation split MRR@20 0.306 against 0.313
// for the session's items first by count). Deterministic: the same head for a seed, on any
// number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "gru4rec/core/matrix.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/model/model.h"

namespace gru4rec {

struct RepeatFitData {
  std::vector<double> scales{1.0};    // the scales b of the scores
  MatrixR<float> states;              // one row per prediction: the top-layer state h
  std::vector<double> log_z_rest;     // per prediction, per scale (prediction-major)
  std::vector<int64_t> starts{0};     // candidates of prediction p: [starts[p], starts[p + 1])
  std::vector<int32_t> items;         // per candidate: the item
  std::vector<uint32_t> features;     // per candidate: its feature bits
  std::vector<float> base;            // per candidate: s_c
  std::vector<int32_t> target;        // per prediction: the target's candidate (offset from
                                      // starts[p]), or -1 when it is not in the window
  std::vector<float> target_base;     // per prediction: s_t (used when target is -1)
  std::vector<int32_t> target_items;  // per prediction: the target item
  // Per prediction: the kRankDepth best scores s_j of the items outside its window other than
  // its target, best first (-inf when fewer): its rank up to kRankDepth follows from them.
  std::vector<float> rest_top;
  static constexpr int kRankDepth = 20;

  int64_t size() const { return static_cast<int64_t>(target.size()); }
};

// The loss above (without l2) with scale data.scales[scale], as a mean over predictions
// [first, last), and when dWr and dBr are not null its gradient (they are overwritten).
template <typename T>
T repeat_fit_loss(const RepeatFitData& data, size_t scale, int64_t first, int64_t last,
                  const MatrixR<T>& Wr, const RowVector<T>& Br, MatrixR<T>* dWr, RowVector<T>* dBr);

// MRR@kRankDepth over predictions [first, last) of the ranking by b s + g, b = data.scales[scale]
// (standard ties: only higher scores count).
double repeat_fit_mrr(const RepeatFitData& data, size_t scale, int64_t first, int64_t last,
                      const MatrixR<double>& Wr, const RowVector<double>& Br);

// Runs the model (no dropout) over the most recent training sessions, up to max_predictions
// predictions, and computes each one's data; the scores over all items are split among
// `threads` threads (the result does not depend on them).
RepeatFitData collect_repeat_fit_data(const Model& model, const SessionLog& train,
                                      int64_t max_predictions, int threads);

struct RepeatFitReport {
  int64_t predictions = 0;     // fitted on (the first 90%) and held out (the rest) together
  int64_t repeat_targets = 0;  // predictions whose target is in the window
  double held_out_loss_before = 0, held_out_loss_after = 0;  // mean cross-entropy over all items
  double held_out_mrr_before = 0, held_out_mrr_after = 0;    // MRR@20
  int best_epoch = 0;
  double scale = 1;  // the scale b chosen
  double seconds = 0;
};

// Fits model.weights.Wr and Br (the model must have the head: params.repeat_window > 0).
RepeatFitReport fit_repeat_head(Model& model, const SessionLog& train, int threads);

}  // namespace gru4rec
