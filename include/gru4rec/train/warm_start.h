// Continuing the training of a saved model on new events (gru4rec train --init MODEL), e.g.
// each day on that day's log instead of on the whole history from scratch.
//
// The new model keeps the parent's items (same indices, same rows of every item-indexed
// tensor) and appends the items first seen in the new data; their rows are initialized as a
// fresh model of the new size would initialize them (the seed parameter). The supports are the
// parent's plus the new data's, so the sampling distribution and logQ follow every event seen
// so far. The GRU layers' weights continue from the parent's multiplied by `init_shrink`
// (item rows excepted: one-hot input rows are kept like the output rows), the "shrink" of Ash
// and Adams (NeurIPS 2020) against the generalisation gap of warm-started training: with the
// default 0.5, daily updates come closer to a daily retraining's accuracy than with the weights
// kept (1) on the three datasets measured (docs/continued-training.md). 1 continues
// exactly where the parent stopped. The optimizer's state goes on when the parent holds it
// (saved with --save-optimizer-state; the new items' accumulators and velocities start from
// zero); without it the optimizer starts from zeros, as for a new model. init_shrink is an
// argument, not a model parameter: each continuation chooses it, none inherits it.
// The parameters may change (learning rate, epochs, loss, ...) except those that shape the
// network.
#pragma once

#include <string>

#include "gru4rec/data/item_index.h"
#include "gru4rec/data/session_log.h"
#include "gru4rec/model/model.h"

namespace gru4rec {

// Throws Error when `params` would give the network another shape than `parent`'s (layers,
// embedding, constrained_embedding), naming both values.
void check_same_shape(const Params& parent, const Params& params);

inline constexpr double kDefaultInitShrink = 0.5;
// Throws Error unless 0 < init_shrink <= 1.
void check_init_shrink(double init_shrink);

// `items` extends parent.items (the parent's ids first, in order; read the new data with a
// copy of parent.items to get that) and `data` holds its indices. The returned model's stats
// describe `data` (epochs 0) and its lineage ends with the parent. Throws Error as
// Model::initialize does for data that cannot train, for a shape change, and for an
// init_shrink outside (0, 1].
Model warm_start(const Model& parent, const Params& params, ItemIndex items, const SessionLog& data,
                 const std::string& source, double init_shrink = kDefaultInitShrink);

}  // namespace gru4rec
