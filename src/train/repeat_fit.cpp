#include "gru4rec/train/repeat_fit.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "gru4rec/core/error.h"
#include "gru4rec/core/parallel.h"
#include "gru4rec/core/random.h"
#include "gru4rec/data/session_batcher.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/repeat_head.h"

namespace gru4rec {
namespace {

// Random stream of the mini-batch order (streams 0-3 and 16+ are the training's).
constexpr uint64_t kRepeatFitStream = 8;
constexpr Eigen::Index kScoreBlockRows = 256;  // predictions scored against all items together
constexpr Eigen::Index kScoreTileItems = 1024;
constexpr int kEpochs = 8;
constexpr int64_t kMiniBatch = 256;
constexpr double kLearningRate = 0.02;
constexpr double kL2 = 1e-4;
constexpr std::array<double, 6> kScales = {1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125};

// The most recent sessions with at least two events, up to max_predictions predictions, in
// time order.
std::vector<int64_t> recent_sessions(const SessionLog& train, int64_t max_predictions) {
  const std::vector<int64_t> order = session_order_by_time(train);
  std::vector<int64_t> chosen;
  int64_t predictions = 0;
  for (auto s = order.rbegin(); s != order.rend() && predictions < max_predictions; ++s) {
    const int64_t length = train.session_length(*s);
    if (length < 2) continue;
    chosen.push_back(*s);
    predictions += length - 1;
  }
  std::reverse(chosen.begin(), chosen.end());
  return chosen;
}

// log Z_rest(b) of the predictions [first, first + rows) for every scale b.
void score_block(const NetworkWeights<float>& w, RepeatFitData& data, Eigen::Index first,
                 Eigen::Index rows, MatrixR<float>& tile) {
  const Eigen::Index n = w.Wy.rows();
  const size_t n_scales = data.scales.size();
  // Per row: the largest score so far, and per scale the sum of exp(b (s - max)).
  std::vector<double> max(static_cast<size_t>(rows), -std::numeric_limits<double>::infinity());
  std::vector<double> sum(static_cast<size_t>(rows) * n_scales, 0.0);
  const auto states = data.states.middleRows(first, rows);
  for (Eigen::Index j0 = 0; j0 < n; j0 += kScoreTileItems) {
    const Eigen::Index width = std::min(kScoreTileItems, n - j0);
    auto scores = tile.topLeftCorner(rows, width);
    scores.noalias() = states * w.Wy.middleRows(j0, width).transpose();
    scores.rowwise() += w.By.segment(j0, width);
    for (Eigen::Index i = 0; i < rows; ++i) {
      const auto p = static_cast<size_t>(first + i);
      // The window's items are not part of Z_rest.
      for (int64_t c = data.starts[p]; c < data.starts[p + 1]; ++c) {
        const Eigen::Index item = data.items[static_cast<size_t>(c)];
        if (item >= j0 && item < j0 + width)
          scores(i, item - j0) = -std::numeric_limits<float>::infinity();
      }
      auto row = scores.row(i);
      // The best scores outside the window, the target left out (it is part of Z_rest).
      float* top = &data.rest_top[p * RepeatFitData::kRankDepth];
      const Eigen::Index target = data.target_items[p] - j0;
      for (Eigen::Index j = 0; j < width; ++j) {
        const float v = row[j];
        if (!(v > top[RepeatFitData::kRankDepth - 1]) || j == target) continue;
        int k = RepeatFitData::kRankDepth - 1;
        for (; k > 0 && top[k - 1] < v; --k) top[k] = top[k - 1];
        top[k] = v;
      }
      const double row_max = static_cast<double>(row.maxCoeff());
      if (row_max == -std::numeric_limits<double>::infinity()) continue;  // all in the window
      double& m = max[static_cast<size_t>(i)];
      double* s = &sum[static_cast<size_t>(i) * n_scales];
      if (row_max > m) {
        for (size_t k = 0; k < n_scales; ++k) s[k] *= std::exp(data.scales[k] * (m - row_max));
        m = row_max;
      }
      for (size_t k = 0; k < n_scales; ++k) {
        const auto b = static_cast<float>(data.scales[k]);
        s[k] += static_cast<double>(((row.array() - static_cast<float>(m)) * b).exp().sum());
      }
    }
  }
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (size_t k = 0; k < n_scales; ++k) {
      data.log_z_rest[static_cast<size_t>(first + i) * n_scales + k] =
          data.scales[k] * max[static_cast<size_t>(i)] +
          std::log(sum[static_cast<size_t>(i) * n_scales + k]);
    }
  }
}

// The scores b s_c + g_c of prediction p's candidates into z, given its feature bonuses v
// (Br + h Wr^T); returns its target's score.
template <typename T>
T candidate_scores(const RepeatFitData& data, size_t p, T b, const RowVector<T>& v,
                   std::vector<T>& z) {
  const std::span<const T> feature_bonus(v.data(), static_cast<size_t>(v.size()));
  z.clear();
  for (int64_t c = data.starts[p]; c < data.starts[p + 1]; ++c) {
    const auto ci = static_cast<size_t>(c);
    z.push_back(b * static_cast<T>(data.base[ci]) +
                repeat_bonus<T>(data.features[ci], feature_bonus));
  }
  const int32_t t = data.target[p];
  return t >= 0 ? z[static_cast<size_t>(t)] : b * static_cast<T>(data.target_base[p]);
}

}  // namespace

