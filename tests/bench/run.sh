#!/usr/bin/env bash
# Balie against Janus (videocall plugin), side by side, in one run: for each step of the ramp
# the two servers take turns (A B A B …), each started fresh inside one private network
# namespace, and balie-loadpeer carries N calls of real Opus and VP8 through it. Prints a
# table, writes results.csv, summary.csv and a PNG plot (gnuplot). See docs/benchmarks.md.
#
#   tests/bench/run.sh [--steps "25 50 100 200 300 400"] [--hold 8] [--rounds 2]
#                      [--servers "balie janus"] [--out DIR] [--p99-target-us 150]
#                      [--workers 2] [--threads 2] [--video-kbps 2000] [--size 1280x720]
#                      [--accept-rate 20]  (calls started per second; 0 = all at once)
#                      [--nice N]   (servers and load peer alike; on a shared machine, N < 0 keeps
#                                    other work from deciding the latency)
#                      [--loadpeer-nice N]  (the load peer only, relative to the servers: with
#                                    N > 0 a server short of CPU gets it first, and what the load
#                                    peer could not send shows as a lower fwd-pkt/s, not as loss)
#                      [--pace-ms 1] (the load peer's sending tick; 5 = a browser pacer's
#                                    5 ms rounds, all peers of a thread in step)
#                      [--perf]     (perf record -g of each server over its measuring window:
#                                    OUT/perf-SERVER-CALLS-ROUND.data)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
steps="25 50 100 200 300 400"
hold=8
rounds=2
servers="balie janus"
out=$root/tests/bench/results/$(date -u +%Y%m%d-%H%M%S)
p99_target_us=150
workers=2
threads=2
video_kbps=2000
size=1280x720
build=$root/build/release
nice_n=0
lp_nice=0
pace_ms=1
accept_rate=20
perf=0
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --hold) hold=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --p99-target-us) p99_target_us=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --video-kbps) video_kbps=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --nice) nice_n=$2; shift 2 ;;
    --loadpeer-nice) lp_nice=$2; shift 2 ;;
    --pace-ms) pace_ms=$2; shift 2 ;;
    --accept-rate) accept_rate=$2; shift 2 ;;
    --perf) perf=1; shift ;;
    *) echo "unknown option $1"; exit 2 ;;
  esac
done

gateway=$build/balie-gateway
loadpeer=$build/tests/bench/balie-loadpeer
for b in "$gateway" "$loadpeer"; do
  [ -x "$b" ] || { echo "missing $b: cmake --preset release && cmake --build build/release"; exit 1; }
done
case " $servers " in *" janus "*) command -v janus >/dev/null || { echo "janus is not installed (apt-get install janus)"; exit 1; } ;; esac

# Everything runs in a private network namespace: its own loopback, and a veth pair carrying
# 127.0.0.1 because Janus gathers no candidate on a loopback interface (REAL-PEERS.md).
if [ "${BALIE_BENCH_IN_NETNS:-}" != 1 ]; then
  exec env BALIE_BENCH_IN_NETNS=1 unshare -n "$0" "${args[@]}" --out "$out"
fi
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v0 up
ip link set v1 up
ip addr add 127.0.0.1/32 dev v0
sysctl -qw net.ipv6.conf.v0.disable_ipv6=1 net.ipv6.conf.v1.disable_ipv6=1 || true
ulimit -n 65536 2>/dev/null || ulimit -n 16384 || true
[ "$nice_n" != 0 ] && renice -n "$nice_n" -p $$ >/dev/null

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/balie-bench.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -INT "$server_pid" 2>/dev/null
    sleep 1
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

write_janus_config() {
  local d=$work/janus plugins=/usr/lib/x86_64-linux-gnu/janus
  mkdir -p "$d"
  # Every plugin and transport but the two measured is disabled.
  local noplug notrans
  noplug=$(cd "$plugins/plugins" && ls *.so | grep -v videocall | paste -sd, -)
  notrans=$(cd "$plugins/transports" && ls *.so | grep -v websockets | paste -sd, -)
  cat >"$d/janus.jcfg" <<CONF
general: {
  configs_folder = "$d"
  plugins_folder = "$plugins/plugins"
  transports_folder = "$plugins/transports"
  events_folder = "$plugins/events"
  loggers_folder = "$plugins/loggers"
  debug_level = 3
  session_timeout = 0
  log_to_stdout = true
}
certificates: {
}
media: {
  rtp_port_range = "30000-60000"
}
nat: {
  ice_lite = true
  ice_enforce_list = "v0"
  ignore_mdns = true
}
plugins: {
  disable = "$noplug"
}
transports: {
  disable = "$notrans"
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
events: {
  broadcast = false
}
CONF
  cat >"$d/janus.transport.websockets.jcfg" <<CONF
general: {
  json = "plain"
  ws = true
  ws_port = 8188
  ws_ip = "127.0.0.1"
  wss = false
}
admin: {
  admin_ws = false
  admin_wss = false
}
CONF
  echo 'general: {
}' >"$d/janus.plugin.videocall.jcfg"
}

write_balie_config() {
  cat >"$work/balie.conf" <<CONF
[general]
data_dir = "$work/balie-data"
[log]
level = "warn"
[http]
port = 8080
[media]
workers = $workers
port_base = 20000
bind = "127.0.0.1"
[shutdown]
grace_s = 1
CONF
}

