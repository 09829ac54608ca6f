#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/fuzz_targets for N seconds (default 30).
# Uses `cargo +nightly fuzz` when a nightly toolchain exists, else stable with RUSTC_BOOTSTRAP=1.
# Installs cargo-fuzz if missing. Exits non-zero if any target crashes or an input takes more than
# 10 s (a hang).
#
# Corpus: the committed seeds in fuzz/corpus/<target>/ (regenerate with scripts/fuzz-seeds.py)
# are read but never written: libFuzzer writes new inputs to the FIRST corpus directory, which
# is a scratch directory under fuzz/target/smoke-corpus/ (emptied on every run).
set -euo pipefail

secs="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

# Extra `cargo fuzz run` options, e.g. FUZZ_BUILD_ARGS="--sanitizer none" to reuse a
# non-ASan build.
read -r -a build_args <<< "${FUZZ_BUILD_ARGS:-}"

status=0
for target_file in fuzz/fuzz_targets/*.rs; do
    target="$(basename "$target_file" .rs)"
    scratch="fuzz/target/smoke-corpus/${target}"
    rm -rf "$scratch"
    mkdir -p "$scratch" "fuzz/corpus/${target}"
    echo "fuzz-smoke: ${target} for ${secs}s ($(ls "fuzz/corpus/${target}" | wc -l) seeds)" >&2
    if ! "${fuzz[@]}" run "${build_args[@]}" "$target" "$scratch" "fuzz/corpus/${target}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096; then
        echo "fuzz-smoke: ${target} FAILED (see fuzz/artifacts/${target}/)" >&2
        status=1
    fi
done
exit "$status"
