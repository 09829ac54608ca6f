#!/usr/bin/env bash
# Long run of the soundness oracle (tests/soundness_oracle/main.rs): seeded payloads decided by
# the engine, every allowed run executed under strace with the real dash and bash, every exec
# checked against the analysis' plan.
#   ORACLE_CASES=20000 ORACLE_SEED=99 bash scripts/soundness-oracle.sh   # long run
#   bash scripts/soundness-oracle.sh                                     # 20000 payloads, seed = now
# The CI run is the test itself (3000 payloads, fixed seed). Needs strace, dash and bash.
set -euo pipefail
cd "$(dirname "$0")/.."
export ORACLE_CASES="${ORACLE_CASES:-20000}"
export ORACLE_SEED="${ORACLE_SEED:-$(date +%s)}"
export ORACLE_MUST_RUN=1
echo "soundness oracle: ORACLE_CASES=$ORACLE_CASES ORACLE_SEED=$ORACLE_SEED"
# cargo test (not nextest): a long run outlasts the nextest slow-timeout.
exec cargo test --test soundness_oracle -- --nocapture \
  soundness_oracle_generated_payloads_run_as_analysed
