#!/usr/bin/env bash
# Runs the deployment guide's commands as written: every ```sh block of docs/deploy.md, in
# order, as one bash script (from the repository root, with build/cli/gru4rec built). Whatever
# the guide started is stopped at the end, also when a step fails. Exit 77: a tool is missing
# (haproxy, redis-server, curl) and CI is unset.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in haproxy redis-server redis-cli curl; do
  if ! command -v "$tool" > /dev/null; then
    echo "deploy-check: $tool is not installed (scripts/install-deps.sh installs it)" >&2
    [ -n "${CI:-}" ] && exit 1
    exit 77
  fi
done
[ -x build/cli/gru4rec ] || { echo "deploy-check: build/cli/gru4rec is not built" >&2; exit 1; }
script=$(mktemp)
trap 'rm -f "$script"' EXIT
{
  echo 'set -euo pipefail'
  # Stops what the guide started (its pid files under $W) when a step fails.
  echo 'cleanup() {'
  echo '  [ -n "${W:-}" ] && [ -d "$W" ] || return 0'
  echo '  for p in "$W"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2> /dev/null; done'
  echo '  rm -rf "$W"'
  echo '}'
  echo 'trap cleanup EXIT'
  awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on' docs/deploy.md
} > "$script"
timeout 600 bash ${DEPLOY_CHECK_TRACE:+-x} "$script"
echo "deploy-check: every command of docs/deploy.md ran"
