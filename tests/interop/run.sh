#!/usr/bin/env bash
# Interop suite against the REAL OpenClaw gateway (npm openclaw@2026.9.6 on Node 26):
#
#   1. cargo build --release (SKIP_BUILD=1 to reuse target/release/openclaw-node)
#   2. tests/interop/setup.sh: Node 26 + openclaw + a Python venv, cached in $OCLAB_DIR
#   3. start the gateway on 127.0.0.1:$GW_PORT (private HOME, token auth, manual pairing,
#      no outbound network features) and a recording WebSocket proxy on $PROXY_PORT
#   4. start OUR node host with a fresh HOME (new identity) through the proxy
#   5. pair it with the stock CLI: `openclaw devices approve <requestId>`, then
#      `openclaw nodes pending` / `openclaw nodes approve <requestId>` (our node keeps
#      reconnecting while pairing is pending: no restart needed)
#   6. the 25 gateway-side checks of ../shared/lab/interop_checks.py (which, run, timeouts,
#      approvals get/set, allowlist, deny, gating, wire shape of connect/events/results)
#   6b. browser.proxy end to end (tests/interop/browser_checks.py): the gateway's
#      `browser.request` for the tab list and a screenshot, routed to our node
#   7. `openclaw approvals --node <id>`: get, set (security=allowlist), `allowlist add`,
#      and the edit taking effect on the node (allowlisted runs, others denied), then restore
#   7b. restart the gateway: the node reconnects by itself within RECONNECT_BOUND (45 s) and a
#      system.run through the restarted gateway works
#   8. SIGTERM the node: it must exit 0 and leave node-host-status.json in state "stopped"
#
# Prints one PASS/FAIL line per check and "N passed, M failed"; exits non-zero on failure.
#
#   tests/interop/run.sh --try   the newcomer's path: steps 1-5, then allow /usr/bin/echo with
#                                `openclaw approvals`, run `echo hello from openclaw-node` through
#                                the gateway (`openclaw gateway call node.invoke`), print the result
#                                and stop everything (KEEP=1 leaves gateway + node running).
# Env: OCLAB_DIR (<repo>/target/interop-lab), GW_PORT (18989), PROXY_PORT (18990),
#      SHARED_LAB (<repo>/../shared/lab), PAIR_TIMEOUT (180 s), KEEP=1 (leave gateway running),
#      RECONNECT_BOUND (45 s)
set -uo pipefail
MODE=checks
[ "${1:-}" = "--try" ] && MODE=try
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export OCLAB_DIR="${OCLAB_DIR:-$ROOT/target/interop-lab}"
GW_PORT="${GW_PORT:-18989}"
PROXY_PORT="${PROXY_PORT:-18990}"
if [ -z "${SHARED_LAB:-}" ]; then
  for cand in "$ROOT/../shared/lab" "$ROOT/../../shared/lab"; do
    [ -f "$cand/interop_checks.py" ] && { SHARED_LAB="$(cd "$cand" && pwd)"; break; }
  done
fi
SHARED_LAB="${SHARED_LAB:-$ROOT/../shared/lab}"
PAIR_TIMEOUT="${PAIR_TIMEOUT:-180}"
BIN="${BIN:-$ROOT/target/release/openclaw-node}"
LOGS="$OCLAB_DIR/logs"
TS="$(date +%Y%m%d-%H%M%S)"
WIRE_LOG="$LOGS/wire-$TS.jsonl"
GW_HOME="$OCLAB_DIR/home-gw"
NODE_HOME="$OCLAB_DIR/home-node"
TOKEN_FILE="$OCLAB_DIR/gw-token"

passed=0; failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
die() { echo "interop: $*" >&2; fail "harness: $*"; finish; }

GW_PID=""; PROXY_PID=""; NODE_PID=""
cleanup() {
  [ -n "$NODE_PID" ] && kill -TERM "$NODE_PID" 2>/dev/null
  [ -n "$PROXY_PID" ] && kill -TERM "$PROXY_PID" 2>/dev/null
  if [ -n "$GW_PID" ] && [ "${KEEP:-0}" != "1" ]; then
    kill -TERM -- "-$GW_PID" 2>/dev/null || kill -TERM "$GW_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$GW_PID" 2>/dev/null
  fi
  GW_PID=""; PROXY_PID=""; NODE_PID=""
}
finish() {
  cleanup
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}
trap cleanup EXIT

