#!/usr/bin/env bash
# Speed and memory of gru4rec prepare on a synthetic raw log (RetailRocket-like CSV: timestamp
# in ms, visitor, event type, item), by default 30 million events from 3 million visitors,
# with 90% views, log-uniform item popularity over 200,000 items and inactivity gaps that cut
# visitors into sessions. Prints wall time and peak memory (GNU time).
#   scripts/prepare-bench.sh [events=30000000] [work folder=build/prepare-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-30000000}"
work="${2:-build/prepare-bench}"
scripts/install-deps.sh
scripts/build.sh gru4rec_cli > /dev/null
mkdir -p "$work"
raw="$work/events-$events.csv"
if [ ! -f "$raw" ]; then
  echo "Generating $raw ..."
  awk -v n="$events" 'BEGIN {
    srand(7); print "timestamp,visitorid,event,itemid";
    users = int(n / 10); t0 = 1430000000000;
    for (i = 0; i < n; ++i) {
      u = int(rand() * users);
      if (!(u in last)) last[u] = t0 + int(rand() * 86400000 * 120);
      # mostly short gaps; one in eight longer than the 1 h session cut
      gap = (rand() < 0.125) ? 3600000 + int(rand() * 86400000) : int(rand() * 600000);
      last[u] += gap;
      printf "%.0f,%d,%s,%d\n", last[u], u, (rand() < 0.9 ? "view" : "addtocart"), int(exp(rand() * log(200000)));
    }
  }' > "$raw"
fi
ls -l "$raw"
/usr/bin/time -f "wall %e s, peak memory %M KB" build/cli/gru4rec prepare "$raw" -o "$work/out" \
  --user-col visitorid --item-col itemid --time-col timestamp --time-format unix-ms \
  --type-col event --keep-types view --test-days 7
