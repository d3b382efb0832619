#!/usr/bin/env bash
# Builds the CLI and trains the load tests' model once (kept in build/loadtest/): a 100-unit
# cross-entropy model of the Diginetica training data, 1 epoch. Prints the model's path.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GRU4REC_DATA_DIR:-../shared/data}/diginetica-cikm16/gcegnn-preprocessed"
[ -d "$data" ] || { echo "error: no Diginetica data at $data" >&2; exit 1; }
scripts/install-deps.sh >&2
mkdir -p build/loadtest
scripts/build.sh gru4rec_cli > build/loadtest/build.log 2>&1 || { cat build/loadtest/build.log >&2; exit 1; }
model=build/loadtest/diginetica-100.g4r
if [ ! -f "$model" ]; then
  build/cli/gru4rec train "$data/train.tsv" -ps layers=100,n_epochs=1,loss=cross-entropy \
    -s "$model" -q --progress none >&2
fi
echo "$model"
