#!/usr/bin/env bash
# Paced load test of gru4rec serve on a large synthetic catalog (docs/performance.md, "Large
# catalogs"): makes the catalog and its test sessions with build/bench/ann_bench (once, kept in
# build/ann/), starts the server with the given flags, waits for the index build, then runs
# wrk at a fixed offered rate `runs` times (bench/loadtest.lua, as scripts/loadtest.sh does).
#   bench/ann_loadtest.sh [items=1000000] [rate=1000] [seconds=20] [runs=3] [serve flags...]
# e.g. bench/ann_loadtest.sh 1000000 1000 20 3 --retrieval ann --ann-nprobe 48
set -euo pipefail
cd "$(dirname "$0")/.."
items="${1:-1000000}"
rate="${2:-1000}"
seconds="${3:-20}"
runs="${4:-3}"
shift $(( $# < 4 ? $# : 4 ))
connections=64
mkdir -p build/ann
model=build/ann/synthetic-$items.g4r
sessions=build/ann/synthetic-$items-sessions.tsv
if [ ! -f "$model" ] || [ ! -f "$sessions" ]; then
  build/bench/ann_bench --items "$items" --queries 100 --no-exact --save "$model" \
    --write-sessions "$sessions" > build/ann/make-$items.log
fi
port=$((20000 + RANDOM % 20000))
build/cli/gru4rec serve "$model" --port "$port" "$@" > build/ann/server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
start=$(date +%s)
until curl -sf "http://127.0.0.1:$port/ready" > /dev/null 2>&1; do
  kill -0 $server 2>/dev/null || { cat build/ann/server.log >&2; exit 1; }
  sleep 0.5
done
echo "Ready after $(( $(date +%s) - start )) s (model load and index build)"
grep -E "^Retrieval" build/ann/server.log
echo "Model: $model ${*:-}; $connections connections, at most $rate events/s, ${seconds}s x $runs"
wrk -t1 -c"$connections" -d5s -s bench/loadtest.lua "http://127.0.0.1:$port" -- "$sessions" \
  "$rate" "$connections" warm > /dev/null
for run in $(seq "$runs"); do
  wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/loadtest.lua \
    "http://127.0.0.1:$port" -- "$sessions" "$rate" "$connections" "run$run" | sed -n '/------/,$p'
done
grep -E "VmHWM|VmRSS" "/proc/$server/status" | sed 's/^/server /'
curl -s "http://127.0.0.1:$port/metrics" | grep -E "^gru4rec_(errors_total|requests_total|shed_requests)"