template <typename T>
T repeat_fit_loss(const RepeatFitData& data, size_t scale, int64_t first, int64_t last,
                  const MatrixR<T>& Wr, const RowVector<T>& Br, MatrixR<T>* dWr,
                  RowVector<T>* dBr) {
  GRU4REC_CHECK(first >= 0 && first < last && last <= data.size() && scale < data.scales.size());
  const auto b = static_cast<T>(data.scales[scale]);
  const size_t n_scales = data.scales.size();
  const Eigen::Index K = Wr.rows(), H = Wr.cols();
  GRU4REC_CHECK(Br.size() == K && data.states.cols() == H);
  const bool gradient = dWr != nullptr && dBr != nullptr;
  if (gradient) {
    dWr->setZero(K, H);
    dBr->setZero(K);
  }
  RowVector<T> h(H), v(K), dv(K);
  std::vector<T> z;
  T total = 0;
  for (int64_t p = first; p < last; ++p) {
    const auto pi = static_cast<size_t>(p);
    h = data.states.row(p).template cast<T>();
    v.noalias() = h * Wr.transpose();
    v += Br;
    const int64_t c0 = data.starts[pi], c1 = data.starts[pi + 1];
    const T target_score = candidate_scores(data, pi, b, v, z);
    const auto log_z_rest = static_cast<T>(data.log_z_rest[pi * n_scales + scale]);
    T max = log_z_rest;
    for (const T value : z) max = std::max(max, value);
    T sum = std::exp(log_z_rest - max);
    for (const T value : z) sum += std::exp(value - max);
    const T log_z = max + std::log(sum);
    const int32_t t = data.target[pi];
    total += log_z - target_score;
    if (!gradient) continue;
    dv.setZero();
    for (int64_t c = c0; c < c1; ++c) {
      const auto ci = static_cast<size_t>(c);
      const size_t local = static_cast<size_t>(c - c0);
      const T d = std::exp(z[local] - log_z) - (static_cast<int32_t>(local) == t ? T(1) : T(0));
      for (Eigen::Index k = 0; k < K; ++k) {
        if ((data.features[ci] >> k) & 1u) dv[k] += d;
      }
    }
    *dBr += dv;
    dWr->noalias() += dv.transpose() * h;
  }
  const T count = static_cast<T>(last - first);
  if (gradient) {
    *dWr /= count;
    *dBr /= count;
  }
  return total / count;
}

template float repeat_fit_loss<float>(const RepeatFitData&, size_t, int64_t, int64_t,
                                      const MatrixR<float>&, const RowVector<float>&,
                                      MatrixR<float>*, RowVector<float>*);
template double repeat_fit_loss<double>(const RepeatFitData&, size_t, int64_t, int64_t,
                                        const MatrixR<double>&, const RowVector<double>&,
                                        MatrixR<double>*, RowVector<double>*);

double repeat_fit_mrr(const RepeatFitData& data, size_t scale, int64_t first, int64_t last,
                      const MatrixR<double>& Wr, const RowVector<double>& Br) {
  GRU4REC_CHECK(first >= 0 && first < last && last <= data.size() && scale < data.scales.size());
  GRU4REC_CHECK(data.rest_top.size() ==
                static_cast<size_t>(data.size()) * RepeatFitData::kRankDepth);
  const double b = data.scales[scale];
  const Eigen::Index K = Wr.rows();
  RowVector<double> v(K);
  std::vector<double> z;
  double sum = 0;
  for (int64_t p = first; p < last; ++p) {
    const auto pi = static_cast<size_t>(p);
    v.noalias() = data.states.row(p).cast<double>() * Wr.transpose();
    v += Br;
    const double target = candidate_scores(data, pi, b, v, z);
    const int32_t t = data.target[pi];
    int64_t above = 0;
    for (size_t c = 0; c < z.size(); ++c) above += static_cast<int32_t>(c) != t && z[c] > target;
    const float* top = &data.rest_top[pi * RepeatFitData::kRankDepth];
    for (int k = 0; k < RepeatFitData::kRankDepth && b * top[k] > target; ++k) ++above;
    if (above < RepeatFitData::kRankDepth) sum += 1.0 / static_cast<double>(above + 1);
  }
  return sum / static_cast<double>(last - first);
}

