#include "gru4rec/train/train_worker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gru4rec/data/session_reader.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/param_sources.h"

namespace gru4rec {
namespace {

TEST(LogQShift, InBatchColumnsUseSupportAndSampledColumnsSupportToAlpha) {
  Params params;
  apply_param_string(params, "logq=1,sample_alpha=0.5");
  const LogQShift shift(params, {1, 10, 100});
  ASSERT_TRUE(shift.enabled());
  const std::vector<int32_t> columns = {2, 0, 1, 2};
  std::vector<float> out(4);
  shift.fill(columns, 2, out);  // two targets, then two samples
  EXPECT_NEAR(out[0], std::log(100.0), 1e-6);
  EXPECT_NEAR(out[1], 0.0, 1e-6);
  EXPECT_NEAR(out[2], 0.5 * std::log(10.0), 1e-6);
  EXPECT_NEAR(out[3], 0.5 * std::log(100.0), 1e-6);
  Params half;
  apply_param_string(half, "logq=0.5,sample_alpha=1");
  LogQShift(half, {1, 10, 100}).fill(columns, 2, out);
  EXPECT_NEAR(out[0], 0.5 * std::log(100.0), 1e-6);
  EXPECT_NEAR(out[3], 0.5 * std::log(100.0), 1e-6);
  EXPECT_FALSE(LogQShift(Params{}, {1, 10, 100}).enabled());
}

// Every row's state after a step is the state of its session's prefix (computed here one
// session at a time from a zero state), states of rows whose session ended are zero, and rows
// are compacted correctly when the batch shrinks. Items are unique to sessions, so a row's
// input names its session and position. The learning rate is too small to change a weight.
TEST(TrainWorker, CarriesResetsAndCompactsTheHiddenStates) {
  const std::vector<std::vector<int>> sessions = {{0, 1, 2, 3},         {4, 5},  {6, 7, 8}, {9},
                                                  {10, 11, 12, 13, 14}, {15, 16}};
  std::string text = "SessionId\tItemId\tTime\n";
  std::map<int, std::pair<size_t, size_t>> where;  // item -> (session, position)
  double time = 0;
  for (size_t s = 0; s < sessions.size(); ++s) {
    for (size_t p = 0; p < sessions[s].size(); ++p) {
      text += "s" + std::to_string(s) + "\ti" + std::to_string(sessions[s][p]) + "\t" +
              std::to_string(time++) + "\n";
      where[sessions[s][p]] = {s, p};
    }
  }
  ItemIndex items;
  const SessionLog log = parse_training_log(text, "t", ReadOptions{}, items);
  Params params;
  apply_param_string(params, "layers=4/3,batch_size=3,n_sample=2,learning_rate=1e-30,n_epochs=1");
  Model model = Model::initialize(params, std::move(items), log, "t");
  const Model reference = model;  // the weights do not move with this learning rate
  const Predictor predictor(reference);
  auto scratch = predictor.make_scratch(1);
  auto reference_state = [&](size_t session, size_t position) {
    std::vector<float> state(static_cast<size_t>(predictor.state_size()), 0.0f);
    for (size_t p = 0; p <= position; ++p) {
      predictor.advance(state, reference.items.find("i" + std::to_string(sessions[session][p])),
                        scratch);
    }
    return state;
  };

  AliasSampler sampler(model.supports, params.sample_alpha);
  TrainWorker worker(model, &sampler, 1);
  AdagradMomentum<float> optimizer(model.weights, OptimizerConfig::from_params(params));
  SessionBatcher batcher(log, session_order_by_time(log), params.batch_size);
  SessionBatcher::Step batch;
  int steps = 0, shrinks = 0, checked_rows = 0;
  while (batcher.next(batch)) {
    shrinks += batch.kept_rows.empty() ? 0 : 1;
    worker.train(batch, model.weights, optimizer);
    ++steps;
    const auto& h = worker.hidden_states();
    for (size_t row = 0; row < batch.inputs.size(); ++row) {
      const auto r = static_cast<Eigen::Index>(row);
      if (batch.session_ends[row] != 0) {
        EXPECT_EQ(h[0].row(r).squaredNorm(), 0.0f) << "step " << steps << " row " << row;
        EXPECT_EQ(h[1].row(r).squaredNorm(), 0.0f);
        continue;
      }
      const std::string& id = reference.items.id(batch.inputs[row]);
      const auto [session, position] = where.at(std::stoi(id.substr(1)));
      const std::vector<float> expected = reference_state(session, position);
      for (int j = 0; j < 4; ++j) EXPECT_NEAR(h[0](r, j), expected[static_cast<size_t>(j)], 1e-5);
      for (int j = 0; j < 3; ++j)
        EXPECT_NEAR(h[1](r, j), expected[4 + static_cast<size_t>(j)], 1e-5);
      ++checked_rows;
    }
  }
  EXPECT_EQ(steps, 5);  // 11 pairs over 3 rows that shrink to 1 at the end
  EXPECT_GE(shrinks, 1);
  EXPECT_GT(checked_rows, 5);
}

// The sum of squares of a step's gradients as dense tensors: the sparse rows are added up per
// item (a row repeated in a step, or an item both input and output in shared mode, counts once
// with its summed gradient), in double precision.
double dense_squared_norm(const StepGradients<float>& g) {
  double total = 0;
  for (const auto& layer : g.layers) {
    for (const auto* m : {&layer.Wx, &layer.Urz, &layer.Uh}) {
      for (Eigen::Index i = 0; i < m->size(); ++i) total += std::pow(double{m->data()[i]}, 2);
    }
    for (Eigen::Index i = 0; i < layer.bh.size(); ++i) total += std::pow(double{layer.bh(i)}, 2);
  }
  for (const SparseRowGrad<float>* rows : {&g.wy_rows, &g.input_rows, &g.by_rows}) {
    std::map<int32_t, std::vector<double>> by_item;
    const auto ids = rows->ids();
    for (size_t slot = 0; slot < ids.size(); ++slot) {
      if (ids[slot] == SparseRowGrad<float>::kFolded) continue;  // added to its item's row
      const auto row = rows->rows().row(static_cast<Eigen::Index>(slot));
      std::vector<double>& sum = by_item[ids[slot]];
      sum.resize(static_cast<size_t>(row.size()), 0.0);
      for (Eigen::Index j = 0; j < row.size(); ++j) sum[static_cast<size_t>(j)] += row(j);
    }
    for (const auto& [item, sum] : by_item) {
      for (double v : sum) total += v * v;
    }
  }
  return total;
}

// TrainWorker::train, the production path (output rows updated right after the output side,
// the logQ shift, state compaction when the batch shrinks, grad_cap), against the plain path
// composed here from its parts: TrainStep::run, the shift from its formula, the global norm
// clipped by the test's own dense norm, then one AdagradMomentum::update. Same seed, so the
// same negative samples and dropout masks: the weights, accumulators and velocities must be
// the same after every step of two epochs, bit for bit.
class ProductionPathTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ProductionPathTest, EqualsAPlainStepThenOneUpdate) {
  SyntheticOptions synthetic;
  synthetic.num_items = 40;
  synthetic.num_sessions = 120;
  synthetic.seed = 5;
  ItemIndex items;
  const SessionLog log =
      parse_training_log(generate_synthetic_data(synthetic).train_tsv, "t", ReadOptions{}, items);
  Params params;
  apply_param_string(params,
                     "threads=1,batch_size=6,n_sample=10,sample_store_size=25," + GetParam());
  const Model model = Model::initialize(params, std::move(items), log, "t");
  const uint64_t seed = 11;
  // With grad_cap the test's norm (dense, double) and the worker's (float rows) differ in the
  // last bits, and so do the scaled gradients: then the paths agree to rounding, not bit for
  // bit.
  const bool exact = params.grad_cap <= 0;
  NetworkWeights<float> production = model.weights, plain = model.weights;
  const OptimizerConfig config = OptimizerConfig::from_params(params);
  AdagradMomentum<float> production_optimizer(production, config), plain_optimizer(plain, config);
  const AliasSampler sampler(model.supports, params.sample_alpha);
  TrainWorker worker(model, &sampler, seed);

