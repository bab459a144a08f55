#!/usr/bin/env bash
# Installs everything lastframe needs on a fresh Debian machine (root, Node 20), idempotently and quickly when
# already done: Debian packages (libtorch, OpenBLAS, PyTorch for reference checks, Fashion-MNIST, Chromium for
# the report test; for 1-D signals espeak-ng, which synthesises spoken-digits, python3-vega-datasets and
# python3-statsmodels, whose data files are seattle-temps and co2, and python3-scipy, the WAV tests' independent
# float writer), npm packages, the native addon and the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

APT_PACKAGES=(libtorch-dev libgloo-dev libopenblas-dev python3-torch dataset-fashion-mnist chromium
  espeak-ng python3-vega-datasets python3-statsmodels python3-scipy)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when package-lock.json changed since the last install.
stamp=node_modules/.lastframe-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# Rebuild the addon only when its sources (or the libtorch it links) changed.
addon=native/build/Release/lastframe.node
src_hash=$( (cat native/addon.cc native/dist.cc native/binding.gyp native/paths.cjs; echo "${LIBTORCH:-debian}") | sha256sum | cut -c1-16)
if [ ! -f "$addon" ] || [ "$(cat native/build/.src-hash 2>/dev/null)" != "$src_hash" ]; then
  log "building the native addon (about a minute)"
  npx --no-install node-gyp rebuild --directory native --nodedir=/usr --loglevel=error >/dev/null
  echo "$src_hash" > native/build/.src-hash
fi

log "compiling TypeScript"
npx --no-install tsc -p tsconfig.json
