#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test suite. Prints each suite's time
# and ends with a summary; exits non-zero when anything failed.
#   tests/run-all.sh            everything
#   tests/run-all.sh unit ...   only the named suites (see the list in `suites` below)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
logs=$root/build/test-logs
mkdir -p "$logs"

all_suites=(lint unit integration asan tsan fuzz e2e bench-smoke deploy)
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=("${all_suites[@]}")

passed=0 failed=0
declare -a summary
t_start=$(date +%s)

want() { local s; for s in "${wanted[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

# Adds a Criterion log's counts (or one test for a plain step) to the totals.
count() {
  local log=$1 rc=$2 line p f
  line=$(grep -a 'Synthesis: Tested:' "$log" || true)
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/.*Passing: ([0-9]+).*/\1/' | paste -sd+ | bc)
    f=$(echo "$line" | sed -E 's/.*Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1+\2/' | paste -sd+ | bc)
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
  elif grep -aqE '^[0-9]+ passed, [0-9]+ failed' "$log"; then
    # Scripts that are not Criterion print the plain closing line themselves.
    read -r p f < <(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/')
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
  elif [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
}

# run_suite NAME COMMAND... : runs, times and records one step.
step=0
run_suite() {
  local name=$1; shift
  step=$((step + 1))
  local log t0 t1 rc
  log="$logs/$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_').log"
  printf '[%s] %-26s … ' "$(date +%H:%M:%S)" "$name"
  t0=$(date +%s)
  "$@" >"$log" 2>&1
  rc=$?
  t1=$(date +%s)
  count "$log" $rc
  if [ $rc -eq 0 ]; then
    printf 'ok    (%ds)\n' $((t1 - t0))
    summary+=("$(printf '%-26s ok    %5ds' "$name" $((t1 - t0)))")
  else
    printf 'FAIL  (%ds, log: %s)\n' $((t1 - t0)) "${log#$root/}"
    summary+=("$(printf '%-26s FAIL  %5ds' "$name" $((t1 - t0)))")
    echo "----- last lines of $name -----"
    grep -av '^{"ts"' "$log" | tail -40
    echo "-------------------------------"
  fi
  return $rc
}

echo "Balie test run: ${wanted[*]}"
echo "[$(date +%H:%M:%S)] installing test dependencies (Debian packages, npm) …"
deploy/install-deps.sh test || exit 1
if want e2e; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >"$logs/npm.log" 2>&1) \
    || { cat "$logs/npm.log"; echo "npm ci failed"; exit 1; }
fi

# Every gateway's output (integration and e2e harnesses) is also copied here for the privacy
# scan at the end; the journey webhook test adds the bodies it received and the signals.
export GATEWAY_LOG_COPY_DIR=$logs/gateway
rm -rf "$GATEWAY_LOG_COPY_DIR" && mkdir -p "$GATEWAY_LOG_COPY_DIR"

jobs=$(nproc)
build() { # build PRESET [TARGET...]
  local preset=$1; shift
  cmake --preset "$preset" >/dev/null || return 1
  if [ $# -gt 0 ]; then
    local t; for t in "$@"; do cmake --build "build/$preset" -j"$jobs" --target "$t" || return 1; done
  else
    cmake --build "build/$preset" -j"$jobs"
  fi
}

run_suite "build (dev, -Werror)" build dev || { echo "The build failed; no tests can run."; exit 1; }
# README's first command builds the release preset: -O2 finds warnings the debug build does not.
run_suite "build (release, -O2 -Werror)" build release

if want lint; then
  run_suite "lint: clang-format" tests/lint.sh format
  run_suite "lint: cppcheck" tests/lint.sh cppcheck
  run_suite "lint: clang-tidy" tests/lint.sh tidy
fi
if want unit; then
  for t in gateway signaling identity; do
    [ -x build/dev/tests/test_$t ] && run_suite "unit: $t" build/dev/tests/test_$t --jobs "$jobs"
  done
fi
if want integration; then
  run_suite "integration" build/dev/tests/test_integration --jobs 1
fi
# Criterion itself keeps one allocation until exit; only that library is exempt.
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if want asan; then
  if run_suite "build (asan+ubsan)" build asan; then
    for t in gateway signaling identity; do
      [ -x build/asan/tests/test_$t ] && run_suite "asan unit: $t" build/asan/tests/test_$t --jobs "$jobs"
    done
    run_suite "asan integration" build/asan/tests/test_integration --jobs 1
  fi
fi
if want tsan; then
  # The control ⇄ worker queues are the only place two threads share memory.
  if run_suite "build (tsan)" build tsan stress_queues; then
    run_suite "tsan: queues and workers" env TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
      build/tsan/tests/stress_queues
  fi
  # The HTTP client's request and result lists are shared under a mutex.
  if run_suite "build (tsan, httpc)" build tsan stress_httpc; then
    run_suite "tsan: http client" env TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
      build/tsan/tests/stress_httpc
  fi
  # And the agents' password checks on their verifier thread.
  if run_suite "build (tsan, password checks)" build tsan stress_auth_local; then
    run_suite "tsan: password checks" env TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
      build/tsan/tests/stress_auth_local
  fi
fi
if want fuzz && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  if run_suite "build (fuzz, clang)" build fuzz; then
    run_suite "fuzz: short runs" tests/run-fuzz.sh "${BALIE_FUZZ_SECONDS:-20}"
  fi
fi
if want e2e && ls tests/e2e/*.test.* >/dev/null 2>&1; then
  run_suite "e2e: real peers" tests/e2e/run.sh
fi
if want bench-smoke; then
  # The load peer: 2 calls of real Opus and VP8 for 3 s through the release build.
  run_suite "bench: load peer unit" build/release/tests/bench/test_loadpeer --jobs 1
  run_suite "bench: load peer smoke" tests/bench/smoke.sh build/release
fi
if want deploy; then
  # The deployment files, and the container image built, run, called through and stopped.
  run_suite "deploy: image and manifests" tests/deploy/run.sh
fi

if want integration || want e2e; then
  # No test BSN, test name or chat text in any gateway log line, signal or webhook body.
  run_suite "privacy: scan self-test" tests/privacy-scan.sh --self-test
  scan_dirs=("$GATEWAY_LOG_COPY_DIR")
  [ -d "$logs/e2e" ] && scan_dirs+=("$logs/e2e")
  run_suite "privacy: logs, signals, webhooks" tests/privacy-scan.sh "${scan_dirs[@]}"
fi

t_end=$(date +%s)
echo
echo "Summary ($(( (t_end - t_start) / 60 )) min $(( (t_end - t_start) % 60 )) s):"
printf '  %s\n' "${summary[@]}"
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
