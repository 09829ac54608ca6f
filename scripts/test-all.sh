#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it:
#   0. install what the tests need (cargo-nextest, Chromium, systemd-analyze, python3, and
#      Node 26 + the real openclaw@2026.9.6 from npm under target/interop-lab),
#   1. unit + integration tests with cargo-nextest (one process per test: sandbox tests call
#      restrict_self/apply_filter and must not share a process) — this includes the escape
#      suite, the fake-gateway suite, real-Chromium browser tests, and the differential test
#      against the official policy code (which uses the npm package from step 0),
#   2. doc tests,
#   3. a short smoke run of every fuzz target (installs cargo-fuzz),
#   4. the interop suite against the real OpenClaw gateway.
# Environment: SANDBOX_MUST_WORK=1 (default under CI) turns a missing kernel feature into a
# failure; FUZZ_SECONDS (default 30) per fuzz target; SKIP_INTEROP=1 / SKIP_FUZZ=1 to skip stages
# locally (never in CI).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ "${CI:-}" = "true" ]; then
  export SANDBOX_MUST_WORK=1
  export ORACLE_MUST_RUN=1
  unset SKIP_INTEROP SKIP_FUZZ
fi
export CARGO_TERM_COLOR=never

passed=0
failed=0
failed_names=()
stage() {
  local name=$1
  shift
  echo "=== stage: $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== stage $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "=== stage $name: FAILED ($((SECONDS - start)) s)"
  fi
}

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >/dev/null 2>&1 \
    || echo "warning: could not install ${need_apt[*]}"
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

export OCLAB_DIR="${OCLAB_DIR:-$root/target/interop-lab}"
lab_setup() {
  bash "$root/tests/interop/setup.sh"
}
unit_tests() {
  cargo nextest run --locked --no-fail-fast --profile ci --features test-helpers
}
doc_tests() {
  cargo test --locked --doc --features test-helpers
}
fuzz_smoke() {
  bash "$root/scripts/fuzz-smoke.sh" "${FUZZ_SECONDS:-30}"
}
interop() {
  bash "$root/tests/interop/run.sh"
}

stage lab-setup lab_setup
stage unit-and-integration unit_tests
stage doc-tests doc_tests
if [ -z "${SKIP_FUZZ:-}" ]; then
  stage fuzz-smoke fuzz_smoke
else
  echo "=== stage fuzz-smoke: SKIPPED (SKIP_FUZZ set)"
fi
if [ -z "${SKIP_INTEROP:-}" ]; then
  stage interop-real-gateway interop
else
  echo "=== stage interop-real-gateway: SKIPPED (SKIP_INTEROP set)"
fi

echo
if [ $failed -gt 0 ]; then
  echo "failed stages: ${failed_names[*]}"
fi
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
