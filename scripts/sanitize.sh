#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer: builds into
# build-sanitize/ (the x86-64 baseline copy of the library only; Highway's kernels still
# dispatch to every SIMD target the CPU has), then runs the GoogleTest suites with every
# error fatal. Left out: the Python tests (the interpreter is not instrumented), the
# allocation counters (they replace malloc, as ASan does), the real-data tests (the code paths
# of the synthetic ones, 10 minutes more under ASan), the install and format checks and the
# deployment guide (no code of ours that the other tests do not run), the hostile-client probes
# (the same binary's code as the suite's socket tests), and the test of a server out of file
# descriptors (the sanitizers' runtime needs descriptors of its own: UBSan's type check opens a
# pipe to probe memory, and reports a false "invalid vptr" without one). About 20 minutes on 2
# cores, most of it the build. CI runs it after scripts/test.sh (.ci/run).
#   scripts/sanitize.sh [ctest arguments, e.g. -R Serve]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
flags="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Sanitize \
  -DCMAKE_CXX_FLAGS_SANITIZE="$flags" -DCMAKE_EXE_LINKER_FLAGS_SANITIZE="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS_SANITIZE="-fsanitize=address,undefined" \
  -DGRU4REC_CPU_LEVELS= -DGRU4REC_BUILD_BENCHMARKS=OFF > /dev/null
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))
cmake --build build-sanitize -j "$jobs" --target gru4rec_cli unit_tests serve_tests redis_tests \
  http_hostile_tests ann_tests cli_tests fuzz_regression_tests
# Leaks are reported at exit; detect_odr_violation=0: the library's copies of Eigen's inline
# functions and the programs' are the same code (-Bsymbolic-functions).
export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build-sanitize
ctest --output-on-failure -j 2 --timeout 1200 \
  -E '^(python\.|Docs\.|DocsRunner\.|Install\.|Style\.|DeployGuide\.|RealData\.|HostileProbes\.|Filters\.)|AllocationTest|OutOfFileDescriptors|_NOT_BUILT$' "$@"