# --- 1. build -------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  (cd "$ROOT" && cargo build --release --locked) || die "cargo build --release failed"
fi
[ -x "$BIN" ] || die "missing $BIN"
[ -f "$SHARED_LAB/interop_checks.py" ] || die "missing $SHARED_LAB/interop_checks.py (set SHARED_LAB)"

# --- 2. install -----------------------------------------------------------------------------
bash "$HERE/setup.sh" || die "setup failed"
# shellcheck disable=SC1091
. "$OCLAB_DIR/env.sh"
PY="$OCLAB_DIR/venv/bin/python"
mkdir -p "$LOGS" "$GW_HOME/.openclaw"

# --- 3. gateway -----------------------------------------------------------------------------
if [ ! -s "$TOKEN_FILE" ]; then
  "$PY" -c 'import secrets; print(secrets.token_hex(24), end="")' >"$TOKEN_FILE"
  chmod 600 "$TOKEN_FILE"
fi
TOKEN="$(cat "$TOKEN_FILE")"
GW_URL="ws://127.0.0.1:$GW_PORT"
TOKEN="$TOKEN" CFG="$GW_HOME/.openclaw/openclaw.json" PORT="$GW_PORT" LOGF="$LOGS/gateway.log" "$PY" - <<'EOF'
import json, os
cfg = {
  "gateway": {"mode": "local", "port": int(os.environ["PORT"]), "bind": "loopback",
              "auth": {"mode": "token", "token": os.environ["TOKEN"]},
              "tailscale": {"mode": "off"},
              # every device and node surface needs an explicit operator approval
              "nodes": {"pairing": {"autoApproveLocal": False, "sshVerify": False}}},
  "update": {"checkOnStart": False},
  "models": {"catalogRefresh": {"enabled": False}},
  "logging": {"file": os.environ["LOGF"]},
  "plugins": {"deny": ["geolocation", "github", "openai", "anthropic", "xai", "ollama",
                       "talk-voice", "cua-computer", "memory-core"]},
}
with open(os.environ["CFG"], "w") as fh:
    json.dump(cfg, fh, indent=2)
os.chmod(os.environ["CFG"], 0o600)
EOF
OCC=("$PY" "$SHARED_LAB/occlient.py" --url "$GW_URL" --token "$TOKEN")
if "${OCC[@]}" call health >/dev/null 2>&1; then
  echo "interop: reusing the gateway already listening on $GW_PORT"
else
  HOME="$GW_HOME" setsid openclaw gateway run --port "$GW_PORT" --verbose >"$LOGS/gateway-$TS.log" 2>&1 &
  GW_PID=$!
  t0=$SECONDS
  until "${OCC[@]}" call health >/dev/null 2>&1; do
    kill -0 "$GW_PID" 2>/dev/null || die "gateway exited; see $LOGS/gateway-$TS.log"
    [ $((SECONDS - t0)) -lt 120 ] || die "gateway not ready after 120 s; see $LOGS/gateway-$TS.log"
    sleep 0.5
  done
  echo "interop: gateway ready on $GW_URL after $((SECONDS - t0)) s"
fi
oc() { HOME="$GW_HOME" openclaw "$@" --url "$GW_URL" --token "$TOKEN"; }

NODE_PORT="$GW_PORT"
if [ "$MODE" = "checks" ]; then
  NODE_PORT="$PROXY_PORT"
  OCLAB_SECRETS="$TOKEN" "$PY" "$SHARED_LAB/wsproxy.py" --listen "127.0.0.1:$PROXY_PORT" \
    --upstream "$GW_URL" --out "$WIRE_LOG" >"$LOGS/wsproxy-$TS.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 1 50); do
    "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$PROXY_PORT),0.2)" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.3
  kill -0 "$PROXY_PID" 2>/dev/null || die "recording proxy did not start (port $PROXY_PORT busy?); see $LOGS/wsproxy-$TS.log"
fi

# --- 4. our node host, fresh identity -------------------------------------------------------
rm -rf "$NODE_HOME"; mkdir -p "$NODE_HOME/.openclaw"
# The node runs with its own defaults (no openclaw.json): the requested policy is `full / off`,
# so the exec-approvals file the checks set decides, as on the official host; a silent file
# falls back to the conservative built-in `allowlist / on-miss`.
# REQUESTED_POLICY=official additionally writes `tools.exec: full/off` into the node's
# openclaw.json (the official host's YOLO posture).
if [ "${REQUESTED_POLICY:-builtin}" = "official" ]; then
  echo '{"tools":{"exec":{"security":"full","ask":"off"}}}' >"$NODE_HOME/.openclaw/openclaw.json"
