#!/usr/bin/env bash
# Configures and builds gru4rec (Release, Ninja) into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
# Two jobs at most: the kernels' translation units need about 1 GB of memory each.
cmake --build build -j "$(( $(nproc) < 2 ? $(nproc) : 2 ))"
