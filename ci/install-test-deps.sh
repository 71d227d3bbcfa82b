#!/usr/bin/env bash
# Installs the real peers the interop tests talk to, idempotently:
#   PyPI:   fluent-logger (fluent-logger-python), msgpack (msgpack-python)
#   Debian: golang-go, golang-github-fluent-fluent-logger-golang-dev, gzip, openssl, curl,
#           nodejs and npm (when missing)
#   npm:    @fluent-org/logger (tests/node, from its package-lock.json)
# Nothing is installed when it is already there.
set -euo pipefail

PYTHON=${PYTHON:-python3}
PY_PACKAGES=(fluent-logger==0.11.1 "msgpack>=1.0,<2")
DEB_PACKAGES=(golang-go golang-github-fluent-fluent-logger-golang-dev gzip openssl curl)
command -v node >/dev/null 2>&1 || DEB_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || DEB_PACKAGES+=(npm)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! "$PYTHON" -c 'import fluent.sender, msgpack' 2>/dev/null; then
  echo "installing Python test peers: ${PY_PACKAGES[*]}"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
fi

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian test peers: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
NODE_DIR="$(dirname "$0")/../tests/node"
if [ ! -f "$NODE_DIR/node_modules/@fluent-org/logger/package.json" ]; then
  echo "installing npm test peers: @fluent-org/logger"
  npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error
fi
echo "test peers present: python $("$PYTHON" -c 'import msgpack; print("msgpack", msgpack.version)') / $(go version | cut -d' ' -f3) / node $(node --version)"