fi
HOME="$NODE_HOME" OPENCLAW_GATEWAY_TOKEN="$TOKEN" RUST_LOG=info \
  "$BIN" run --host 127.0.0.1 --port "$NODE_PORT" --display-name interop-rust \
  >"$LOGS/node-$TS.log" 2>&1 &
NODE_PID=$!
STATE="$NODE_HOME/.openclaw"
for _ in $(seq 1 100); do [ -s "$STATE/identity/device.json" ] && break; sleep 0.1; done
DEVICE_ID="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["deviceId"])' "$STATE/identity/device.json" 2>/dev/null)"
[ -n "$DEVICE_ID" ] || die "node did not create identity/device.json; see $LOGS/node-$TS.log"
echo "interop: node device id $DEVICE_ID"

# --- 5. pairing with the stock CLI ----------------------------------------------------------
status_state() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("state",""))' "$STATE/node-host-status.json" 2>/dev/null; }
json_ids() { "$PY" -c '
import json, sys
d = json.load(sys.stdin)
items = d if isinstance(d, list) else d.get("pending", [])
for p in items:
    if sys.argv[1] in ("", p.get("deviceId", ""), p.get("nodeId", "")):
        print(p["requestId"])' "$1"; }
# (capture first: with pipefail, `occlient | grep -q` fails when grep exits early)
connected_approved() { local out; out="$("${OCC[@]}" nodes 2>/dev/null)"; grep -q "^$DEVICE_ID .* connected approved" <<<"$out"; }
t0=$SECONDS; device_ok=0; node_ok=0; saw_pairing=0
# the node must report the pending pairing before anyone approves it
while [ $((SECONDS - t0)) -lt 60 ]; do
  [ "$(status_state)" = "pairing" ] && { saw_pairing=1; break; }
  sleep 0.2
done
while [ $((SECONDS - t0)) -lt "$PAIR_TIMEOUT" ]; do
  if [ $device_ok -eq 0 ]; then
    for id in $(oc devices list --json 2>/dev/null | json_ids "$DEVICE_ID"); do
      echo "interop: openclaw devices approve $id"
      oc devices approve "$id" --json >/dev/null 2>&1 && device_ok=1
    done
  fi
  if [ $device_ok -eq 1 ]; then
    for id in $(oc nodes pending --json 2>/dev/null | json_ids "$DEVICE_ID"); do
      echo "interop: openclaw nodes approve $id"
      oc nodes approve "$id" >/dev/null 2>&1 && node_ok=1
    done
  fi
  if connected_approved; then break; fi
  sleep 1
done
[ $saw_pairing -eq 1 ] && pass "node reports state=pairing while approval is pending" \
  || fail "node never reported state=pairing in node-host-status.json"
grep -q "openclaw devices approve" "$LOGS/node-$TS.log" && pass "node logs the approve command" \
  || fail "node log lacks the 'openclaw devices approve' hint"
if connected_approved; then
  pass "paired with the stock CLI (devices approve + nodes approve) after $((SECONDS - t0)) s"
else
  fail "node not connected+approved after ${PAIR_TIMEOUT}s (device_ok=$device_ok node_ok=$node_ok)"
  "${OCC[@]}" nodes; tail -20 "$LOGS/node-$TS.log"; finish
fi
[ "$(status_state)" = "connected" ] && pass "node-host-status.json state=connected" \
  || fail "node-host-status.json state=$(status_state)"
[ -s "$STATE/identity/device-auth.json" ] && pass "device token persisted (identity/device-auth.json)" \
  || fail "no identity/device-auth.json after hello-ok"
sleep 2

ECHO_PATH=/usr/bin/echo
[ -x "$ECHO_PATH" ] || ECHO_PATH="$(command -v echo)"

# --- try mode: one command through the gateway ----------------------------------------------
if [ "$MODE" = "try" ]; then
  f="$OCLAB_DIR/try-approvals.json"
  echo "{\"version\":1,\"defaults\":{\"security\":\"allowlist\",\"ask\":\"off\",\"askFallback\":\"deny\"},\"agents\":{\"*\":{\"allowlist\":[{\"pattern\":\"$ECHO_PATH\"}]}}}" >"$f"
  echo "+ openclaw approvals set --node $DEVICE_ID --file $f"
  oc approvals set --node "$DEVICE_ID" --file "$f" >/dev/null && pass "allowlisted $ECHO_PATH on the node" \
    || fail "openclaw approvals set --node"
  params="{\"nodeId\":\"$DEVICE_ID\",\"command\":\"system.run\",\"params\":{\"command\":[\"echo\",\"hello from openclaw-node\"],\"agentId\":\"main\"},\"idempotencyKey\":\"try-$TS\",\"timeoutMs\":15000}"
  echo "+ openclaw gateway call node.invoke --params '$params'"
  out="$(oc gateway call node.invoke --params "$params" --json 2>&1)"
  echo "$out"
  grep -q 'hello from openclaw-node' <<<"$out" && pass "system.run through the gateway" \
    || fail "system.run through the gateway"
  if [ "${KEEP:-0}" = "1" ]; then
    echo "gateway: $GW_URL (token in $TOKEN_FILE); node pid $NODE_PID (stop: kill $NODE_PID)${GW_PID:+; gateway pid $GW_PID (stop: kill -- -$GW_PID)}"
    GW_PID=""; NODE_PID=""
  fi
  finish
fi

# --- 6. the 25 lab checks -------------------------------------------------------------------
"$PY" "$SHARED_LAB/interop_checks.py" --url "ws://127.0.0.1:$PROXY_PORT" --token-file "$TOKEN_FILE" \
  --node "$DEVICE_ID" --wire "$WIRE_LOG" >"$LOGS/checks-$TS.log" 2>&1
checks_rc=$?
cat "$LOGS/checks-$TS.log"
p=$(grep -c '^PASS ' "$LOGS/checks-$TS.log"); f=$(grep -c '^FAIL ' "$LOGS/checks-$TS.log")
passed=$((passed + p)); failed=$((failed + f))
if [ "$checks_rc" -ne 0 ] && [ "$f" -eq 0 ]; then
  fail "interop_checks.py aborted (exit $checks_rc) after $p checks; see $LOGS/checks-$TS.log"
elif [ $((p + f)) -lt 25 ]; then
  fail "interop_checks.py ran only $((p + f)) of its 25 checks"
fi

# --- 6b. browser.proxy end to end: the gateway's browser.request routed to our node ---------
"$PY" "$HERE/browser_checks.py" --url "$GW_URL" --token-file "$TOKEN_FILE" --node "$DEVICE_ID" \
  --lab "$SHARED_LAB" >"$LOGS/browser-checks-$TS.log" 2>&1
browser_rc=$?
cat "$LOGS/browser-checks-$TS.log"
p=$(grep -c '^PASS ' "$LOGS/browser-checks-$TS.log"); f=$(grep -c '^FAIL ' "$LOGS/browser-checks-$TS.log")
passed=$((passed + p)); failed=$((failed + f))
if [ "$browser_rc" -ne 0 ] || [ $((p + f)) -lt 4 ]; then
  fail "browser_checks.py ran $((p + f)) of its 4 checks (exit $browser_rc); see $LOGS/browser-checks-$TS.log"
fi

# --- 7. `openclaw approvals --node`: edit through the gateway, edit takes effect ------------
approvals_check() {
  local snap orig allowdoc
  snap="$(oc approvals get --node "$DEVICE_ID" --json 2>"$LOGS/approvals-get.err")" \
    || { fail "openclaw approvals get --node: $(tail -3 "$LOGS/approvals-get.err")"; return; }
  echo "$snap" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert len(d.get("hash",""))==64 and d["file"]["version"]==1' \
    && pass "openclaw approvals get --node <id> returns the node's snapshot" \
    || { fail "openclaw approvals get --node: unexpected output: ${snap:0:300}"; return; }
  orig="$OCLAB_DIR/approvals-orig.json"
  echo "$snap" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); f=d["file"]; f.pop("socket",None); print(json.dumps(f))' >"$orig"
  allowdoc="$OCLAB_DIR/approvals-allowlist.json"
  echo '{"version":1,"defaults":{"security":"allowlist","ask":"off","askFallback":"deny"},"agents":{}}' >"$allowdoc"
  oc approvals set --node "$DEVICE_ID" --file "$allowdoc" --json >"$LOGS/approvals-set.out" 2>&1 \
    && pass "openclaw approvals set --node <id> --file (security=allowlist)" \
    || { fail "openclaw approvals set --node: $(tail -3 "$LOGS/approvals-set.out")"; return; }
  oc approvals allowlist add --node "$DEVICE_ID" --agent '*' "$ECHO_PATH" --json >"$LOGS/approvals-add.out" 2>&1 \
    && pass "openclaw approvals allowlist add --node <id> $ECHO_PATH" \
    || fail "openclaw approvals allowlist add: $(tail -3 "$LOGS/approvals-add.out")"
  local got
  got="$("${OCC[@]}" call exec.approvals.node.get --params "{\"nodeId\":\"$DEVICE_ID\"}" 2>/dev/null)"
  echo "$got" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)["file"]