  // The plain path's own state: random streams derived as the worker's are, states, columns.
  SampleStore samples(&sampler, params.n_sample, params.sample_store_size,
                      Rng::derive_seed(seed, kSamplerStream));
  Rng dropout(Rng::derive_seed(seed, kDropoutStream));
  TrainStep<float> step(model.weights.shape, StepConfig::from_params(params), params.batch_size,
                        params.batch_size + params.n_sample);
  std::vector<MatrixR<float>> hidden;
  for (int size : params.layers) hidden.push_back(MatrixR<float>::Zero(params.batch_size, size));

  int steps = 0, shrinks = 0, clipped = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    SessionBatcher batcher(log, session_order_by_time(log), params.batch_size);
    SessionBatcher::Step batch;
    worker.reset_states();
    for (auto& h : hidden) h.setZero();
    while (batcher.next(batch)) {
      const float production_loss = worker.train(batch, production, production_optimizer);

      for (auto& h : hidden) {  // rows removed by a shrink: the kept rows move up
        for (size_t k = 0; k < batch.kept_rows.size(); ++k)
          h.row(static_cast<Eigen::Index>(k)) = h.row(batch.kept_rows[k]);
      }
      shrinks += batch.kept_rows.empty() ? 0 : 1;
      const std::span<const int32_t> negatives = samples.next();
      std::vector<int32_t> columns(batch.targets.begin(), batch.targets.end());
      columns.insert(columns.end(), negatives.begin(), negatives.end());
      std::vector<float> shift;
      if (params.logq > 0) {  // logq log(support), and sample_alpha times that for samples
        for (size_t j = 0; j < columns.size(); ++j) {
          const double log_support =
              std::log(static_cast<double>(model.supports[static_cast<size_t>(columns[j])]));
          shift.push_back(static_cast<float>(
              params.logq * (j < batch.targets.size() ? 1.0 : params.sample_alpha) * log_support));
        }
      }
      const float plain_loss = step.run(plain, plain_optimizer.item_tables(), batch.inputs, columns,
                                        shift, hidden, &dropout);
      if (exact) {
        ASSERT_EQ(production_loss, plain_loss) << "step " << steps;
      } else {
        ASSERT_NEAR(production_loss, plain_loss, 1e-5 * std::abs(plain_loss)) << "step " << steps;
      }
      if (params.grad_cap > 0) {
        const double norm = std::sqrt(dense_squared_norm(step.gradients()));
        if (norm >= params.grad_cap) {
          step.gradients().scale(static_cast<float>(params.grad_cap / norm));
          ++clipped;
        }
      }
      plain_optimizer.update(plain, step.gradients());
      for (size_t row = 0; row < batch.session_ends.size(); ++row) {
        if (batch.session_ends[row] != 0) {
          for (auto& h : hidden) h.row(static_cast<Eigen::Index>(row)).setZero();
        }
      }
      ++steps;
    }
  }
  EXPECT_GE(shrinks, 2);
  if (params.grad_cap > 0) {  // the cap was reached on some steps, not on all
    EXPECT_GT(clipped, 0);
    EXPECT_LT(clipped, steps);
  }

