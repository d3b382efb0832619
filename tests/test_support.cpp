#include "test_support.h"

#include "gru4rec/data/synthetic.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/train/trainer.h"

namespace gru4rec::testing {

Model train_small_model(const std::string& param_string, int64_t sessions, SessionLog* train_out,
                        SessionLog* test_out) {
  SyntheticOptions options;
  options.num_items = 60;
  options.num_sessions = sessions;
  options.num_topics = 5;
  options.seed = 3;
  const SyntheticData data = generate_synthetic_data(options);
  ItemIndex items;
  SessionLog train = parse_training_log(data.train_tsv, "synthetic-train", ReadOptions{}, items);
  Params params;
  apply_param_string(params, param_string);
  Model model = Model::initialize(params, std::move(items), train, "synthetic-train");
  train_model(model, train);
  if (test_out != nullptr) {
    *test_out = parse_test_log(data.test_tsv, "synthetic-test", ReadOptions{}, model.items);
  }
  if (train_out != nullptr) *train_out = std::move(train);
  return model;
}

}  // namespace gru4rec::testing