RepeatFitData collect_repeat_fit_data(const Model& model, const SessionLog& train,
                                      int64_t max_predictions, int threads) {
  const NetworkWeights<float>& w = model.weights;
  const int window = model.params.repeat_window;
  GRU4REC_CHECK(window > 0 && w.shape.repeat_features == kRepeatFeatures);
  std::vector<int64_t> sessions = recent_sessions(train, max_predictions);
  int64_t predictions = 0;
  for (const int64_t s : sessions) predictions += train.session_length(s) - 1;
  RepeatFitData data;
  data.scales.assign(kScales.begin(), kScales.end());
  const Eigen::Index H = w.shape.output_size();
  data.states.resize(predictions, H);
  data.log_z_rest.assign(static_cast<size_t>(predictions) * data.scales.size(), 0.0);
  data.rest_top.assign(static_cast<size_t>(predictions) * RepeatFitData::kRankDepth,
                       -std::numeric_limits<float>::infinity());
  data.target_items.reserve(static_cast<size_t>(predictions));
  data.target.reserve(static_cast<size_t>(predictions));
  data.target_base.reserve(static_cast<size_t>(predictions));
  data.starts.reserve(static_cast<size_t>(predictions) + 1);

  // The states and windows, session-parallel as the evaluation.
  Predictor predictor(model);
  constexpr int kRows = 512;
  Predictor::Scratch scratch = predictor.make_scratch(kRows);
  std::vector<std::vector<int32_t>> events(kRows);
  std::vector<std::vector<int32_t>> kept;
  std::vector<RepeatCandidate> candidates;
  SessionBatcher batcher(train, std::move(sessions), kRows);
  SessionBatcher::Step step;
  int64_t p = 0;
  while (batcher.next(step)) {
    const auto rows = static_cast<Eigen::Index>(step.inputs.size());
    auto& states = scratch.states;
    if (!step.kept_rows.empty()) {
      for (auto& h : states) {
        for (size_t k = 0; k < step.kept_rows.size(); ++k)
          h.row(static_cast<Eigen::Index>(k)) = h.row(step.kept_rows[k]);
      }
      kept.clear();
      for (const int32_t row : step.kept_rows) kept.push_back(events[static_cast<size_t>(row)]);
      std::copy(kept.begin(), kept.end(), events.begin());
    }
    predictor.advance_rows(step.inputs, states, scratch.forward);
    const MatrixR<float>& top = states.back();
    for (Eigen::Index row = 0; row < rows; ++row) {
      auto& history = events[static_cast<size_t>(row)];
      history.push_back(step.inputs[static_cast<size_t>(row)]);
      const size_t length = std::min(history.size(), static_cast<size_t>(window));
      repeat_candidates(std::span<const int32_t>(history).last(length), candidates);
      const int32_t target = step.targets[static_cast<size_t>(row)];
      data.states.row(p) = top.row(row);
      int32_t target_candidate = -1;
      for (size_t c = 0; c < candidates.size(); ++c) {
        const int32_t item = candidates[c].item;
        if (item == target) target_candidate = static_cast<int32_t>(c);
        data.items.push_back(item);
        data.features.push_back(candidates[c].features);
        data.base.push_back(top.row(row).dot(w.Wy.row(item)) + w.By[item]);
      }
      data.starts.push_back(static_cast<int64_t>(data.features.size()));
      data.target.push_back(target_candidate);
      data.target_items.push_back(target);
      data.target_base.push_back(top.row(row).dot(w.Wy.row(target)) + w.By[target]);
      ++p;
      if (step.session_ends[static_cast<size_t>(row)] != 0) {
        for (auto& h : states) h.row(row).setZero();
        history.clear();
      }
    }
  }
  GRU4REC_CHECK(p == predictions);

  // log Z_rest: every item's score, in fixed blocks of predictions (the same whatever the
  // threads), the window's items left out.
  const Eigen::Index blocks = (predictions + kScoreBlockRows - 1) / kScoreBlockRows;
  const int n_threads = static_cast<int>(std::clamp<Eigen::Index>(blocks, 1, std::max(threads, 1)));
  run_parallel(n_threads, [&](int t) {
    MatrixR<float> tile(kScoreBlockRows, kScoreTileItems);
    for (Eigen::Index b = t; b < blocks; b += n_threads) {
      const Eigen::Index first = b * kScoreBlockRows;
      score_block(w, data, first, std::min(kScoreBlockRows, predictions - first), tile);
    }
  });
  return data;
}

