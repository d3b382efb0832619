#!/usr/bin/env bash
# Load test of several gru4rec serve replicas sharing their sessions in Redis, on this machine:
# starts a redis-server (no persistence) and N replicas (--session-store redis://...), then
# replays the Diginetica test sessions against every replica at once (wrk per replica, the
# connections and the offered rate split between them), paced and then closed loop. Prints each
# replica's throughput and latency, the errors and degraded answers, and Redis's memory per
# session.
#   scripts/loadtest-replicas.sh [seconds=30] [replicas=2] [connections=64] [rate=2000] [serve flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
replicas="${2:-2}"
connections="${3:-64}"
rate="${4:-2000}"
shift $(( $# < 4 ? $# : 4 ))
source scripts/loadtest-common.sh
redis_port=$((20000 + RANDOM % 20000))
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --loglevel warning > build/loadtest/redis.log 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
ports=()
for r in $(seq "$replicas"); do
  port=$((redis_port + r))
  build/cli/gru4rec serve "$model" --port "$port" --session-store "redis://127.0.0.1:$redis_port" \
    "$@" > "build/loadtest/replica-$r.log" 2>&1 &
  pids+=($!)
  ports+=("$port")
done
for port in "${ports[@]}"; do wait_ready "$port"; done
per_connections=$((connections / replicas))
per_rate=$((rate / replicas))
run() {  # label rate prefix
  echo "$1"
  local i=0
  for port in "${ports[@]}"; do
    i=$((i + 1))
    wrk -t1 -c"$per_connections" -d"${seconds}s" --latency -s bench/loadtest.lua \
      "http://127.0.0.1:$port" -- "$data/test.tsv" "$2" "$per_connections" "$3$i-" \
      > "build/loadtest/wrk-$i.txt" &
  done
  wait $(jobs -p | grep -v -w -F "$(printf '%s\n' "${pids[@]}")") 2>/dev/null || true
  for j in $(seq "$replicas"); do
    echo "replica $j: $(grep -E '^requests' "build/loadtest/wrk-$j.txt"); $(grep -E '^latency' "build/loadtest/wrk-$j.txt")"
    grep -E '^errors' "build/loadtest/wrk-$j.txt" | sed 's/^/  /'
  done
}
echo "$replicas replicas on one Redis; model $model ${*:-}; $connections connections in all"
wrk -t1 -c"$per_connections" -d5s -s bench/loadtest.lua "http://127.0.0.1:${ports[0]}" -- \
  "$data/test.tsv" 0 "$per_connections" "warm-" > /dev/null
run "Paced: at most $rate events/s offered in all" "$per_rate" "paced"
run "Saturation (closed loop)" 0 "closed"
for j in $(seq "$replicas"); do
  m=$(curl -s "http://127.0.0.1:${ports[$((j - 1))]}/metrics")
  echo "replica $j: $(echo "$m" | grep -E '^gru4rec_(requests_total|degraded_total)' | tr '\n' ' ')$(echo "$m" | grep -E '^gru4rec_errors_total' | tr '\n' ' ')"
done
keys=$(redis-cli -p "$redis_port" dbsize)
used=$(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ { print $2 }' | tr -d '\r')
echo "Redis: $keys sessions, used_memory $used bytes, $(( used / (keys > 0 ? keys : 1) )) bytes per session"
