#!/usr/bin/env bash
# Soak test of gru4rec serve: replays the Diginetica test sessions (each replay with new session
# ids) from 64 connections as fast as they go, in 30 s rounds, until the server has answered
# `events` requests; after every round prints the server's resident memory, live sessions and
# their bytes, and the errors so far. Fails when any request failed.
#   scripts/soak.sh [events=1000000] [serve flags...]
# e.g. scripts/soak.sh 1000000 --max-session-memory 128
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-1000000}"
shift $(( $# < 1 ? $# : 1 ))
source scripts/loadtest-common.sh
port=$((20000 + RANDOM % 20000))
build/cli/gru4rec serve "$model" --port "$port" "$@" > build/loadtest/soak-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
wait_ready "$port"
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
echo "Model: $model ${*:-}; until $target events; 64 connections"
printf "%8s %10s %10s %12s %14s %10s %8s %8s\n" round events "events/s" "RSS MB" "sessions" \
  "sess. MB" evicted errors
round=0
wrk_errors=0
start=$(date +%s)
while :; do
  round=$((round + 1))
  out=$(wrk -t1 -c64 -d30s -s bench/loadtest.lua "http://127.0.0.1:$port" -- "$data/test.tsv" \
    0 64 "soak$round-")
  errors=$(echo "$out" | awk '/^errors:/ { print $3 + $5 + $7 + $9 + $11 }' | tr -d ,)
  wrk_errors=$((wrk_errors + errors))
  events=$(metric gru4rec_requests_total)
  rss=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")
  failed=$(( $(curl -s "http://127.0.0.1:$port/metrics" | awk '/^gru4rec_errors_total/ { s += $2 } END { print s }') + wrk_errors ))
  printf "%8d %10d %10.0f %12s %14s %10.0f %8s %8d\n" "$round" "$events" \
    "$(echo "$out" | awk '/events\/s/ { print $3 }')" "$rss" "$(metric gru4rec_live_sessions)" \
    "$(echo "$(metric gru4rec_session_bytes) / 1048576" | bc -l)" \
    "$(metric gru4rec_session_evictions_total)" "$failed"
  [ "$events" -ge "$target" ] && break
done
grep VmHWM "/proc/$server/status" | sed 's/^/server peak /'
echo "Distinct sessions: $(metric gru4rec_sessions_created_total); $(( $(date +%s) - start )) s"
[ "$failed" -eq 0 ] || { echo "FAILED: $failed requests failed" >&2; exit 1; }
