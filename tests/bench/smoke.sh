#!/usr/bin/env bash
# Smoke run of the load peer: 2 calls for about 3 s through a release-built Balie, inside a
# private network namespace (own loopback). Fails when no media flows both ways, or when loss
# or latency is absurd (limits far above what a loaded two-core machine shows).
#   tests/bench/smoke.sh [BUILD_DIR]        (default build/release)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/release}
gateway=$build/balie-gateway
loadpeer=$build/tests/bench/balie-loadpeer
for b in "$gateway" "$loadpeer"; do
  [ -x "$b" ] || { echo "missing $b (cmake --preset release && cmake --build build/release)"; exit 1; }
done

if [ "${BALIE_BENCH_IN_NETNS:-}" != 1 ]; then
  exec env BALIE_BENCH_IN_NETNS=1 unshare -n "$0" "$build"
fi
ip link set lo up

dir=$(mktemp -d /tmp/balie-bench-smoke.XXXXXX)
gw_pid=
cleanup() {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/balie.conf" <<CONF
[general]
data_dir = "$dir/data"
[http]
port = 8080
[media]
workers = 1
port_base = 20000
bind = "127.0.0.1"
[shutdown]
grace_s = 1
CONF
# The gateway reads every BALIE_* variable as configuration: give it none of ours.
env -u BALIE_BENCH_IN_NETNS "$gateway" --config "$dir/balie.conf" >"$dir/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 50); do
  grep -q 'citizen page' "$dir/gateway.log" 2>/dev/null && break
  sleep 0.1
done

rc=0
"$loadpeer" --mode balie --url http://localhost:8080 --calls 2 --hold 3 --warmup 0.5 \
  --setup-timeout 10 --server-pid "$gw_pid" --max-loss-pct 2 --max-p99-ms 250 --quiet \
  --size 640x360 --video-kbps 800 --video-frames 30 --media-cache "$build/tests/bench/smoke-media.bin" || rc=$?
if [ $rc -ne 0 ]; then
  echo "--- gateway log (warnings and errors) ---"
  grep -v '"level":"info"' "$dir/gateway.log" | tail -20
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
