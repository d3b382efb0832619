#!/usr/bin/env bash
# Installs the built project into a temporary prefix (cmake --install), then configures,
# builds and runs tests/consumer against it with find_package(gru4rec).
#   tests/consumer-check.sh BUILD_DIR
set -euo pipefail
build="$(cd "${1:?usage: tests/consumer-check.sh BUILD_DIR}" && pwd)"
source_dir="$(cd "$(dirname "$0")/consumer" && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
# The installed headers are exactly the facade and what it includes, transitively.
include="$work/prefix/include"
reachable=$(
  todo="gru4rec/gru4rec.h"; seen=""
  while [ -n "$todo" ]; do
    set -- $todo; header=$1; shift; todo="$*"
    case " $seen " in *" $header "*) continue ;; esac
    seen="$seen $header"
    [ -f "$include/$header" ] || { echo "MISSING $header" ; continue; }
    todo="$todo $(sed -n 's/^#include "\(gru4rec\/[^"]*\)".*/\1/p' "$include/$header")"
  done
  printf '%s\n' $seen | sort)
installed=$(cd "$include" && find gru4rec -name '*.h' | sort)
if [ "$reachable" != "$installed" ]; then
  echo "consumer-check: the installed headers differ from what gru4rec/gru4rec.h includes" >&2
  diff <(echo "$reachable") <(echo "$installed") >&2 || true
  exit 1
fi
cmake -S "$source_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
# The installed library, not the build tree's: nothing points back at it.
if ldd "$work/build/consumer" | grep -q "$build"; then
  echo "consumer-check: the program loads the build tree's library" >&2
  exit 1
fi
LD_LIBRARY_PATH="$work/prefix/lib" "$work/build/consumer"
