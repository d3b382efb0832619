#!/usr/bin/env bash
# Compares HTTP front ends on gru4rec serve's cheapest endpoint (GET /health), one event loop
# each: gru4rec serve (Boost.Beast/Asio, --io-threads 1) against a minimal h2o 2.2.5 server
# (bench/h2o_health_server.c, libh2o-evloop-dev; `scripts/install-deps.sh --bench`).
# For each: wrk closed loop from 64 connections (requests/s, p50, p99), then the resident
# memory added by 10,000 idle connections.
#   bench/http_frontends.sh [seconds=15]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
scripts/install-deps.sh --bench
source scripts/loadtest-common.sh
mkdir -p build/bench
gcc -O2 -o build/bench/h2o_health_server bench/h2o_health_server.c \
  $(pkg-config --cflags --libs libh2o-evloop)
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
measure() {  # name pid port
  local name=$1 pid=$2 port=$3
  wait_ready "$port" /health
  wrk -t1 -c64 -d3s "http://127.0.0.1:$port/health" > /dev/null
  local out
  out=$(wrk -t1 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$port/health")
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  local before after
  before=$(rss_kb "$pid")
  bench/hostile_clients.py "$port" idle 10000 8 > /dev/null &
  local clients=$!
  sleep 6
  after=$(rss_kb "$pid")
  wait "$clients"
  printf "%-28s %12s %10s %10s %12s %14.0f\n" "$name" "$rps" "$p50" "$p99" \
    "$((before / 1024)) MB" "$(echo "($after - $before) * 1024 / 10000" | bc -l)"
}
printf "%-28s %12s %10s %10s %12s %14s\n" "front end" "requests/s" p50 p99 "RSS before" \
  "bytes per idle"
port=$((20000 + RANDOM % 20000))
build/cli/gru4rec serve "$model" --port "$port" --io-threads 1 > /dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
measure "gru4rec serve (Beast/Asio)" "$server" "$port"
kill "$server"; wait "$server" 2>/dev/null || true
port=$((port + 1))
build/bench/h2o_health_server "$port" > /dev/null 2>&1 &
server=$!
measure "h2o 2.2.5 (evloop)" "$server" "$port"
