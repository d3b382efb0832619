#!/usr/bin/env bash
# Load test of gru4rec serve with wrk on loopback: trains a model on the Diginetica training
# data (100 units, 1 epoch; kept in build/loadtest/), starts the server, replays the Diginetica
# test sessions event by event from 64 connections, and prints throughput, latency percentiles,
# errors and the server's memory.
# First at a fixed offered rate (rate events/s spread over the connections: the latency at
# that load), then as fast as the connections go (the saturation throughput).
#   scripts/loadtest.sh [seconds=30] [connections=64] [rate=3000] [serve flags...]
# e.g. scripts/loadtest.sh 30 64 3000 --item-weights float16
# SLOWLORIS=N: N more clients hold connections open all along, sending a request head one byte
# per second (bench/hostile_clients.py).
#
# Pinned, open-loop mode: the server alone on the first core of the affinity mask, the load
# generator (gru4rec replay --rate) on the others; prints the model's floor on that core, then
# per offered rate each run and the medians, as multiples of the floor (bench/pinned_loadtest.py)
#   scripts/loadtest.sh --pinned [--rates 1000,2000] [--saturation-rate 8000] [--seconds 20]
#     [--runs 3] [--concurrency 256] [--redis] [serve flags, e.g. --item-weights int8]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--pinned" ]; then
  shift
  source scripts/loadtest-common.sh
  exec bench/pinned_loadtest.py "$model" "$data/test.tsv" "$@"
fi
seconds="${1:-30}"
connections="${2:-64}"
rate="${3:-3000}"
shift $(( $# < 3 ? $# : 3 ))
source scripts/loadtest-common.sh
port=$((20000 + RANDOM % 20000))
build/cli/gru4rec serve "$model" --port "$port" "$@" > build/loadtest/server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
wait_ready "$port"
if [ "${SLOWLORIS:-0}" -gt 0 ]; then
  bench/hostile_clients.py "$port" slowloris "$SLOWLORIS" $((2 * seconds + 8)) &
  slow_clients=$!
  sleep 2
  echo "With $SLOWLORIS slowloris clients connected"
fi
echo "Model: $model ${*:-}; test sessions: $data/test.tsv; $connections connections, ${seconds}s"
# Warm-up (not reported): the first requests page in the model and grow the session store,
# which says nothing about the steady state.
wrk -t1 -c"$connections" -d5s -s bench/loadtest.lua "http://127.0.0.1:$port" -- "$data/test.tsv" \
  "$rate" "$connections" > /dev/null
echo "Offered load: at most $rate events/s (each connection pauses $connections/$rate s between requests)"
wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/loadtest.lua \
  "http://127.0.0.1:$port" -- "$data/test.tsv" "$rate" "$connections" | sed -n '/------/,$p'
echo "Saturation (closed loop)"
wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/loadtest.lua \
  "http://127.0.0.1:$port" -- "$data/test.tsv" | sed -n '/------/,$p'
grep -E "VmHWM|VmRSS" "/proc/$server/status" | sed 's/^/server /'
echo "GET /health now: $(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/health") s"
curl -s "http://127.0.0.1:$port/metrics" |
  grep -E "^gru4rec_(live_sessions|errors_total|requests_total|open_connections|shed_requests)"
if [ -n "${slow_clients:-}" ]; then wait "$slow_clients"; fi
