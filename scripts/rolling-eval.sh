#!/usr/bin/env bash
# Daily updates against retraining from scratch (docs/continued-training.md): runs
# build/bench/rolling_eval on yoochoose (real days), Diginetica and RetailRocket (equal shares
# of their sessions in time order: their Time only keeps the order), then prints the Markdown
# tables.
#   scripts/rolling-eval.sh [--update-epochs 4] [--out DIR] [rolling_eval options...]
# By default each update is the recommended daily update of docs/continued-training.md: 4 epochs on the
# last 3 periods (--window 3) plus as many older sessions (--replay-share 1), the weights the
# mean of the last 3 epochs' (--update-params average_epochs=3), the GRU layers shrunk by 0.5
# (warm_start's default). Options given here come after those and win (--update-params replaces
# the whole string); the update of 2 epochs on the last period alone: --window 1
# --update-epochs 2 --replay-share 0 --update-params average_epochs=1.
# Variants of the update that build/bench/rolling_eval also takes: --reset-optimizer,
# --replay-share R (older sessions, R times the window's, as train --replay draws them),
# --update-params S, --skip-scratch, --window K (train each update on the
# last K periods), --period-supports (sampling and logQ of an update from its own data's
# counts), --age-split (the first update's gap without the items it added), --shrink F
# [--shrink-only gru|items] (weights scaled before each update, on top of --init-shrink),
# --accumulator-scale F [--accumulator-only gru|items] (Adagrad accumulators scaled) and
# --perturb P (a fresh initialization times P added to the layers), --history-supports
# (sampling and logQ from each item's events in the whole history), --support-decay F (the
# carried supports times F before an update's counts are added), --blend-parent B (each
# update's weights mixed with the previous model's: B of the update's) and --retrain-every K (every
# K-th update a retraining from scratch, continued by the next updates). --initial-model PATH (train
# the initial model once, then reuse it) is for one dataset at a time: call rolling_eval.
# About 40 minutes on 2 cores. Needs ../shared/data and a build (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
update_epochs=4 out=build/rolling
# The recommended update; later options (given to this script) win.
passed=(--window 3 --replay-share 1 --update-params average_epochs=3)
while [ $# -gt 0 ]; do
  case "$1" in
    --update-epochs) update_epochs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --initial-model) echo "$0: --initial-model would share one model between the datasets" >&2
                     exit 2 ;;
    --params|--periods|--day-seconds|--initial)
      echo "$0: $1 is set per dataset by this script (the updates' parameters: --update-params)" >&2
      exit 2 ;;
    --update-params|--window|--replay-share|--init-shrink|--shrink|--shrink-only|\
    --accumulator-scale|--accumulator-only|--perturb|--support-decay|--blend-parent|\
    --retrain-every)
      [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; exit 2; }
      passed+=("$1" "$2"); shift 2 ;;
    --reset-optimizer|--skip-scratch|--period-supports|--history-supports|--age-split)
      passed+=("$1"); shift ;;
    *) echo "$0: unknown option '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
data="${GRU4REC_DATA_DIR:-../shared/data}"
mkdir -p "$out"
# The published settings of reference section 5.1 (as bench/published_settings.h names them).
common="constrained_embedding=True,n_sample=2048,loss=cross-entropy,logq=1,n_epochs=10"
build/bench/rolling_eval "$out/yoochoose.json" --day-seconds 86400 --initial 3 \
  --update-epochs "$update_epochs" ${passed[@]+"${passed[@]}"} \
  --params "$common,momentum=0,layers=480,batch_size=48,dropout_p_embed=0,dropout_p_hidden=0.2,learning_rate=0.07,sample_alpha=0.2" \
  "$data/yoochoose-rsc15/yoochoose-clicks-100k_train_full.txt" \
  "$data/yoochoose-rsc15/yoochoose-clicks-100k_test.txt"
build/bench/rolling_eval "$out/diginetica.json" --periods 10 --initial 5 \
  --update-epochs "$update_epochs" ${passed[@]+"${passed[@]}"} \
  --params "$common,momentum=0,layers=192,batch_size=128,dropout_p_embed=0.45,dropout_p_hidden=0.15,learning_rate=0.1,sample_alpha=0" \
  "$data/diginetica-cikm16/gcegnn-preprocessed/train.tsv" \
  "$data/diginetica-cikm16/gcegnn-preprocessed/test.tsv"
build/bench/rolling_eval "$out/retailrocket.json" --periods 10 --initial 5 \
  --update-epochs "$update_epochs" ${passed[@]+"${passed[@]}"} \
  --params "$common,layers=192,batch_size=240,dropout_p_embed=0.5,dropout_p_hidden=0.05,learning_rate=0.085,momentum=0.3,sample_alpha=0.3" \
  "$data/retailrocket-preprocessed/train.tsv" "$data/retailrocket-preprocessed/test.tsv"
/usr/bin/python3 scripts/rolling_table.py "$out/yoochoose.json" "$out/diginetica.json" \
  "$out/retailrocket.json"
