#!/usr/bin/env bash
# The accuracy harness of the parallel training: every published setting of the reference's
# section 5.1 on the closest dataset of ../shared/data (or GRU4REC_DATA_DIR), the unsplit step on
# one thread (threads=1,step_shares=1) against the defaults (every core), seeds 1-3 for 3 epochs, and the six parameter files for 10
# epochs (seed 1); Recall@20 and MRR@20. Runs are appended to a JSON-lines log and skipped when
# already there, so an interrupted run resumes (the log, docs/accuracy/runs.jsonl, is kept in
# the repository with the report it backs); the Markdown tables go to stdout (and
# docs/performance.md has them). About 5 hours on 2 cores; --modes 1,default,hogwild adds
# Hogwild.
#   scripts/accuracy.sh [--log FILE] [--seeds 1,2,3] [--settings "yoochoose bpr-max,rsc15 xe"]
#                       [--report-only]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GRU4REC_DATA_DIR:-../shared/data}"
[ -d "$data" ] || { echo "error: no data folder at $data (set GRU4REC_DATA_DIR)" >&2; exit 1; }
scripts/install-deps.sh
mkdir -p build/accuracy
scripts/build.sh accuracy_report > build/accuracy/build.log 2>&1 ||
  { cat build/accuracy/build.log; exit 1; }
build/bench/accuracy_report --data "$data" --log docs/accuracy/runs.jsonl "$@"
