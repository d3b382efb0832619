#!/usr/bin/env bash
# The comparison (bench/comparison.cpp, scripts/compare.sh) end to end on generated data: every
# baseline tuned on the validation split, the tuning within its budget with the reference
# setting tried first, the reference setting, its hybrid and the chosen configuration over two
# seeds on test; a second run resumes from the work folder without training anything again.
#   tests/comparison-check.sh GRU4REC_CLI COMPARISON
set -euo pipefail
cli="$1" comparison="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cli" synth "$work/data" --items 80 --sessions 600 --seed 3 > /dev/null
cat > "$work/space.json" <<'SPACE'
{"name": "loss", "dtype": "categorical", "values": ["cross-entropy", "bpr-max"]}
{"name": "logq", "dtype": "categorical", "values": [1, 0]}
{"name": "layers", "dtype": "int", "values": [8, 16], "step": 8}
{"name": "learning_rate", "dtype": "float", "values": [0.02, 0.1], "step": 0.02}
{"name": "repeat_window", "dtype": "categorical", "values": [0, 10]}
SPACE
run() {
  "$comparison" --custom "synth:$work/data/train.tsv:$work/data/test.tsv" \
    --custom-params "loss=cross-entropy,logq=1,layers=16,learning_rate=0.06,batch_size=16,n_sample=16" \
    --space "$work/space.json" --seeds 1,2 --epochs 2 --work "$work/run" --out "$work/results.md" \
    "$@" > "$work/stdout.md" 2> "$work/progress.log" || { cat "$work/progress.log"; exit 1; }
}
fail() { echo "FAIL: $*"; cat "$work/results.md"; exit 1; }
run --budget-hours 0.0001
page="$work/results.md"
cmp -s "$page" "$work/stdout.md" || fail "the page written differs from what was printed"
for method in pop spop itemknn vsknn sr stan vstan "fixed hybrid" "GRU4Rec, published setting" \
  "GRU4Rec, chosen on validation"; do
  grep -q "^| \**$method" "$page" || fail "no row for $method"
done
# Seeds and spreads of the GRU4Rec rows.
[ "$(grep -c '| 2 | 0\.[0-9]* / 0\.[0-9]* |' "$page")" -eq 3 ] || fail "expected 3 rows over 2 seeds"
# The first trial is the reference setting with the repeat head (window 10 of the space).
head -2 "$work/run/synth/tune-log.csv" | tail -1 | grep -q "cross-entropy" || fail "first trial"
grep -q "Tuning: [1-9][0-9]* trials" "$page" || fail "no tuning summary"
grep -q "ahead on both metrics of [0-9]* of the" "$page" || fail "no verdict"
lines=$(wc -l < "$work/run/synth/results.tsv")
trials=$(wc -l < "$work/run/synth/tune-log.csv")
# Resumed: nothing trained or evaluated again, the same tables.
run --budget-hours 0
[ "$(wc -l < "$work/run/synth/results.tsv")" -eq "$lines" ] || fail "results measured again"
[ "$(wc -l < "$work/run/synth/tune-log.csv")" -eq "$trials" ] || fail "tuned again"
diff <(grep '^|' "$page") <(grep '^|' "$work/stdout.md") > /dev/null || fail "tables differ"
# Bad arguments are clear errors.
if "$comparison" --seeds x 2> "$work/err"; then fail "--seeds x accepted"; fi
grep -q "seeds" "$work/err" || fail "no message for --seeds x"
echo "comparison-check: ok"