pats = [e.get("pattern") for e in d.get("agents", {}).get("*", {}).get("allowlist", [])]
assert d["defaults"]["security"] == "allowlist" and sys.argv[1] in pats, (d, pats)' "$ECHO_PATH" \
    && pass "the node stored the CLI edit (security=allowlist, pattern $ECHO_PATH)" \
    || fail "node approvals after the CLI edit: ${got:0:300}"
  local r1 r2
  r1="$("${OCC[@]}" invoke --node "$DEVICE_ID" --command system.run --params '{"command":["echo","edited"],"agentId":"main"}' 2>&1)"
  grep -q '"stdout": "edited\\n"' <<<"$r1" \
    && pass "edit takes effect: allowlisted echo runs" \
    || fail "allowlisted echo after the CLI edit: ${r1:0:300}"
  r2="$("${OCC[@]}" invoke --node "$DEVICE_ID" --command system.run --params '{"command":["uname"],"agentId":"main"}' 2>&1)"
  grep -q 'SYSTEM_RUN_DENIED' <<<"$r2" \
    && pass "edit takes effect: non-allowlisted uname denied" \
    || fail "non-allowlisted uname after the CLI edit: ${r2:0:300}"
  oc approvals allowlist remove --node "$DEVICE_ID" --agent '*' "$ECHO_PATH" --json >/dev/null 2>&1
  r1="$("${OCC[@]}" invoke --node "$DEVICE_ID" --command system.run --params '{"command":["echo","edited"],"agentId":"main"}' 2>&1)"
  grep -q 'SYSTEM_RUN_DENIED' <<<"$r1" \
    && pass "openclaw approvals allowlist remove takes effect (echo denied again)" \
    || fail "echo after allowlist remove: ${r1:0:300}"
  oc approvals set --node "$DEVICE_ID" --file "$orig" --json >/dev/null 2>&1 \
    && pass "approvals restored with openclaw approvals set" \
    || fail "could not restore the node's approvals"
}
approvals_check

