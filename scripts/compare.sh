#!/usr/bin/env bash
# Regenerates the tables of docs/results.md (into build/comparison/results.md; --out FILE writes
# elsewhere): on every dataset of ../shared/data (or GRU4REC_DATA_DIR), every
# method tuned on a validation split of the training file, GRU4Rec's chosen configuration, its
# published setting and the fixed hybrid over seeds on test (bench/comparison.cpp says how).
#   scripts/compare.sh [--budget-hours 6] [--seeds 1,2,3] [--epochs 10] [--datasets a,b]
# The work folder build/comparison keeps every trial and result: a run that stops resumes, and
# a later run with a larger budget goes on with the same search.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GRU4REC_DATA_DIR:-../shared/data}"
[ -d "$data" ] || { echo "error: no data folder at $data (set GRU4REC_DATA_DIR)" >&2; exit 1; }
scripts/install-deps.sh
mkdir -p build/comparison
scripts/build.sh comparison > build/comparison/build.log 2>&1 ||
  { cat build/comparison/build.log; exit 1; }
build/bench/comparison --data "$data" --work build/comparison \
  --out build/comparison/results.md "$@" \
  2> >(tee build/comparison/progress.log >&2) > /dev/null
echo "build/comparison/results.md written (the tables of docs/results.md);" \
  "progress in build/comparison/progress.log"
