#!/usr/bin/env bash
# Runs a GoogleTest binary on a filter after checking that every pattern of the filter matches
# at least one test: a pattern that names no test (a renamed suite, a parameterised one whose
# name has a prefix) would silently leave tests out of the run.
#   tests/run-filtered.sh BINARY 'Suite.*:Other*:Prefix/ParamSuite.*'
set -euo pipefail
binary=$1
filter=$2
IFS=':' read -r -a patterns <<< "$filter"
missing=0
for pattern in "${patterns[@]}"; do
  # Test names are the indented lines of the listing.
  if ! "$binary" --gtest_list_tests --gtest_filter="$pattern" | grep -q '^  '; then
    echo "run-filtered: the pattern '$pattern' matches no test of $binary" >&2
    missing=1
  fi
done
if [ "$missing" -ne 0 ]; then
  exit 1
fi
exec "$binary" --gtest_filter="$filter"