# --- 7a. the node protects itself through the real gateway ----------------------------------
# Even with security=full, a system.run (env override, no cwd: the node's own cwd) can neither
# read the device key nor the gateway token, nor change the approvals that decide later runs.
protection_check() {
  local full orig out before after
  orig="$OCLAB_DIR/approvals-orig-2.json"
  oc approvals get --node "$DEVICE_ID" --json 2>/dev/null \
    | "$PY" -c 'import json,sys; f=json.load(sys.stdin)["file"]; f.pop("socket",None); print(json.dumps(f))' >"$orig" \
    || { fail "protection: cannot snapshot the approvals"; return; }
  full="$OCLAB_DIR/approvals-full.json"
  echo '{"version":1,"defaults":{"security":"full","ask":"off"},"agents":{}}' >"$full"
  oc approvals set --node "$DEVICE_ID" --file "$full" --json >/dev/null 2>&1 \
    || { fail "protection: openclaw approvals set (security=full)"; return; }
  before="$(sha256sum "$STATE/exec-approvals.json" | cut -d' ' -f1)"
  out="$("${OCC[@]}" invoke --node "$DEVICE_ID" --command system.run --params \
    '{"command":["/bin/sh","-c","cat $HOME/.openclaw/identity/device.json; echo {} > $HOME/.openclaw/exec-approvals.json; echo p > $HOME/.profile; env; echo ran"],"env":{"LANG":"C"},"agentId":"main"}' 2>&1)"
  after="$(sha256sum "$STATE/exec-approvals.json" | cut -d' ' -f1)"
  if ! grep -q 'ran' <<<"$out"; then
    fail "protection: the run did not run: ${out:0:300}"
  elif grep -q 'PRIVATE KEY' <<<"$out" || grep -qF "$TOKEN" <<<"$out"; then
    fail "protection: a run through the gateway read the device key or the gateway token"
  elif [ "$before" != "$after" ] || [ -e "$NODE_HOME/.profile" ]; then
    fail "protection: a run through the gateway changed the approvals or planted ~/.profile"
  else
    pass "a security=full run through the gateway cannot read the device key or token, nor change the approvals or ~/.profile"
  fi
  oc approvals set --node "$DEVICE_ID" --file "$orig" --json >/dev/null 2>&1 \
    || fail "protection: could not restore the node's approvals"
}
protection_check

