#!/usr/bin/env bash
# Runs every end-to-end test (tests/e2e/*.test.mjs with node --test, tests/e2e/*.test.py with
# Debian's python3) against the dev build, each in a private network namespace that has only a
# loopback interface (`unshare -n`), so no packet leaves the machine, and each under a time limit.
# Prints each test file's result, time and counts, and ends with "N passed, N failed".
#   tests/e2e/run.sh                 all of them
#   tests/e2e/run.sh call aiortc     only the files whose names start with these words
# Environment: E2E_GATEWAY (default build/dev/balie-gateway), E2E_TIMEOUT (seconds per file,
# default 180), E2E_LOGS (folder for the full output, default build/test-logs/e2e).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
export E2E_GATEWAY=${E2E_GATEWAY:-$root/build/dev/balie-gateway}
limit=${E2E_TIMEOUT:-180}
logs=${E2E_LOGS:-$root/build/test-logs/e2e}
mkdir -p "$logs"

if [ ! -x "$E2E_GATEWAY" ]; then
  echo "no gateway at $E2E_GATEWAY: build first (cmake --preset dev && cmake --build build/dev)"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! unshare -n -p -f --mount-proc --kill-child true 2>/dev/null; then
  echo "unshare -n -p is not allowed here (needs root); refusing to run on a real network"
  echo "0 passed, 1 failed"
  exit 1
fi

files=()
for f in tests/e2e/*.test.mjs tests/e2e/*.test.py; do
  [ -e "$f" ] || continue
  if [ $# -gt 0 ]; then
    base=$(basename "$f")
    keep=0
    for w in "$@"; do [[ $base == "$w"* ]] && keep=1; done
    [ $keep -eq 1 ] || continue
  fi
  files+=("$f")
done
if [ ${#files[@]} -eq 0 ]; then
  echo "no end-to-end tests matched"
  echo "0 passed, 1 failed"
  exit 1
fi

# Node finds playwright-core in tests/e2e/node_modules (npm ci there), next to the test files.
if ls tests/e2e/*.test.mjs >/dev/null 2>&1 && [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "tests/e2e/node_modules/playwright-core is missing: (cd tests/e2e && npm ci)"
fi

passed=0 failed=0
summary=()
t_all=$(date +%s)
for f in "${files[@]}"; do
  name=$(basename "$f")
  log="$logs/${name//[^A-Za-z0-9]/_}.log"
  case "$f" in
    *.mjs) cmd=(node --test --test-reporter=spec --test-concurrency=1 "$f") ;;
    *.py) cmd=(/usr/bin/python3 "$f") ;;
  esac
  printf '[%s] %-22s … ' "$(date +%H:%M:%S)" "$name"
  t0=$(date +%s.%N)
  # Fresh namespaces per file: a network with only `lo`, brought up, so no packet leaves; and a
  # PID namespace, so that when the runner ends (or timeout kills it: SIGTERM, SIGKILL 10 s later)
  # the kernel ends every gateway, browser and peer it started, even orphaned ones.
  timeout -k 10 "$limit" unshare -n -p -f --mount-proc --kill-child \
    sh -c 'ip link set lo up && exec "$@"' sh "${cmd[@]}" >"$log" 2>&1
  rc=$?
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  # Count the test cases the runner reports: node's "ℹ pass N", unittest's "Ran N tests".
  p=0 fl=0
  if [[ $f == *.mjs ]]; then
    p=$(grep -aE '^ℹ pass [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    fl=$(grep -aE '^ℹ (fail|cancelled) [0-9]+' "$log" | awk '{ n += $3 } END { print n + 0 }')
  else
    ran=$(grep -aE '^Ran [0-9]+ tests?' "$log" | tail -1 | sed -E 's/^Ran ([0-9]+).*/\1/' || true)
    bad=$(grep -aE '^FAILED \(' "$log" | tail -1 | grep -oE '(failures|errors)=[0-9]+' | awk -F= '{ n += $2 } END { print n + 0 }')
    skipped=$(grep -aE '^(OK|FAILED) \(.*skipped=' "$log" | tail -1 | grep -oE 'skipped=[0-9]+' | grep -oE '[0-9]+' || true)
    fl=${bad:-0}
    [ -n "$ran" ] && p=$((ran - fl - ${skipped:-0}))
  fi
  p=${p:-0} fl=${fl:-0}
  [ $rc -ne 0 ] && [ "$fl" -eq 0 ] && fl=1 # a crash, a timeout, or a runner that counted nothing
  [ $rc -eq 0 ] && [ "$p" -eq 0 ] && [ "$fl" -eq 0 ] && fl=1 # ran nothing (all skipped?)
  passed=$((passed + p))
  failed=$((failed + fl))
  cases=$(grep -aE '^(✔|✖|﹣) ' "$log" | sed 's/^/      /')
  if [ $rc -eq 0 ] && [ "$fl" -eq 0 ]; then
    printf 'ok    %6ss  %d passed\n' "$t" "$p"
    [ -n "$cases" ] && echo "$cases"
    summary+=("$(printf '%-22s ok    %6ss  %d passed' "$name" "$t" "$p")")
  else
    why=""
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && why=" (timed out after ${limit}s)"
    printf 'FAIL  %6ss  %d passed, %d failed%s; log: %s\n' "$t" "$p" "$fl" "$why" "${log#"$root"/}"
    [ -n "$cases" ] && echo "$cases"
    summary+=("$(printf '%-22s FAIL  %6ss  %d passed, %d failed%s' "$name" "$t" "$p" "$fl" "$why")")
    echo "----- $name: last lines -----"
    grep -av '^{"ts"' "$log" | tail -60
    echo "-----------------------------"
  fi
done

echo
echo "End-to-end tests ($(($(date +%s) - t_all)) s):"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
