#!/usr/bin/env bash
# Configures and builds gru4rec (Release, Ninja) into build/. Arguments are build targets
# (default: everything, i.e. the library, the CLI, the tests and the benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
# Two jobs at most: the kernels' translation units need about 1 GB of memory each.
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))
if [ $# -eq 0 ]; then
  cmake --build build -j "$jobs"
else
  cmake --build build -j "$jobs" --target "$@"
fi
