#!/usr/bin/env bash
# Fails when a C++ file of the repository differs from what clang-format-14 makes of it with the
# repository's .clang-format (run by the test suite). To fix: scripts/format-check.sh --fix.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=clang-format-14
command -v "$tool" > /dev/null || { echo "format-check: $tool is not installed" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' 2> /dev/null || find cli src include tests bench python -name '*.cpp' -o -name '*.h')
if [ "${1:-}" = "--fix" ]; then
  "$tool" -i "${files[@]}"
  exit 0
fi
if ! "$tool" --dry-run --Werror "${files[@]}" 2> /tmp/format-check.$$; then
  grep -E "^[^ ].*: (error|warning)" /tmp/format-check.$$ | cut -d: -f1 | sort -u | sed 's/^/not formatted: /' >&2
  rm -f /tmp/format-check.$$
  echo "format-check: run scripts/format-check.sh --fix" >&2
  exit 1
fi
rm -f /tmp/format-check.$$
echo "format-check: ${#files[@]} files formatted as .clang-format says"