  production_optimizer.export_items(production);
  plain_optimizer.export_items(plain);
  NetworkWeights<float> production_acc = NetworkWeights<float>::zeros(model.weights.shape),
                        plain_acc = production_acc, production_vel = production_acc,
                        plain_vel = production_acc;
  production_optimizer.export_state(production_acc,
                                    config.momentum > 0 ? &production_vel : nullptr);
  plain_optimizer.export_state(plain_acc, config.momentum > 0 ? &plain_vel : nullptr);
  const auto expect_same = [&](const NetworkWeights<float>& a, const NetworkWeights<float>& b,
                               const char* what) {
    std::vector<std::pair<std::string, std::vector<float>>> tensors;
    a.for_each_tensor([&](const std::string& name, const auto& t) {
      tensors.emplace_back(name, std::vector<float>(t.data(), t.data() + t.size()));
    });
    size_t i = 0;
    b.for_each_tensor([&](const std::string& name, const auto& t) {
      ASSERT_LT(i, tensors.size());
      EXPECT_EQ(tensors[i].first, name);
      const std::vector<float> other(t.data(), t.data() + t.size());
      if (exact) {
        EXPECT_TRUE(tensors[i].second == other) << what << " " << name << " differ";
      } else {
        ASSERT_EQ(tensors[i].second.size(), other.size());
        float scale = 1e-3f, diff = 0;
        for (size_t j = 0; j < other.size(); ++j) {
          scale = std::max(scale, std::abs(other[j]));
          diff = std::max(diff, std::abs(other[j] - tensors[i].second[j]));
        }
        EXPECT_LE(diff, 1e-4f * scale) << what << " " << name << " differ";
      }
      ++i;
    });
  };
  expect_same(production, plain, "weights");
  expect_same(production_acc, plain_acc, "accumulators");
  if (config.momentum > 0) expect_same(production_vel, plain_vel, "velocities");
  // The weights moved: the comparison is not between two untrained models.
  EXPECT_NE(production.Wy, model.weights.Wy);
  EXPECT_NE(production.layers[0].Uh, model.weights.layers[0].Uh);
}

INSTANTIATE_TEST_SUITE_P(
    Settings, ProductionPathTest,
    ::testing::Values(
        "loss=cross-entropy,logq=1,sample_alpha=0.5,layers=8,dropout_p_embed=0.2,"
        "dropout_p_hidden=0.3,momentum=0.3,learning_rate=0.1",
        "loss=bpr-max,bpreg=1,elu_param=0.5,layers=8/6,momentum=0.2,learning_rate=0.05",
        "loss=bpr-max,constrained_embedding=False,embedding=5,layers=7,learning_rate=0.1",
        "loss=cross-entropy,constrained_embedding=False,embedding=0,layers=6,momentum=0.1",
        "loss=cross-entropy,logq=0.5,layers=8,grad_cap=0.2,momentum=0.2,learning_rate=0.1",
        "loss=bpr-max,constrained_embedding=False,embedding=0,layers=8,grad_cap=0.3"));

}  // namespace
}  // namespace gru4rec
