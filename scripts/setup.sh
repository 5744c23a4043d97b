#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh Debian machine for SVDE: system packages, the project's own
# Node.js 24 LTS (the distribution's Node 20 is end-of-life), npm dependencies and the native addon.
# Usage: scripts/setup.sh [--no-apt]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
cd "$SVDE_ROOT"

want_apt=1
[ "${1:-}" = "--no-apt" ] && want_apt=0

# Debian packages: libpcap for capture, tshark as the reference dissector, socat for the chip emulator's
# pseudo-terminals, iproute2 for the veth test bed, clang + its runtime for the fuzzer and sanitizers,
# chromium for the panel tests, udev for serialport's port listing, rt-tests (cyclictest) for the
# benchmarks' platform baseline.
APT_PACKAGES=(build-essential python3 libpcap-dev tshark socat iproute2 clang libclang-rt-14-dev tcpdump udev ca-certificates chromium fonts-dejavu-core rt-tests)
if [ "$want_apt" = 1 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no without a prompt.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections || true
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Node.js 24 LTS from the npm registry's node-linux-<arch> package (bin/node + include/node, so node-gyp
# builds offline against its headers). Skipped when the machine's node is already >= 24.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 24 ]; then
  if [ -z "$SVDE_NODE_PKG" ]; then
    echo "setup: no Node.js 24 package for $(uname -m); install Node.js >= 24 yourself" >&2
    exit 1
  fi
  echo "setup: installing Node.js $SVDE_NODE_VERSION ($SVDE_NODE_PKG) into .toolchain/"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$SVDE_NODE_PKG@$SVDE_NODE_VERSION" >/dev/null 2>&1 && tar xzf ./*.tgz)
  mkdir -p "$SVDE_ROOT/.toolchain"
  rm -rf "$SVDE_NODE_DIR"
  mv "$tmp/package" "$SVDE_NODE_DIR"
  rm -rf "$tmp"
  source "$here/env.sh"
fi
echo "setup: node $(node --version), npm $(npm --version 2>/dev/null)"

# Dependencies exactly as locked; install scripts of the addon packages are allowed in package.json
# (npm 11 skips them otherwise). The project's own install script builds the addon.
stamp="node_modules/.svde-install-stamp"
lockhash="$(sha256sum package-lock.json package.json binding.gyp 2>/dev/null | sha256sum | cut -c1-16)-$(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lockhash" ]; then
  npm ci --no-audit --no-fund 2>&1 | grep -v 'Unknown env config' || true
  [ -d node_modules ] || { echo "setup: npm ci failed" >&2; exit 1; }
  echo "$lockhash" > "$stamp"
fi
# The addon is rebuilt when its sources are newer than the build.
if [ ! -f build/Release/svde_native.node ] || [ -n "$(find native binding.gyp -newer build/Release/svde_native.node -print -quit 2>/dev/null)" ]; then
  npx node-gyp rebuild 2>&1 | grep -v 'Unknown env config' | tail -n 3
fi
[ -f build/Release/svde_native.node ] || { echo "setup: native addon build failed" >&2; exit 1; }
echo "setup: ready"
