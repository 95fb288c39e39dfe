#!/usr/bin/env bash
# npm run fuzz: every property test (each test file that runs properties through test/helpers/fuzz.ts) at fuzzing
# strength, then the total of cases run.
# PARALLAMA_FUZZ_RUNS is the number of cases of a pure property; properties that talk to a real gateway take a
# small share of it (their weight in test/helpers/fuzz.ts). The default brings the total past 1,000,000.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PARALLAMA_FUZZ_RUNS="${PARALLAMA_FUZZ_RUNS:-60000}"
mapfile -t files < <(grep -rl --include='*.test.ts' "helpers/fuzz.js" test | sort)
[ ${#files[@]} -gt 0 ] || { echo "no property tests found" >&2; exit 1; }
npm run build --silent
log=$(mktemp)
status=0
npx tap --disable-coverage --timeout 3600 --reporter=tap "${files[@]}" >"$log" 2>&1 || status=$?
grep -E '^\s*# fuzz ' "$log" | sed -E 's/^\s*# //' | sort
total=$(awk '/^[[:space:]]*# fuzz .*: [0-9]+ cases$/ { sum += $(NF - 1) } END { print sum + 0 }' "$log")
echo "total: ${total:-0} cases in ${#files[@]} files"
[ "$status" -eq 0 ] || { grep -E '^\s*not ok' "$log" | head -20; echo "fuzzing failed (log: $log)" >&2; }
exit "$status"
