#!/usr/bin/env bash
# The `deploy` suite: the deployment files are valid, and the container image builds, runs as
# a non-root user without a compiler, serves /healthz and valid /metrics, carries a real call
# (aiortc peers, when tests/e2e/aiortc_peer.py exists), and drains and exits 0 on SIGTERM.
#
#   tests/deploy/run.sh            everything
#   tests/deploy/run.sh static     only the checks that need no image (yamllint, kustomize)
#
# Podman keeps its images in BALIE_PODMAN_ROOT (default /var/tmp/balie-podman) so the base
# image and the build layers survive between runs. No registry is needed: the Debian base
# image is made with debootstrap and `podman import` when it is missing (REAL-PEERS.md).
# Everything runs on the host network and binds to loopback.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

passed=0 failed=0 skipped=0
t_suite=$(date +%s)
ok() { passed=$((passed + 1)); echo "ok    $*"; }
bad() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "skip  $*"; }
note() { echo "[$(date +%H:%M:%S)] $*"; }
finish() {
    echo "($(($(date +%s) - t_suite)) s, $skipped skipped)"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# --- 1. YAML --------------------------------------------------------------------------------
mapfile -t yamls < <(find deploy -name '*.yaml' -o -name '*.yml' | sort)
if command -v yamllint >/dev/null; then
    if out=$(timeout 60 yamllint -f parsable -c tests/deploy/yamllint.yaml "${yamls[@]}" 2>&1); then
        ok "yamllint: ${#yamls[@]} YAML files in deploy/"
    else
        bad "yamllint"
        echo "$out"
    fi
else
    bad "yamllint is not installed (deploy/install-deps.sh test)"
fi

# --- 2. Kubernetes manifests render ---------------------------------------------------------
if command -v kubectl >/dev/null; then
    for dir in deploy/kubernetes/base deploy/kubernetes/overlays/example; do
        if out=$(timeout 60 kubectl kustomize "$dir" 2>&1); then
            # The drain only helps when the kubelet waits longer than the gateway's grace.
            tgp=$(echo "$out" | sed -nE 's/^ *terminationGracePeriodSeconds: ([0-9]+)/\1/p' | head -1)
            grace=$(echo "$out" | sed -nE 's/^ *BALIE_SHUTDOWN_GRACE_S: "?([0-9]+)"?/\1/p' | head -1)
            if [ -n "$tgp" ] && [ -n "$grace" ] && [ "$tgp" -gt "$grace" ] &&
                echo "$out" | grep -q 'path: /readyz' && echo "$out" | grep -q 'path: /healthz' &&
                echo "$out" | grep -q 'readOnlyRootFilesystem: true'; then
                ok "kubectl kustomize $dir (grace $grace s < terminationGracePeriodSeconds $tgp)"
            else
                bad "kubectl kustomize $dir: probes, read-only root or grace ($grace/$tgp) missing"
            fi
        else
            bad "kubectl kustomize $dir"
            echo "$out" | tail -20
        fi
    done
else
    bad "kubectl is not installed"
fi

# --- 2b. The systemd unit -------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
    # The binary is not installed on a test machine; everything else must verify cleanly.
    unit_dir=$(mktemp -d)
    sed 's|^ExecStart=.*|ExecStart=/bin/true|' deploy/systemd/balie-gateway.service >"$unit_dir/balie-gateway.service"
    out=$(timeout 60 systemd-analyze verify "$unit_dir/balie-gateway.service" 2>&1)
    unit=deploy/systemd/balie-gateway.service
    if [ -z "$out" ] && grep -q '^DynamicUser=yes' $unit && grep -q '^CapabilityBoundingSet=$' $unit &&
        grep -q '^SystemCallFilter=@system-service' $unit; then
        ok "systemd-analyze verify: the hardened unit"
    else
        bad "systemd-analyze verify $unit"
        echo "$out"
    fi
    rm -rf "$unit_dir"
else
    skip "systemd-analyze is not installed"
fi

[ "${1:-}" = static ] && finish

# --- 3. The image ---------------------------------------------------------------------------
for tool in podman debootstrap curl promtool; do
    command -v $tool >/dev/null || { bad "$tool is not installed (deploy/install-deps.sh test)"; finish; }
done
proot=${BALIE_PODMAN_ROOT:-/var/tmp/balie-podman}
mkdir -p "$proot"
# REAL-PEERS.md: runc (crun fails here), cgroupfs, fixed ulimits, host network, vfs storage.
cat >"$proot/containers.conf" <<'EOF'
[containers]
netns = "host"
default_ulimits = ["nofile=20000:20000", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
cat >"$proot/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$proot/storage"
runroot = "$proot/run"
EOF
export CONTAINERS_CONF=$proot/containers.conf CONTAINERS_STORAGE_CONF=$proot/storage.conf

base=docker.io/library/debian:bookworm-slim
if podman image exists "$base"; then
    note "base image $base is cached in $proot"
else
    mirror=$(grep -rhoE 'https?://[^ ]*debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
        grep -v security | head -1 | tr -d ' ')
    mirror=${mirror:-http://deb.debian.org/debian}
    note "making $base with debootstrap from $mirror (about a minute) …"
    rm -rf "$proot/rootfs"
    if timeout 900 debootstrap --variant=minbase bookworm "$proot/rootfs" "$mirror" >"$proot/debootstrap.log" 2>&1; then
        # The updates and security suites too, so the image gets fixed libraries.
        printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
            "$mirror" "$mirror" >"$proot/rootfs/etc/apt/sources.list"
        rm -rf "$proot"/rootfs/var/cache/apt/archives/*.deb "$proot"/rootfs/var/lib/apt/lists/*
        note "importing it into podman …"
        if tar -C "$proot/rootfs" -c . | timeout 300 podman import - "$base" >/dev/null; then
            ok "base image $base made with debootstrap"
        else
            bad "podman import of the debootstrap tree"
        fi
        rm -rf "$proot/rootfs"
    else
        tail -20 "$proot/debootstrap.log"
        bad "debootstrap (log: $proot/debootstrap.log)"
        finish
    fi
fi

image=localhost/balie:test
note "building $image from deploy/Containerfile (several minutes when the sources changed) …"
t0=$(date +%s)
# --format docker keeps the HEALTHCHECK (the OCI format has no field for it).
if timeout 1500 podman build --pull=never --isolation chroot --format docker --layers \
    -f deploy/Containerfile -t "$image" . >"$proot/build.log" 2>&1; then
    ok "podman build ($(($(date +%s) - t0)) s, $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
else
    grep -v '^ *$' "$proot/build.log" | tail -40
    bad "podman build (log: $proot/build.log)"
    finish
fi

labels=$(podman image inspect --format '{{json .Labels}}' "$image")
if echo "$labels" | grep -q '"org.opencontainers.image.licenses":"EUPL-1.2"' &&
    echo "$labels" | grep -q 'org.opencontainers.image.source' &&
    echo "$labels" | grep -q 'org.opencontainers.image.version'; then
    ok "OCI labels (licenses, source, version)"
else
    bad "OCI labels: $labels"
fi
# (stderr dropped: without systemd here podman complains it cannot schedule the healthcheck.)
uid=$(timeout 60 podman run --rm --entrypoint id "$image" -u 2>/dev/null)
if [[ "$uid" =~ ^[0-9]+$ ]] && [ "$uid" -ne 0 ]; then ok "runs as uid $uid, not root"; else bad "user: '$uid'"; fi
cc=$(timeout 60 podman run --rm --entrypoint sh "$image" -c 'command -v cc gcc clang c99 make' 2>/dev/null)
if [ -z "$cc" ]; then ok "no compiler in the image"; else bad "the image has a compiler: $cc"; fi

# --- 4. Run it ------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
name=balie-deploy-test-$$
base_url=http://127.0.0.1:$port
cleanup() { podman rm -f -v -t 0 "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
note "starting the container on $base_url …"
# As Kubernetes runs it: a read-only root; the data dir is the image's VOLUME (a fresh
# anonymous volume owned by the image's user, removed with the container). Development, so
# the dev login lets the aiortc peers in; not behind a proxy, since the peers post from
# http://127.0.0.1 and a gateway behind a TLS proxy takes only https origins as its own.
if ! timeout 60 podman run -d --name "$name" --network host --read-only \
    -e BALIE_GENERAL_ENVIRONMENT=development -e BALIE_HTTP_LISTEN=127.0.0.1 -e BALIE_HTTP_BEHIND_PROXY=false \
    -e BALIE_HTTP_PORT="$port" -e BALIE_MEDIA_BIND=127.0.0.1 -e BALIE_MEDIA_PORT_BASE=0 \
    -e BALIE_SHUTDOWN_GRACE_S=10 "$image" >/dev/null 2>"$proot/run.err"; then
    cat "$proot/run.err"
    bad "podman run"
    finish
fi
code=000
for _ in $(seq 1 60); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base_url/healthz" || true)
    [ "$code" = 200 ] && break
    sleep 0.5
done
if [ "$code" = 200 ]; then
    ok "the container answers /healthz 200"
else
    bad "/healthz: $code"
    podman logs "$name" 2>&1 | tail -20
    finish
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base_url/readyz")
[ "$code" = 200 ] && ok "/readyz 200" || bad "/readyz: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base_url/")
[ "$code" = 200 ] && ok "the web pages are served from the image (/ is 200)" || bad "/: $code"
if out=$(curl -sf --max-time 5 "$base_url/metrics" | timeout 30 promtool check metrics 2>&1); then
    ok "promtool check metrics accepts /metrics"
elif echo "$out" | grep -q 'error while linting'; then
    bad "promtool cannot parse /metrics"
    echo "$out" | head -20
else
    # Parsed, but against Prometheus's naming rules (e.g. units must be base units: _seconds).
    bad "promtool check metrics: /metrics breaks Prometheus's naming rules"
    echo "$out" | head -20
fi
if timeout 30 podman healthcheck run "$name" >/dev/null 2>&1; then
    ok "the image's HEALTHCHECK passes"
else
    bad "the image's HEALTHCHECK"
fi

# --- 5. A real call through the container ---------------------------------------------------
# BALIE_AIORTC_PEER: another copy of the peer (e.g. from a branch not yet merged).
peer=${BALIE_AIORTC_PEER:-tests/e2e/aiortc_peer.py}
if [ ! -f "$peer" ] || ! /usr/bin/python3 -c 'import aiortc' 2>/dev/null; then
    skip "call through the container: $peer or python3-aiortc is missing"
else
    note "a call between two aiortc peers through the container …"
    logs_dir=$(mktemp -d)
    timeout 90 /usr/bin/python3 "$peer" --url "$base_url" --role citizen --seconds 30 --progress --timeout 40 \
        >"$logs_dir/citizen.out" 2>"$logs_dir/citizen.err" &
    cpid=$!
    for _ in $(seq 1 40); do
        grep -q '"queued"' "$logs_dir/citizen.out" 2>/dev/null && break
        sleep 0.5
    done
    timeout 90 /usr/bin/python3 "$peer" --url "$base_url" --role agent --seconds 6 --hangup --progress \
        >"$logs_dir/agent.out" 2>"$logs_dir/agent.err" &
    apid=$!
    # An upgrade in the middle of the call: once media flows, SIGTERM. The gateway must stop
    # taking new calls (/readyz 503) and let this one run to its end (grace 10 s > 6 s).
    for _ in $(seq 1 60); do
        grep -q '"progress"' "$logs_dir/agent.out" 2>/dev/null && break
        sleep 0.5
    done
    t_term=$(date +%s)
    timeout 30 podman kill --signal TERM "$name" >/dev/null 2>&1
    sleep 1
    ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$base_url/readyz")
    live=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$base_url/healthz")
    if [ "$ready" = 503 ] && [ "$live" = 200 ]; then
        ok "SIGTERM during a call: /readyz 503 (draining), /healthz 200"
    else
        bad "SIGTERM during a call: /readyz $ready (want 503), /healthz $live (want 200)"
    fi
    wait "$apid"
    wait "$cpid"
    verdict=$(/usr/bin/python3 - "$logs_dir" <<'EOF'
import json, sys
def summary(path):
    for line in reversed(open(path).read().splitlines()):
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("event") == "summary":
            return d
    return None
out = []
s = {r: summary(f"{sys.argv[1]}/{r}.out") for r in ("citizen", "agent")}
# Two verdicts, one a line: the media, and whether both sides were told the call ended.
ended = []
for role, d in s.items():
    if d is None:
        out.append(f"{role}: no summary")
        continue
    problems = [p for p in d.get("problems", []) if "no `ended`" not in p]
    if problems or d.get("errors") or d.get("video_frames", 0) < 20 or d.get("audio_frames", 0) < 50:
        out.append(f"{role}: {json.dumps(d)[:400]}")
    if not d.get("ended"):
        ended.append(f"{role}: " + "; ".join(d.get("problems", [])))
if not out and s["citizen"]["call"] != s["agent"]["call"]:
    out.append("not the same call")
if out:
    print("; ".join(out))
else:
    c, a = s["citizen"], s["agent"]
    print(f"OK decoded citizen {c['video_frames']} video {c['audio_frames']} audio, "
          f"agent {a['video_frames']} video {a['audio_frames']} audio")
print("OK" if not ended else "; ".join(ended))
EOF
    )
    media=$(echo "$verdict" | head -1) ended=$(echo "$verdict" | sed -n 2p)
    if [[ "$media" == OK* ]]; then
        ok "a call through the container, going on while it drains: ${media#OK }"
    else
        bad "a call through the container: $media"
        tail -n 5 "$logs_dir"/*.err
    fi
    # The hang-up ends the last call and so the drain: the `ended` messages must still go out
    # before the gateway closes the WebSockets and exits.
    if [ "$ended" = OK ]; then
        ok "both sides were told the call ended before the gateway exited"
    else
        bad "\`ended\` lost when the drain finished: $ended"
    fi
    rm -rf "$logs_dir"
fi

# --- 4b. SIGTERM drains and exits 0 ---------------------------------------------------------
if [ -z "${t_term:-}" ]; then
    t_term=$(date +%s)
    timeout 30 podman kill --signal TERM "$name" >/dev/null 2>&1
fi
# As `podman stop -t 30` would, but the SIGTERM may have been sent during the call above.
rc=$(timeout 40 podman wait "$name" 2>/dev/null)
[ -z "$rc" ] && { timeout 30 podman stop -t 0 "$name" >/dev/null 2>&1; rc="none within 40 s"; }
log=$(podman logs "$name" 2>&1)
if [ "$rc" = 0 ]; then ok "SIGTERM: exit 0 after $(($(date +%s) - t_term)) s"; else bad "exit code after SIGTERM: '$rc'"; fi
if echo "$log" | grep -q '"msg":"draining' && echo "$log" | grep -q '"msg":"stopped"'; then
    ok "the log shows the drain (\"draining\" … \"stopped\")"
else
    bad "no drain in the log"
    echo "$log" | tail -10
fi
if echo "$log" | grep -q 'grace period over'; then
    bad "the grace period cut a call off (the drain should have waited for it)"
fi
if echo "$log" | grep -qE '"level":"(error|fatal)"'; then
    bad "errors in the container's log"
    echo "$log" | grep -E '"level":"(error|fatal)"' | head -5
else
    ok "no errors in the container's log"
fi
finish
