#!/usr/bin/env bash
# Static checks of our own C code: formatting, cppcheck, clang-tidy (config in .clang-tidy).
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find gateway signaling identity include tests -name '*.[ch]')
mapfile -t sources < <(printf '%s\n' "${files[@]}" | grep -E '^(gateway|signaling|identity)/.*\.c$')
case ${1:-all} in
format)
  clang-format --dry-run --Werror "${files[@]}" ;;
cppcheck)
  cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
    --inline-suppr --suppress=missingIncludeSystem -I include -D_GNU_SOURCE \
    --std=c11 "${sources[@]}" ;;
tidy)
  [ -f build/dev/compile_commands.json ] || { echo "build the dev preset first"; exit 1; }
  # One file per process, two at a time: the machine has two cores.
  printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -n 1 \
    clang-tidy -p build/dev --quiet --warnings-as-errors='*' 2>&1 | grep -v 'warnings generated' ;
  exit "${PIPESTATUS[1]}" ;;
*)
  echo "usage: tests/lint.sh format|cppcheck|tidy"; exit 2 ;;
esac
