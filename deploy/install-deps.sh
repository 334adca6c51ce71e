#!/usr/bin/env bash
# Installs what Balie needs from Debian's packages, idempotently and quietly when all is there.
#   deploy/install-deps.sh run    build and run the gateway
#   deploy/install-deps.sh test   also everything the test suites need
set -euo pipefail

mode=${1:-run}
run_pkgs=(build-essential cmake pkg-config ca-certificates openssl
  libwebsockets-dev libssl-dev libsrtp2-dev libopus-dev libvpx-dev libjansson-dev
  libsqlite3-dev libcurl4-openssl-dev libxmlsec1-dev libxml2-dev zlib1g-dev)
test_pkgs=(libcriterion-dev clang clang-tidy clang-format cppcheck curl iproute2
  python3 python3-aiortc python3-numpy python3-websockets chromium coturn
  podman buildah runc debootstrap yamllint prometheus
  simplesamlphp php-cli php-xml php-mbstring php-memcache memcached)

pkgs=("${run_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js and npm install the pages' NL Design System stylesheets and drive the browser tests;
# any installed Node 18+ will do.
if ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
# kubectl renders the Kubernetes manifests (kustomize); Google's `kubectl` package when its
# repository is configured, else Debian's (older) kubernetes-client.
if [ "$mode" = test ] && ! command -v kubectl >/dev/null 2>&1; then
  if apt-cache show kubectl >/dev/null 2>&1; then missing+=(kubectl); else missing+=(kubernetes-client); fi
fi
# The pages' NL Design System component stylesheets (signaling/web/nlds/package.json), served by
# the gateway under /nlds/: `npm ci` from the committed lock file, again only when it changed.
nlds_ci() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/signaling/web/nlds"
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.balie-lock" 2>/dev/null; then
    echo "Installing the NL Design System stylesheets (npm ci in signaling/web/nlds)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/tmp/balie-npm.log 2>&1) \
      || { tail -20 /tmp/balie-npm.log; echo "npm ci failed (log: /tmp/balie-npm.log)"; exit 1; }
    cp "$dir/package-lock.json" "$dir/node_modules/.balie-lock"
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  nlds_ci
  exit 0
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing ${#missing[@]} Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# An update only when a package is missing from the lists (a fresh machine has none).
if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/balie-apt.log 2>&1; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/balie-apt.log 2>&1 \
    || { tail -20 /tmp/balie-apt.log; echo "apt-get install failed (log: /tmp/balie-apt.log)"; exit 1; }
fi
echo "Installed."
nlds_ci
