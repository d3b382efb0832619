#!/usr/bin/env bash
# The main job on the embedded data: install, build, write the synthetic session log, train
# GRU4Rec, evaluate it (Recall@N, MRR@N) and save the model. Builds the command line and the
# Python package (build/python), so that every quick start of the README runs after it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh gru4rec_cli _gru4rec > build.log 2>&1 || { cat build.log; exit 1; }
mkdir -p demo
build/cli/gru4rec synth demo
build/cli/gru4rec train demo/train.tsv -t demo/test.tsv -m 1 5 10 20 -s demo/model.g4r "$@"
build/cli/gru4rec info demo/model.g4r