# --- 7b. gateway restart: the node comes back by itself and serves again -------------------
# The gateway process is stopped (SIGTERM to its process group) and started again with the same
# state; the node must leave `connected`, then be connected again (status file and
# `openclaw nodes`) within RECONNECT_BOUND seconds of the gateway being healthy (the backoff is
# capped at 30 s + 25 % jitter), with no operator action, and run a command through the gateway.
RECONNECT_BOUND="${RECONNECT_BOUND:-45}"
gateway_restart_check() {
  if [ -z "$GW_PID" ]; then
    echo "SKIP gateway restart (reusing a gateway this script did not start)"
    return
  fi
  kill -TERM -- "-$GW_PID" 2>/dev/null || kill -TERM "$GW_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$GW_PID" 2>/dev/null
  local t0=$SECONDS left=0
  while [ $((SECONDS - t0)) -lt 20 ]; do
    [ "$(status_state)" != "connected" ] && { left=1; break; }
    sleep 0.2
  done
  [ $left -eq 1 ] && pass "gateway stopped: node left state=connected ($(status_state))" \
    || fail "node-host-status.json still says connected 20 s after the gateway stopped"
  HOME="$GW_HOME" setsid openclaw gateway run --port "$GW_PORT" --verbose >"$LOGS/gateway-$TS-restart.log" 2>&1 &
  GW_PID=$!
  t0=$SECONDS
  until "${OCC[@]}" call health >/dev/null 2>&1; do
    kill -0 "$GW_PID" 2>/dev/null || { fail "gateway did not restart; see $LOGS/gateway-$TS-restart.log"; return; }
    [ $((SECONDS - t0)) -lt 120 ] || { fail "restarted gateway not ready after 120 s"; return; }
    sleep 0.5
  done
  t0=$SECONDS
  until [ "$(status_state)" = "connected" ] && connected_approved; do
    [ $((SECONDS - t0)) -lt "$RECONNECT_BOUND" ] || break
    sleep 0.5
  done
  if [ "$(status_state)" = "connected" ] && connected_approved; then
    pass "node reconnected by itself $((SECONDS - t0)) s after the gateway restart (bound ${RECONNECT_BOUND} s)"
  else
    fail "node not connected ${RECONNECT_BOUND} s after the gateway restart (state $(status_state))"
    return
  fi
  local f="$OCLAB_DIR/restart-approvals.json" out
  echo "{\"version\":1,\"defaults\":{\"security\":\"allowlist\",\"ask\":\"off\",\"askFallback\":\"deny\"},\"agents\":{\"*\":{\"allowlist\":[{\"pattern\":\"$ECHO_PATH\"}]}}}" >"$f"
  oc approvals set --node "$DEVICE_ID" --file "$f" --json >/dev/null 2>&1 \
    || fail "openclaw approvals set --node after the gateway restart"
  out="$("${OCC[@]}" invoke --node "$DEVICE_ID" --command system.run --params '{"command":["echo","after-restart"],"agentId":"main"}' 2>&1)"
  grep -q '"stdout": "after-restart\\n"' <<<"$out" \
    && pass "system.run through the restarted gateway" \
    || fail "system.run after the gateway restart: ${out:0:300}"
  [ -s "$OCLAB_DIR/approvals-orig.json" ] && oc approvals set --node "$DEVICE_ID" --file "$OCLAB_DIR/approvals-orig.json" --json >/dev/null 2>&1
}
gateway_restart_check

# --- 8. clean shutdown ----------------------------------------------------------------------
kill -TERM "$NODE_PID"
rc=""
for _ in $(seq 1 50); do
  if ! kill -0 "$NODE_PID" 2>/dev/null; then wait "$NODE_PID"; rc=$?; break; fi
  sleep 0.1
done
NODE_PID=""
[ "$rc" = "0" ] && pass "SIGTERM: node exits 0" || fail "SIGTERM: node exit status '${rc:-still running}'"
[ "$(status_state)" = "stopped" ] && pass "node-host-status.json state=stopped after SIGTERM" \
  || fail "status after SIGTERM: $(status_state)"
echo "logs: $LOGS (node-$TS.log, gateway-$TS.log, checks-$TS.log, wire-$TS.jsonl)"
finish
