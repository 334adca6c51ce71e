#!/usr/bin/env bash
# Builds Balie and runs it on this machine with its embedded defaults: the dev identity
# provider, SQLite in ./data, HTTP on localhost. Prints the URLs to open. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "[1/3] Checking dependencies (Debian packages)…"
deploy/install-deps.sh run
echo "[2/3] Building (release preset)…"
cmake --preset release >/tmp/balie-configure.log 2>&1 || { cat /tmp/balie-configure.log; exit 1; }
cmake --build --preset release -j"$(nproc)" 2>&1 | grep -E 'error|warning' || true
[ -x build/release/balie-gateway ] || { echo "build failed"; exit 1; }
echo "[3/3] Starting balie-gateway (Ctrl-C to stop)…"
export BALIE_PRINT_URLS=1
exec build/release/balie-gateway "$@"
