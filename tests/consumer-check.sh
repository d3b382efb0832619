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
cmake -S "$source_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
# The installed library, not the build tree's: nothing points back at it.
if ldd "$work/build/consumer" | grep -q "$build"; then
  echo "consumer-check: the program loads the build tree's library" >&2
  exit 1
fi
LD_LIBRARY_PATH="$work/prefix/lib" "$work/build/consumer"
