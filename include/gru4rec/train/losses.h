// Ranking losses of GRU4Rec on a mini-batch score matrix (pure kernels, no allocation).
//
// scores is M x C: row i is one session's scores for the C target columns; column i holds
// row i's positive (its own next item), every other column is a negative (the other rows'
// targets, then the shared sampled items). Collisions are not masked, as in the official code.
// The scores have the logQ correction applied already; the final activation is applied here.
//
//   cross-entropy: -log(softmax(r)_ii + 1e-24), optional label smoothing
//   bpr-max:       -log(sum_j s_ij sigmoid(r_i - r_j) + 1e-24) + bpreg sum_j s_ij r_j^2,
//                  s_i = softmax over the negatives j != i
//   top1-max:      sum_j s_ij (sigmoid(r_j - r_i) + sigmoid(r_j^2))
//   top1:          mean_j (sigmoid(r_j - r_i) + sigmoid(r_j^2)) - sigmoid(r_i^2) / C
//   bpr:           sum_j -log sigmoid(r_i - r_j)
// with r = final_act(scores). Returned losses are sums over rows; gradients are of that sum,
// multiplied by grad_scale (the trainer passes 1 / batch_size, as the official cost).
#pragma once

#include "gru4rec/core/matrix.h"
#include "gru4rec/model/activation.h"
#include "gru4rec/model/params.h"

namespace gru4rec {

struct LossConfig {
  LossKind kind = LossKind::kCrossEntropy;
  Activation final_act{Activation::Kind::kSoftmax};
  double bpreg = 1.0;
  double smoothing = 0;

  static LossConfig from_params(const Params& params);
};

template <typename T>
struct LossWorkspace {
  MatrixR<T> activated;  // final_act(scores)
  RowVector<T> weights, pair, extra;

  void reserve(Eigen::Index rows, Eigen::Index cols);
};

// Returns the summed loss over rows and writes d(sum)/d(scores) * grad_scale to `grad`.
// `positive_offset`: row i's positive is in column i + positive_offset (a block of the rows of
// a mini-batch that starts at that row; 0 for a whole mini-batch).
template <typename T>
T loss_forward_backward(const LossConfig& config, ConstMatrixRef<T> scores,
                        LossWorkspace<T>& workspace, MatrixRef<T> grad, T grad_scale,
                        Eigen::Index positive_offset = 0);

}  // namespace gru4rec
