#!/usr/bin/env bash
# Checks that parallel=sync trains the same model on any number of threads, on every published
# setting of the accuracy harness (scripts/accuracy.sh): for each, one epoch (seed 1) on the
# first --lines lines of its training file with threads=1 and with threads=N (default: every
# core, at least 2), both with step_shares=N; the exported item vectors must have the
# same bytes and the epoch the same loss. The unsplit step (threads=1,step_shares=1) runs as a
# control: it should differ (another order of sums). On a CPU with AVX-512 the library's AVX2
# copy is checked as well (GLIBC_TUNABLES). Prints one line per setting and CPU level; exits 1
# if any pair differs. About 6 minutes on 2 cores.
#   scripts/same-model-check.sh [--lines 40000] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GRU4REC_DATA_DIR:-../shared/data}"
lines=40000
threads=$(nproc)
[ "$threads" -ge 2 ] || threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --lines) lines="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--threads N]" >&2; exit 2 ;;
  esac
done
[ -d "$data" ] || { echo "error: no data folder at $data (set GRU4REC_DATA_DIR)" >&2; exit 1; }
scripts/install-deps.sh
work=build/same-model
mkdir -p "$work"
scripts/build.sh > "$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }
cli=build/cli/gru4rec
levels=(native)
grep -qw avx512f /proc/cpuinfo && levels+=(avx2)
build/bench/accuracy_report --data "$data" --list-settings > "$work/settings.txt"
failed=0
while IFS='|' read -r name train params; do
  slice="$work/$(echo "$train" | tr '/' '_')"
  [ -s "$slice" ] || head -n "$((lines + 1))" "$train" > "$slice"
  for level in "${levels[@]}"; do
    tunables=""
    [ "$level" = avx2 ] && tunables="glibc.cpu.hwcaps=-AVX512F"
    results=()
    for run in "threads=1,step_shares=$threads" "threads=$threads,step_shares=$threads" \
               "threads=1,step_shares=1"; do
      model="$work/model.g4r"
      loss=$(GLIBC_TUNABLES="$tunables" "$cli" train "$slice" \
               -ps "$params,n_epochs=1,seed=1,$run" -s "$model" 2>&1 |
             grep -o "Epoch1 --> loss: [0-9.e+-]*" | awk '{print $4}')
      GLIBC_TUNABLES="$tunables" "$cli" export "$model" --items "$work/items.npy" > /dev/null 2>&1
      results+=("$loss $(md5sum < "$work/items.npy" | cut -c1-12)")
      rm -f "$model" "$work/items.npy"
    done
    verdict="same"
    [ "${results[0]}" = "${results[1]}" ] || { verdict="DIFFERENT"; failed=1; }
    control="differs"
    [ "${results[0]}" = "${results[2]}" ] && control="same"
    echo "$name, $level: threads=1 [${results[0]}] threads=$threads [${results[1]}]: $verdict" \
         "(unsplit step [${results[2]}]: $control)"
  done
done < "$work/settings.txt"
exit "$failed"