RepeatFitReport fit_repeat_head(Model& model, const SessionLog& train, int threads) {
  const auto start = std::chrono::steady_clock::now();
  NetworkWeights<float>& w = model.weights;
  GRU4REC_CHECK(w.shape.repeat_features > 0, "the model has no repeat head");
  const RepeatFitData data =
      collect_repeat_fit_data(model, train, model.params.repeat_events, threads);
  RepeatFitReport report;
  report.predictions = data.size();
  for (const int32_t t : data.target) report.repeat_targets += t >= 0 ? 1 : 0;
  const Eigen::Index K = w.Wr.rows(), H = w.Wr.cols();
  MatrixR<double> Wr = MatrixR<double>::Zero(K, H);
  RowVector<double> Br = RowVector<double>::Zero(K);
  if (data.size() < 2) {
    w.Wr.setZero();
    w.Br.setZero();
    return report;
  }
  const int64_t held_out = std::max<int64_t>(1, data.size() / 10);
  const int64_t fitted = data.size() - held_out;
  report.held_out_loss_before =
      repeat_fit_loss<double>(data, 0, fitted, data.size(), Wr, Br, nullptr, nullptr);
  report.held_out_mrr_before = repeat_fit_mrr(data, 0, fitted, data.size(), Wr, Br);
  report.held_out_loss_after = report.held_out_loss_before;
  double best = report.held_out_mrr_before;
  MatrixR<double> best_Wr = Wr;
  RowVector<double> best_Br = Br;
  const int64_t batches = (fitted + kMiniBatch - 1) / kMiniBatch;
  std::vector<int64_t> order(static_cast<size_t>(batches));
  for (size_t scale = 0; scale < data.scales.size(); ++scale) {
    // Adam from zero, with the same mini-batch orders for every scale.
    Wr.setZero();
    Br.setZero();
    MatrixR<double> dWr, mW = MatrixR<double>::Zero(K, H), vW = MatrixR<double>::Zero(K, H);
    RowVector<double> dBr, mB = RowVector<double>::Zero(K), vB = RowVector<double>::Zero(K);
    constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
    int64_t updates = 0;
    Rng rng(Rng::derive_seed(static_cast<uint64_t>(model.params.seed), kRepeatFitStream));
    std::iota(order.begin(), order.end(), 0);
    for (int epoch = 1; epoch <= kEpochs; ++epoch) {
      for (size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[rng.below(static_cast<uint32_t>(i))]);
      for (const int64_t b : order) {
        const int64_t first = b * kMiniBatch, last = std::min(fitted, first + kMiniBatch);
        repeat_fit_loss<double>(data, scale, first, last, Wr, Br, &dWr, &dBr);
        dWr += kL2 * Wr;
        ++updates;
        const double c1 = 1 - std::pow(kBeta1, static_cast<double>(updates));
        const double c2 = 1 - std::pow(kBeta2, static_cast<double>(updates));
        mW = kBeta1 * mW + (1 - kBeta1) * dWr;
        vW = kBeta2 * vW + (1 - kBeta2) * dWr.cwiseAbs2();
        mB = kBeta1 * mB + (1 - kBeta1) * dBr;
        vB = kBeta2 * vB + (1 - kBeta2) * dBr.cwiseAbs2();
        Wr.array() -= kLearningRate * (mW.array() / c1) / ((vW.array() / c2).sqrt() + kEps);
        Br.array() -= kLearningRate * (mB.array() / c1) / ((vB.array() / c2).sqrt() + kEps);
      }
      const double mrr = repeat_fit_mrr(data, scale, fitted, data.size(), Wr, Br);
      if (mrr > best) {
        best = mrr;
        report.held_out_loss_after =
            repeat_fit_loss<double>(data, scale, fitted, data.size(), Wr, Br, nullptr, nullptr);
        // Stored divided by the scale: s + g / b ranks as b s + g.
        best_Wr = Wr / data.scales[scale];
        best_Br = Br / data.scales[scale];
        report.best_epoch = epoch;
        report.scale = data.scales[scale];
      }
    }
  }
  report.held_out_mrr_after = best;
  w.Wr = best_Wr.cast<float>();
  w.Br = best_Br.cast<float>();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace gru4rec
