#!/usr/bin/env bash
# Runs the deployment guide's commands and checks as written: every ```sh block of
# docs/deploy.md, in order, as one bash script (from the repository root, with build/cli/gru4rec
# built). The guide's checks (replay = eval, a failed reload keeps the old model, one variant per
# session on every replica, ...) fail the run when a claim does not hold; a failure names the
# line of docs/deploy.md.
#
# The ports (REDIS_PORT, LB_PORT, ADMIN_PORT; LB_PORT+1..2 and ADMIN_PORT+1..2 for the replicas)
# are free loopback ports picked here, and the work directory W is this run's own, so that two
# copies of the check, or another listener on the guide's default ports, do not collide. The
# guide runs in its own session (process group); at the end, whether it passed, failed or timed
# out, every process it started is stopped (its pid files under $W, then its process group) and
# $W is removed.
#
# Exit 77: a tool is missing (haproxy, redis-server, curl, python3) and CI is unset.
# DEPLOY_CHECK_TRACE=1: run the guide with bash -x. DEPLOY_CHECK_TIMEOUT: seconds (600).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in haproxy redis-server redis-cli curl python3 setsid timeout; do
  if ! command -v "$tool" > /dev/null; then
    echo "deploy-check: $tool is not installed (scripts/install-deps.sh installs it)" >&2
    [ -n "${CI:-}" ] && exit 1
    exit 77
  fi
done
[ -x build/cli/gru4rec ] || { echo "deploy-check: build/cli/gru4rec is not built" >&2; exit 1; }

# Free loopback ports, below the ephemeral range (where the connections' own ports come from):
# REDIS_PORT, then LB_PORT and ADMIN_PORT with the next two ports free as well. Each port is
# tried with a bind and held until all are picked, so they are distinct.
ports=$(python3 - << 'EOF'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
top = low if low > 12000 else 65000
held = []
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        return False
    held.append(s)
    return True
def pick(n):
    while True:
        base = random.randrange(10000, top - n)
        if all(free(base + i) for i in range(n)):
            return base
print(pick(1), pick(3), pick(3))
EOF
)
read -r REDIS_PORT LB_PORT ADMIN_PORT <<< "$ports"
W=$(mktemp -d)
export REDIS_PORT LB_PORT ADMIN_PORT W
script=$(mktemp)
group=

# Stops what the guide started: the pids of its pid files (redis and haproxy run as daemons,
# outside the guide's process group), then its process group (the replicas, the traffic), with
# SIGKILL after 10 s; then removes $W.
cleanup() {
  local p pid
  for p in "$W"/*.pid; do
    [ -f "$p" ] || continue
    pid=$(cat "$p" 2> /dev/null) || continue
    # only a process of the guide's (a pid file can outlive its process)
    case "$(ps -o comm= -p "$pid" 2> /dev/null)" in
      gru4rec | redis-server | haproxy) kill -TERM "$pid" 2> /dev/null || true ;;
    esac
  done
  if [ -n "$group" ]; then
    kill -TERM -- "-$group" 2> /dev/null || true
    for _ in $(seq 100); do
      kill -0 -- "-$group" 2> /dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$group" 2> /dev/null || true
  fi
  for p in "$W"/*.pid; do
    [ -f "$p" ] || continue
    pid=$(cat "$p" 2> /dev/null) || continue
    for _ in $(seq 100); do
      case "$(ps -o comm= -p "$pid" 2> /dev/null)" in
        gru4rec | redis-server | haproxy) sleep 0.1 ;;
        *) break ;;
      esac
    done
    case "$(ps -o comm= -p "$pid" 2> /dev/null)" in
      gru4rec | redis-server | haproxy) kill -KILL "$pid" 2> /dev/null || true ;;
    esac
  done
  rm -rf "$W" "$script"
}
trap cleanup EXIT
for sig in INT:130 TERM:143 HUP:129; do
  trap "echo 'deploy-check: stopped by SIG${sig%:*}' >&2; exit ${sig#*:}" "${sig%:*}"
done

# Line n of the script is line n of the guide (the lines outside ```sh blocks are blank), so
# that a failure names the guide's line.
{
  printf '%s\n' 'set -eEuo pipefail; trap '\''echo "deploy-check: failed at docs/deploy.md:$LINENO: $BASH_COMMAND" >&2'\'' ERR'
  awk 'NR > 1 { if (/^```sh$/) { on = 1; print ""; next } if (/^```$/) on = 0; print on ? $0 : "" }' docs/deploy.md
} > "$script"

echo "deploy-check: ports redis $REDIS_PORT, balancer $LB_PORT, replicas $((LB_PORT + 1))-$((LB_PORT + 2)), admin $((ADMIN_PORT + 1))-$((ADMIN_PORT + 2)); W=$W"
# setsid: a session and process group of its own (pid = group id, since a background job of
# this non-interactive shell is not a group leader); timeout signals that whole group.
setsid timeout "${DEPLOY_CHECK_TIMEOUT:-600}" bash ${DEPLOY_CHECK_TRACE:+-x} "$script" &
group=$!
rc=0
wait "$group" || rc=$?
if [ "$rc" = 0 ]; then
  # The guide's own stop (step 9) must have stopped everything it started.
  for _ in $(seq 50); do
    kill -0 -- "-$group" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 -- "-$group" 2> /dev/null; then
    echo "deploy-check: processes of the guide still run after its step 9:" >&2
    pgrep -a -g "$group" >&2 || true
    exit 1
  fi
  echo "deploy-check: every command and check of docs/deploy.md ran and held"
  exit 0
fi
[ "$rc" = 124 ] && echo "deploy-check: timed out after ${DEPLOY_CHECK_TIMEOUT:-600} s" >&2
echo "deploy-check: failed (exit $rc)" >&2
exit "$rc"
