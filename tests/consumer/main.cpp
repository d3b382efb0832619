// Trains and evaluates a small model on synthetic data through the installed facade header;
// prints Recall@20 and exits 0 when it is above what popularity alone gives on that data.
#include <gru4rec/gru4rec.h>

#include <cstdio>

int main() {
  gru4rec::SyntheticOptions data;
  data.num_items = 100;
  data.num_sessions = 800;
  const gru4rec::SyntheticData synthetic = gru4rec::generate_synthetic_data(data);
  gru4rec::ItemIndex items;
  const gru4rec::SessionLog train =
      gru4rec::parse_training_log(synthetic.train_tsv, "train", {}, items);
  gru4rec::Params params;
  gru4rec::apply_param_string(params, "layers=32,n_epochs=3,batch_size=16,n_sample=32,threads=1");
  gru4rec::Model model = gru4rec::Model::initialize(params, std::move(items), train, "train");
  gru4rec::train_model(model, train);
  const gru4rec::SessionLog test =
      gru4rec::parse_test_log(synthetic.test_tsv, "test", {}, model.items);
  const gru4rec::EvalResult result = gru4rec::evaluate(model, test, {});
  std::printf("Recall@20 %.4f over %lld predictions\n", result.recall[0],
              static_cast<long long>(result.predictions));
  return result.predictions > 0 && result.recall[0] > 0.2 ? 0 : 1;
}
