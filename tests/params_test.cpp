#include "gru4rec/model/params.h"

#include <gtest/gtest.h>

#include "gru4rec/core/error.h"
#include "gru4rec/model/param_sources.h"

namespace gru4rec {
namespace {

std::string error_of_string(const std::string& text) {
  Params params;
  try {
    apply_param_string(params, text);
    validate_params(params);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Params, DefaultsAreThoseOfTheOfficialPyTorchVersion) {
  const Params p;
  EXPECT_EQ(p.loss, LossKind::kCrossEntropy);
  EXPECT_EQ(p.layers, std::vector<int>{100});
  EXPECT_EQ(p.batch_size, 64);
  EXPECT_EQ(p.n_epochs, 10);
  EXPECT_DOUBLE_EQ(p.learning_rate, 0.05);
  EXPECT_DOUBLE_EQ(p.momentum, 0);
  EXPECT_TRUE(p.constrained_embedding);
  EXPECT_EQ(p.n_sample, 2048);
  EXPECT_DOUBLE_EQ(p.sample_alpha, 0.5);
  EXPECT_DOUBLE_EQ(p.elu_param, 0.5);
  EXPECT_DOUBLE_EQ(p.bpreg, 1.0);
  EXPECT_DOUBLE_EQ(p.logq, 0);
  EXPECT_EQ(p.sample_store_size, 10'000'000);
  // Every default as text, written out from the official defaults (reference section 2), not
  // from the table that produces it; threads and step_shares depend on the machine.
  std::string defaults;
  for (const auto& [name, value] : format_params(p))
    if (name != "threads" && name != "step_shares") defaults += name + "=" + value + ",";
  EXPECT_EQ(defaults,
            "loss=cross-entropy,final_act=,elu_param=0.5,hidden_act=tanh,layers=100,n_epochs=10,"
            "batch_size=64,dropout_p_embed=0,dropout_p_hidden=0,learning_rate=0.05,momentum=0,"
            "embedding=0,constrained_embedding=True,n_sample=2048,sample_alpha=0.5,bpreg=1,"
            "logq=0,smoothing=0,lmbd=0,grad_cap=0,sigma=0,init_as_normal=False,time_sort=True,"
            "train_random_order=False,sample_store_size=10000000,seed=42,parallel=sync,"
            "parallel_warmup=100,average_epochs=1,repeat_window=0,repeat_events=200000,repeat_"
            "holdout=0.1,");
}

TEST(Params, ParsesTheOfficialParameterString) {
  Params p;
  apply_param_string(p,
                     "loss=bpr-max,elu_param=0.5,layers=224,batch_size=80,dropout_p_embed=0.5,"
                     "dropout_p_hidden=0.05,learning_rate=0.05,momentum=0.4,n_sample=2048,"
                     "sample_alpha=0.4,bpreg=1.95,constrained_embedding=True");
  EXPECT_EQ(p.loss, LossKind::kBprMax);
  EXPECT_EQ(p.layers, std::vector<int>{224});
  EXPECT_EQ(p.batch_size, 80);
  EXPECT_DOUBLE_EQ(p.bpreg, 1.95);
  apply_param_string(p, "layers=200/200,embedding=layersize,constrained_embedding=False");
  EXPECT_EQ(p.layers, (std::vector<int>{200, 200}));
  EXPECT_EQ(embedding_mode(p), EmbeddingMode::kSeparate);
  EXPECT_EQ(embedding_size(p), 200);
  apply_param_string(p, "embedding=0");
  EXPECT_EQ(embedding_mode(p), EmbeddingMode::kOneHot);
}

TEST(Params, EveryValueRoundTripsThroughItsText) {
  Params p;
  apply_param_string(p,
                     "loss=top1-max,final_act=leaky-0.1,hidden_act=elu-1,layers=3/4,seed=9,"
                     "smoothing=0.2,embedding=layersize,time_sort=False,threads=1");
  Params q;
  for (const auto& [name, value] : format_params(p)) set_param(q, name, value);
  EXPECT_EQ(format_params(p), format_params(q));
}

TEST(Params, FinalActivationFollowsTheLossUnlessGiven) {
  Params p;
  EXPECT_EQ(final_activation(p).kind, Activation::Kind::kSoftmax);
  apply_param_string(p, "loss=bpr-max,elu_param=1");
  EXPECT_EQ(final_activation(p), (Activation{Activation::Kind::kElu, 1.0}));
  apply_param_string(p, "elu_param=0");
  EXPECT_EQ(final_activation(p).kind, Activation::Kind::kLinear);
  apply_param_string(p, "final_act=tanh");
  EXPECT_EQ(final_activation(p).kind, Activation::Kind::kTanh);
}

TEST(Params, RejectsUnknownNamesAndOutOfRangeValues) {
  EXPECT_NE(error_of_string("dropout_p_hidden=1.5")
                .find("-ps: invalid value '1.5' for dropout_p_hidden: expected a number in [0, 1)"),
            std::string::npos);
  EXPECT_NE(error_of_string("layers=0").find("invalid value '0' for layers"), std::string::npos);
  EXPECT_NE(error_of_string("layers=100/abc").find("for layers"), std::string::npos);
  EXPECT_NE(error_of_string("n_sample=-1").find("for n_sample: expected an integer in [0,"),
            std::string::npos);
  EXPECT_NE(error_of_string("batch_size=0").find("for batch_size"), std::string::npos);
  EXPECT_NE(error_of_string("loss=foo").find("for loss: expected one of cross-entropy"),
            std::string::npos);
  EXPECT_NE(error_of_string("learning_rate=0").find("for learning_rate"), std::string::npos);
  EXPECT_NE(error_of_string("constrained_embedding=maybe").find("True or False"),
            std::string::npos);
  EXPECT_NE(error_of_string("hidden_size=100").find("unknown parameter 'hidden_size'"),
            std::string::npos);
  EXPECT_NE(error_of_string("loss").find("has no '='"), std::string::npos);
  EXPECT_NE(error_of_string("threads=0").find("for threads"), std::string::npos);
  EXPECT_NE(error_of_string("loss=bpr-max,final_act=softmax").find("needs loss=cross-entropy"),
            std::string::npos);
  EXPECT_NE(error_of_string("final_act=tanh").find("does not fit loss=cross-entropy"),
            std::string::npos);
  EXPECT_NE(error_of_string("final_act=elu-x").find("for final_act"), std::string::npos);
  EXPECT_NE(error_of_string("batch_size=1,n_sample=0").find("no negative"), std::string::npos);
  EXPECT_EQ(error_of_string("loss=bpr-max,layers=224,n_sample=0,"), "no error");
}

TEST(Params, NotesSettingsWithoutEffect) {
  Params p;
  apply_param_string(p, "embedding=64");
  const auto notes = validate_params(p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("embedding is ignored"), std::string::npos);
}

TEST(Params, ReadsTomlFilesWithLineNumbersInErrors) {
  Params p;
  apply_param_toml(p,
                   "loss = \"bpr-max\"\nlayers = [200, 200]\nconstrained_embedding = false\n"
                   "learning_rate = 0.07\nn_sample = 0\n",
                   "p.toml");
  EXPECT_EQ(p.loss, LossKind::kBprMax);
  EXPECT_EQ(p.layers, (std::vector<int>{200, 200}));
  EXPECT_FALSE(p.constrained_embedding);
  EXPECT_DOUBLE_EQ(p.learning_rate, 0.07);
  try {
    apply_param_toml(p, "loss = \"bpr-max\"\n\nmomentum = 3\n", "p.toml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p.toml:3: invalid value '3' for momentum"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(apply_param_toml(p, "loss = [\n", "p.toml"), Error);
  EXPECT_THROW(apply_param_toml(p, "[section]\nloss = \"bpr-max\"\n", "p.toml"), Error);
}

TEST(Params, ReadsTheOfficialPythonParameterFiles) {
  Params p;
  apply_param_python(p,
                     "from collections import OrderedDict\n"
                     "gru4rec_params = OrderedDict([\n"
                     "('loss', 'bpr-max'),\n('constrained_embedding', True),\n"
                     "('embedding', 0),\n('elu_param', 0.5),\n('layers', [224]),\n"
                     "('n_epochs', 10),\n('batch_size', 80),\n('dropout_p_embed', 0.5),\n"
                     "('dropout_p_hidden', 0.05),\n('learning_rate', 0.05),\n('momentum', 0.4),\n"
                     "('n_sample', 2048),\n('sample_alpha', 0.4),\n('bpreg', 1.95),\n"
                     "('logq', 0.0)\n])\n",
                     "retailrocket.py");
  EXPECT_EQ(p.loss, LossKind::kBprMax);
  EXPECT_EQ(p.layers, std::vector<int>{224});
  EXPECT_DOUBLE_EQ(p.momentum, 0.4);
  EXPECT_THROW(apply_param_python(p, "x = 1\n", "bad.py"), Error);
  try {
    apply_param_python(p, "gru4rec_params = OrderedDict([\n('loss', 'bpr-max'),\n('foo', 1)])",
                       "bad.py");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.py:3: unknown parameter 'foo'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace gru4rec