# start_server NAME: starts it fresh, sets server_pid, waits until it takes connections.
start_server() {
  local log=$work/$1.log
  rm -rf "$work/balie-data"
  if [ "$1" = balie ]; then
    env -u BALIE_BENCH_IN_NETNS "$gateway" --config "$work/balie.conf" >"$log" 2>&1 &
    server_pid=$!
  else
    janus -F "$work/janus" -C "$work/janus/janus.jcfg" -o -N >"$log" 2>&1 &
    server_pid=$!
  fi
  local port=8080
  [ "$1" = janus ] && port=8188
  for _ in $(seq 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      sleep 0.3
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$1 did not start:"; tail -20 "$log"
  return 1
}

stop_server() {
  kill -INT "$server_pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

write_balie_config
case " $servers " in *" janus "*) write_janus_config ;; esac
csv=$out/results.csv
rm -f "$csv"
media=$build/tests/bench/media-$size-$video_kbps.bin  # encoded once, reused by every run
echo "benchmark: steps [$steps], hold $hold s, $rounds rounds, servers [$servers], Balie workers $workers, $accept_rate calls started per second, nice $nice_n, load peer nice +$lp_nice, pacing tick $pace_ms ms"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
nsteps=$(echo $steps | wc -w)
i=0
for n in $steps; do
  i=$((i + 1))
  for r in $(seq "$rounds"); do
    for s in $servers; do
      printf '[%s] step %d/%d: %s, %d calls, round %d/%d …\n' "$(date +%H:%M:%S)" "$i" "$nsteps" "$s" "$n" "$r" "$rounds"
      start_server "$s" || continue
      url=http://localhost:8080
      [ "$s" = janus ] && url=ws://127.0.0.1:8188
      nice -n "$lp_nice" "$loadpeer" --mode "$s" --url "$url" --calls "$n" --hold "$hold" --warmup 1 \
        --setup-timeout "$(awk -v n="$n" -v r="$accept_rate" 'BEGIN { print 30 + (r > 0 ? n / r : 0) }')" \
        --accept-rate "$accept_rate" --threads "$threads" --pace-ms "$pace_ms" --video-kbps "$video_kbps" --size "$size" \
        --server-pid "$server_pid" --csv "$csv" --label "$s" --media-cache "$media" \
        >"$work/last.txt" 2>"$work/last.err" &
      lp_pid=$!
      if [ "$perf" = 1 ]; then
        # The window opens once every call is up: wait for the load peer's "holding" line.
        for _ in $(seq 600); do grep -q "holding" "$work/last.err" 2>/dev/null && break; kill -0 $lp_pid 2>/dev/null || break; sleep 0.1; done
        perf record -q -g -F 999 -p "$server_pid" -o "$out/perf-$s-$n-$r.data" -- sleep "$hold" >/dev/null 2>&1 || true
      fi
      wait $lp_pid || true
      echo "$s,$n,$r,$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" >>"$out/loadavg.csv"
      sed 's/^/    /' "$work/last.txt"
      grep -v '^\[' "$work/last.err" | grep -v '^loadpeer: [0-9]* Opus' | head -5 | sed 's/^/    ! /' || true
      stop_server
    done
  done
done

# One row per server and step: the mean over the rounds (worst loss and fewest calls up).
awk -F, 'NR > 1 {
  k = $2 "," $3; n[k]++
  if (!(k in up) || $4 < up[k]) up[k] = $4
  if ($9 > loss[k]) loss[k] = $9
  for (c = 10; c <= 26; c++) sum[k, c] += $c
} END {
  print "mode,calls,calls_up,loss_pct,fwd_pps,server_cpu_s,server_cores,pps_per_core,lat_p50_us,lat_p99_us,lat_p999_us,lat_max_us,jitter_ms,rss_kb,rss_per_call_kb,first_media_p50_ms,first_media_p95_ms,first_key_p50_ms,first_key_p95_ms,setup_s,video_kbps"
  for (k in n) {
    line = k "," up[k] "," loss[k]
    for (c = 10; c <= 26; c++) line = line "," sprintf("%.4g", sum[k, c] / n[k])
    print line
  }
}' "$csv" | (read -r h; echo "$h"; sort -t, -k1,1 -k2,2n) >"$out/summary.csv"

echo
printf '%-6s %5s %5s %7s %9s %6s %10s %8s %8s %8s %8s %8s %8s\n' server calls up loss% fwd-pkt/s cores pkt/core-s p50µs p99µs p99.9µs kB/call 1st-p50 1st-p95
awk -F, 'NR > 1 { printf "%-6s %5d %5d %7.3f %9.0f %6.2f %10.0f %8.0f %8.0f %8.0f %8.1f %8.1f %8.1f\n",
  $1, $2, $3, $4, $5, $7, $8, $9, $10, $11, $15, $16, $17 }' "$out/summary.csv"
echo
# Capacity: the last step before loss exceeds 0.1 % (or a call fails to carry media); and the
# same with the p99 latency target as well.
for s in $servers; do
  awk -F, -v s="$s" -v t="$p99_target_us" 'NR > 1 && $1 == s {
    if (!stop && $3 == $2 && $4 <= 0.1) cap = $2; else stop = 1
    if (!stop2 && $3 == $2 && $4 <= 0.1 && $10 <= t) cap2 = $2; else stop2 = 1
  } END {
    printf "capacity %s: %s (loss <= 0.1 %%); %s with p99 <= %s µs too\n", s,
      cap ? cap " calls" : "below the first step", cap2 ? cap2 " calls" : "below the first step", t
  }' "$out/summary.csv"
done | tee "$out/capacity.txt"

if command -v gnuplot >/dev/null; then
  "$root/tests/bench/plot.sh" "$out" \
    "Balie vs Janus videocall: $size VP8 at $video_kbps kbit/s and Opus per direction, $(nproc) cores" 2>/dev/null
fi
echo "results: $csv, $out/summary.csv"
