#!/usr/bin/env bash
# The privacy scan (DESIGN.md §7, docs/journey.md): no log line, journey signal or webhook body
# of a whole test run may hold a test citizen's BSN, a test person's name or a chat text.
#   tests/privacy-scan.sh DIR...     scans every file below DIR (gateway log copies, webhook
#                                    bodies and signals kept by the tests, e2e logs)
#   tests/privacy-scan.sh --self-test  proves the scan finds a planted BSN, name and chat line
# The needles come from the tests themselves: every 9999xxxxx test BSN in tests/, the names the
# tests log in with, and the chat lines the browser test types. Exits 1 on a finding, and also
# when there was nothing to scan (a scan of nothing would pass for the wrong reason).
set -uo pipefail
cd "$(dirname "$0")/.."

needles() {
  grep -rhoE '\b9999[0-9]{5}\b' tests/ --include='*.c' --include='*.py' --include='*.mjs' | sort -u
  printf '%s\n' 'Test Persoon' 'Test Medewerker'
  grep -hoE "say\((citizen|agent), '[^']+'" tests/e2e/*.mjs | sed -E "s/^say\((citizen|agent), '//; s/'$//" | sort -u
}

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mapfile -t list < <(needles)
  fails=0
  for n in "${list[0]}" 'Test Persoon' "${list[${#list[@]}-1]}"; do
    rm -rf "$tmp"/*
    printf '{"ts":"x","msg":"fine"}\n{"ts":"y","msg":"oops %s"}\n' "$n" >"$tmp/gateway.log"
    if "$0" "$tmp" >/dev/null 2>&1; then
      echo "self-test: a planted needle was not found: $n"; fails=$((fails + 1))
    fi
  done
  printf '{"ts":"x","msg":"fine"}\n' >"$tmp/gateway.log"
  "$0" "$tmp" >/dev/null 2>&1 || { echo "self-test: a clean file was flagged"; fails=$((fails + 1)); }
  rm -rf "$tmp"/*
  "$0" "$tmp" >/dev/null 2>&1 && { echo "self-test: an empty folder passed"; fails=$((fails + 1)); }
  echo "$((5 - fails)) passed, $fails failed"
  [ $fails -eq 0 ]
  exit
fi

[ $# -gt 0 ] || { echo "usage: $0 DIR... | --self-test"; exit 2; }
mapfile -t list < <(needles)
bsns=$(printf '%s\n' "${list[@]}" | grep -cE '^9999[0-9]{5}$')
if [ "$bsns" -lt 3 ] || [ "${#list[@]}" -lt 6 ]; then
  echo "too few needles (${#list[@]}, $bsns BSNs): the scan would prove nothing"
  echo "0 passed, 1 failed"; exit 1
fi
files=$(find "$@" -type f 2>/dev/null | wc -l)
lines=$(find "$@" -type f -exec cat {} + 2>/dev/null | wc -l)
if [ "$files" -eq 0 ] || [ "$lines" -eq 0 ]; then
  echo "nothing to scan in $*"
  echo "0 passed, 1 failed"; exit 1
fi
found=0
for n in "${list[@]}"; do
  hits=$(grep -rlF -- "$n" "$@" 2>/dev/null)
  if [ -n "$hits" ]; then
    # Name the file and the needle's kind, never the needle itself (this output is a log too).
    kind="name or chat text"; [[ $n =~ ^9999[0-9]{5}$ ]] && kind=BSN
    echo "FOUND a test $kind in: $(echo "$hits" | tr '\n' ' ')"
    found=$((found + 1))
  fi
done
echo "scanned $files files, $lines lines for ${#list[@]} needles ($bsns BSNs)"
if [ $found -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
[ $found -eq 0 ]
