#!/usr/bin/env bash
# Runs every libFuzzer harness for a short, bounded time on a copy of its seed corpus.
#   tests/run-fuzz.sh [SECONDS_EACH]      (build the `fuzz` preset first)
# A crash, leak or sanitizer report fails the run; the input is kept in build/fuzz/crashes/.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
bin=build/fuzz/tests/fuzz
out=build/fuzz/crashes
mkdir -p "$out"
ok=0 bad=0
for h in "$bin"/fuzz_*; do
  [ -x "$h" ] || continue
  name=$(basename "$h"); name=${name#fuzz_}
  work=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
  if "$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$out/$name-" -print_final_stats=1 "$work" >"$out/$name.log" 2>&1; then
    runs=$(grep -a 'stat::number_of_executed_units' "$out/$name.log" | awk '{print $2}')
    echo "fuzz_$name: ok, ${runs:-?} inputs in ${seconds}s"
    ok=$((ok + 1))
  else
    echo "fuzz_$name: FAILED"; grep -a -A15 'ERROR\|==ERROR\|runtime error' "$out/$name.log" | head -40
    bad=$((bad + 1))
  fi
  rm -rf "$work"
done
echo "$ok passed, $bad failed"
[ "$bad" -eq 0 ]
