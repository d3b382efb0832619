#!/usr/bin/env bash
# Regenerates the tables of docs/results.md: baselines and GRU4Rec on every real dataset of
# ../shared/data (or GRU4REC_DATA_DIR), with the same evaluation.
#   scripts/results.sh [--epochs 10] [--seeds 1,2,3] [--tune-trials 20] [--tune-epochs 2]
# First a TPE search (gru4rec tune, cross-entropy space) on yoochoose-100k's train_tr /
# train_valid split (the only dataset here with a validation split), then every method on
# every dataset; the Markdown goes to stdout and build/results/tables.md.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GRU4REC_DATA_DIR:-../shared/data}"
epochs=10 seeds=1,2,3 tune_trials=20 tune_epochs=2
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --tune-trials) tune_trials="$2"; shift 2 ;;
    --tune-epochs) tune_epochs="$2"; shift 2 ;;
    *) echo "usage: $0 [--epochs N] [--seeds 1,2,3] [--tune-trials N] [--tune-epochs N]" >&2; exit 2 ;;
  esac
done
[ -d "$data" ] || { echo "error: no data folder at $data (set GRU4REC_DATA_DIR)" >&2; exit 1; }
scripts/install-deps.sh
mkdir -p build/results
scripts/build.sh gru4rec_cli results_report > build/results/build.log 2>&1 ||
  { cat build/results/build.log; exit 1; }
yoochoose="$data/yoochoose-rsc15"
tuned=()
if [ "$tune_trials" -gt 0 ]; then
  rm -f build/results/tune-log.csv
  build/cli/gru4rec tune "$yoochoose/yoochoose-clicks-100k_train_tr.txt" \
    "$yoochoose/yoochoose-clicks-100k_train_valid.txt" \
    --space paramspaces/gru4rec_xe_parspace.json \
    --fixed "loss=cross-entropy,final_act=softmax,logq=1,n_sample=2048,constrained_embedding=True,n_epochs=$tune_epochs" \
    --trials "$tune_trials" -m 20 --metric mrr --log build/results/tune-log.csv --json \
    > build/results/tune.json 2> build/results/tune.log
  params=$(sed -n 's/^ *"params": "\(.*\)",\{0,1\}$/\1/p' build/results/tune.json)
  # The tuned setting is trained for --epochs like the others.
  params=$(echo "$params" | sed "s/n_epochs=[0-9]*,//")
  tuned=(--tuned "yoochoose-100k:$params")
fi
build/bench/results_report --data "$data" --epochs "$epochs" --seeds "$seeds" "${tuned[@]}" \
  2> build/results/progress.log | tee build/results/tables.md
if [ "$tune_trials" -gt 0 ]; then
  echo
  echo "Tuning: $tune_trials TPE trials on yoochoose-100k train_tr / train_valid (MRR@20, $tune_epochs epochs each); log in build/results/tune-log.csv:"
  tail -n 3 build/results/tune.log
fi
