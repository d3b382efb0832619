#!/usr/bin/env bash
# Fuzzes every parser of gru4rec with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer (fuzz/targets: HTTP requests, API requests, session records, Redis
# replies, model files, session logs, raw event logs, parameters). Builds the fuzz programs with
# clang 14 into build-fuzz/, then runs each target for SECONDS (default 20: about 3 minutes for
# the eight), starting from its committed corpus (fuzz/corpus/TARGET, copied: the tree is not
# written) and the inputs that once failed (fuzz/regressions/TARGET). A finding fails the run:
# the input is kept under build-fuzz/findings/ and named in the output; add it to
# fuzz/regressions/TARGET/ with the fix, where the test suite replays it.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(http_request api_request session_record redis_reply model_file session_log raw_events
    params)
fi
flags="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_FLAGS_FUZZ="$flags" -DCMAKE_C_FLAGS_FUZZ="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS_FUZZ="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS_FUZZ="-fsanitize=address,undefined" \
  -DGRU4REC_CPU_LEVELS= -DGRU4REC_BUILD_TESTS=OFF -DGRU4REC_BUILD_BENCHMARKS=OFF \
  -DGRU4REC_PYTHON=OFF -DGRU4REC_FUZZ=ON > /dev/null
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))
cmake --build build-fuzz -j "$jobs" --target fuzz_targets
export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
findings=build-fuzz/findings
mkdir -p "$findings"
failed=()
for target in "${targets[@]}"; do
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$target/." "$work/"
  seeds=("$work")
  [ -d "fuzz/regressions/$target" ] && seeds+=("fuzz/regressions/$target")
  log="$findings/$target.log"
  echo "fuzz: $target for ${seconds} s"
  if build-fuzz/fuzz/fuzz_"$target" "${seeds[@]}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$findings/$target-" > "$log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|cov: .* ft:" "$log" \
      | tail -4 | sed "s/^/  $target: /"
  else
    echo "fuzz: $target FAILED; the input is in $findings (log: $log):" >&2
    grep -E "ERROR|SUMMARY|fuzz check|runtime error|Test unit written" "$log" | head -20 >&2
    failed+=("$target")
  fi
  rm -rf "$work"
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, no finding"
