// The public API of the gru4rec library in one header: prepare raw logs, read session logs
// (files or columns in memory), set parameters, train (with validation and early stopping),
// continue a saved model on new events, evaluate with the official protocol, save and load
// models, export item and session vectors, recommend for one session or a
// batch of them, tune hyperparameters, and the baselines. Only this header and what it
// includes are installed.
//
//   #include <gru4rec/gru4rec.h>
//   gru4rec::ItemIndex items;
//   gru4rec::SessionLog train = gru4rec::read_training_log("train.tsv", {}, items);
//   gru4rec::Params params;
//   gru4rec::apply_param_string(params, "loss=cross-entropy,layers=100,n_epochs=10");
//   gru4rec::Model model = gru4rec::Model::initialize(params, std::move(items), train,
//   "train.tsv"); gru4rec::train_model(model, train); gru4rec::save_model(model, "model.g4r");
//
// With CMake: find_package(gru4rec) and target_link_libraries(app PRIVATE gru4rec::gru4rec).
#pragma once

#include "gru4rec/baselines/baseline.h"
#include "gru4rec/core/error.h"
#include "gru4rec/data/holdout.h"
#include "gru4rec/data/item_index.h"
#include "gru4rec/data/replay.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/data/session_reader.h"
#include "gru4rec/data/synthetic.h"
#include "gru4rec/eval/evaluator.h"
#include "gru4rec/eval/metrics.h"
#include "gru4rec/model/batch_top_k.h"
#include "gru4rec/model/inference.h"
#include "gru4rec/model/model.h"
#include "gru4rec/model/model_file.h"
#include "gru4rec/model/param_sources.h"
#include "gru4rec/model/params.h"
#include "gru4rec/model/repeat_head.h"
#include "gru4rec/model/top_k.h"
#include "gru4rec/model/vectors.h"
#include "gru4rec/prepare/prepare_folder.h"
#include "gru4rec/train/repeat_fit.h"
#include "gru4rec/train/trainer.h"
#include "gru4rec/train/validation.h"
#include "gru4rec/train/warm_start.h"
#include "gru4rec/tune/tuner.h"
