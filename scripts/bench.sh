#!/usr/bin/env bash
# The benchmark suite: installs the dependencies, builds the benchmarks and runs them on the
# data in ../shared/data (or GRU4REC_DATA_DIR). Prints Markdown tables (see docs/performance.md).
#   scripts/bench.sh                 # training + evaluation speed, FMA peak, memory (~10 min)
#   scripts/bench.sh --accuracy      # 2 threads vs 1: Recall@20 / MRR@20 over 3 seeds (~40 min)
#   scripts/bench.sh --kernels       # Google Benchmark micro-benchmarks of the kernels
# Other arguments go to build/bench/gru4rec_bench (--runs N, --threads N, --train-only, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${GRU4REC_DATA_DIR:-../shared/data}"
if [ ! -d "$data" ]; then
  echo "error: no data folder at $data (set GRU4REC_DATA_DIR)" >&2
  exit 1
fi
scripts/install-deps.sh
mkdir -p build
scripts/build.sh gru4rec_bench kernels_bench gemm_split_bench > build/bench-build.log 2>&1 ||
  { cat build/bench-build.log; exit 1; }
if [ "${1:-}" = "--kernels" ]; then
  shift
  build/bench/kernels_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@"
  echo
  echo "Splitting a step's products across threads (Eigen + OpenMP) instead of one worker per core:"
  build/bench/gemm_split_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
  exit 0
fi
build/bench/gru4rec_bench --data "$data" "$@"
