#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it:
#   1. unit + integration tests with cargo-nextest (one process per test: sandbox tests call
#      restrict_self/apply_filter and must not share a process),
#   2. doc tests,
#   3. a short smoke run of every fuzz target,
#   4. the interop suite against the real OpenClaw gateway from npm.
# It installs what it needs (cargo-nextest, cargo-fuzz, Chromium, Node 26 + openclaw from npm).
# Environment: SANDBOX_MUST_WORK=1 (default under CI) turns a missing kernel feature into a
# failure; FUZZ_SECONDS (default 30) per fuzz target; SKIP_INTEROP=1 / SKIP_FUZZ=1 to skip stages
# locally (never in CI).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ "${CI:-}" = "true" ]; then
  export SANDBOX_MUST_WORK=1
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
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >/dev/null 2>&1 \
    || echo "warning: could not install ${need_apt[*]}"
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

unit_tests() {
  cargo nextest run --locked --no-fail-fast --profile ci
}
doc_tests() {
  cargo test --locked --doc
}
fuzz_smoke() {
  bash "$root/scripts/fuzz-smoke.sh" "${FUZZ_SECONDS:-30}"
}
interop() {
  bash "$root/tests/interop/run.sh"
}

stage unit-and-integration unit_tests
stage doc-tests doc_tests
if [ -z "${SKIP_FUZZ:-}" ] && [ -f fuzz/Cargo.toml ]; then
  stage fuzz-smoke fuzz_smoke
fi
if [ -z "${SKIP_INTEROP:-}" ] && [ -f tests/interop/run.sh ]; then
  stage interop-real-gateway interop
fi

echo
if [ $failed -gt 0 ]; then
  echo "failed stages: ${failed_names[*]}"
fi
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
