#!/usr/bin/env python3
"""Regenerate the committed fuzz seed corpora (fuzz/corpus/<target>/) from the spec material.

Usage: scripts/fuzz-seeds.py [SPEC_DIR]   (default: $OPENCLAW_SPEC_DIR or ../shared/spec)

Sources:
  - SPEC_DIR/wire-transcript.jsonl     gateway frames, invoke params (system.run, .prepare,
                                       execApprovals.set, browser.proxy), approvals files
  - SPEC_DIR/browser-transcript.jsonl  browser.proxy params
  - SPEC_DIR/exec-approvals.md         §19 behaviour cases (argv:[…] / sh:"…" requests,
                                       allowlist patterns) and the §2 file shapes
  - policies/presets/*.json            the shipped approvals presets
  - AX_TREES below                      CDP accessibility trees shaped like the pages of the
                                        browser transcript (browser_snapshot)
  - fuzz/regressions/<target>/*        inputs of crashes found by fuzzing (kept forever)

Output is deterministic: each seed is named by the SHA-1 of its bytes (libFuzzer's convention),
every generated target directory is rewritten from scratch, and the same inputs always produce
the same files. CI uses the committed output and never needs SPEC_DIR.
"""

import hashlib
import json
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
REGRESSIONS = os.path.join(ROOT, "fuzz", "regressions")
MAX_SEED_BYTES = 16 * 1024
MAX_PER_TARGET = 300
TARGETS = [
    "approvals_file",
    "shell_analysis",
    "glob_vs_oracle",
    "gateway_frame",
    "system_run_params",
    "exec_approvals_set_params",
    "browser_proxy_params",
    "browser_snapshot",
]

seeds = {t: {} for t in TARGETS}


def add(target, data):
    if isinstance(data, (dict, list)):
        data = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or len(data) > MAX_SEED_BYTES:
        return
    seeds[target][hashlib.sha1(data).hexdigest()] = data


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def params_of_invoke(payload):
    """The params of a node.invoke(.request) as a value (paramsJSON decoded when it is JSON)."""
    if isinstance(payload.get("paramsJSON"), str):
        try:
            return json.loads(payload["paramsJSON"])
        except ValueError:
            return None
    return payload.get("params")


def route_params(command, params):
    if params is None:
        return
    if command in ("system.run", "system.run.prepare"):
        add("system_run_params", params)
        argv = params.get("command") if isinstance(params, dict) else None
        if isinstance(argv, list) and len(argv) == 3 and str(argv[1]).startswith("-") \
                and str(argv[1]).endswith("c") and isinstance(argv[2], str):
            add("shell_analysis", argv[2])
    elif command == "system.execApprovals.set":
        add("exec_approvals_set_params", params)
        if isinstance(params, dict) and isinstance(params.get("file"), dict):
            add("approvals_file", json.dumps(params["file"], indent=2))
    elif command == "browser.proxy":
        add("browser_proxy_params", params)


def invoke_event(command, params, n):
    return {
        "type": "event",
        "event": "node.invoke.request",
        "payload": {
            "id": f"seed-{n}",
            "nodeId": "0e106d536ca412240f868167f1b2a45ee7804107b3433bfe0a5c7326d7ab0d4e",
            "command": command,
            "paramsJSON": json.dumps(params, separators=(",", ":")),
            "timeoutMs": 30000,
            "idempotencyKey": f"k-{n}",
        },
        "seq": n,
    }


def from_wire(path):
    for rec in read_jsonl(path):
        frame = rec.get("frame")
        if rec.get("kind") != "text" or not isinstance(frame, dict):
            continue
        if rec.get("dir") == "s2c":
            add("gateway_frame", frame)
            if frame.get("event") == "node.invoke.request":
                p = frame.get("payload") or {}
                route_params(p.get("command"), params_of_invoke(p))
            if frame.get("type") == "res" and isinstance(frame.get("payload"), dict):
                f = frame["payload"].get("file")
                if isinstance(f, dict):
                    add("approvals_file", json.dumps(f, indent=2))
        elif rec.get("dir") == "c2s" and frame.get("type") == "req":
            p = frame.get("params") or {}
            if frame.get("method") == "node.invoke":
                route_params(p.get("command"), params_of_invoke(p))
            elif frame.get("method") == "exec.approvals.node.set":
                q = {k: v for k, v in p.items() if k != "nodeId"}
                add("exec_approvals_set_params", q)
                if isinstance(q.get("file"), dict):
                    add("approvals_file", json.dumps(q["file"], indent=2))


def from_browser(path):
    n = 0
    for rec in read_jsonl(path):
        params = rec.get("params")
        if not isinstance(params, dict):
            continue
        add("browser_proxy_params", params)
        n += 1
        if n % 8 == 0:  # a few as whole frames, too
            add("gateway_frame", invoke_event("browser.proxy", params, n))


def unescape_sh(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            out.append({"n": "\n", '"': '"', "\\": "\\", "`": "`"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


SH_RE = re.compile(r'sh:"((?:[^"\\]|\\.)*)"')
ARGV_RE = re.compile(r"argv:\[([^\]]*)\]")
AL_RE = re.compile(r"AL\{([^}]*)\}")


def from_cases(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.find("## 19. Behaviour cases")
    end = text.find("## 20.", start)
    cases = text[start:end] if start >= 0 else ""
    patterns = set()
    n = 0
    for line in cases.splitlines():
        for m in AL_RE.finditer(line):
            for p in m.group(1).split(","):
                p = p.strip()
                if p:
                    patterns.add(p)
        reqs = []
        for m in ARGV_RE.finditer(line):
            argv = [a.strip() for a in m.group(1).split(",") if a.strip()]
            if argv:
                reqs.append({"command": argv})
        for m in SH_RE.finditer(line):
            payload = unescape_sh(m.group(1))
            add("shell_analysis", payload)
            reqs.append({"command": ["/bin/sh", "-lc", payload], "rawCommand": payload})
        for r in reqs:
            n += 1
            add("system_run_params", r)
            if n % 3 == 0:
                add("system_run_params", dict(r, cwd="/tmp", timeoutMs=5000, agentId="main",
                                              sessionKey="agent:main:main", runId=f"run-{n}"))
            if n % 5 == 0:
                plan = {"argv": r["command"], "cwd": None, "commandText": " ".join(r["command"]),
                        "agentId": None, "sessionKey": None}
                add("system_run_params", dict(r, approved=True, approvalDecision="allow-once",
                                              systemRunPlan=plan))
            if n % 7 == 0:
                add("system_run_params", dict(r, env={"FOO": "bar", "PATH": "/tmp"}))
            if n % 9 == 0:
                add("gateway_frame", invoke_event("system.run", r, 1000 + n))
    for p in sorted(patterns):
        add("approvals_file", json.dumps(
            {"version": 1, "agents": {"main": {"allowlist": [p]}}}, indent=2))
        glob_seed(p)
    return sorted(patterns)


GLOB_ALPHA = ["a", "b", "/", "*", "?", ".", "[", "]", "{", "}", ",", "-", "\\", "!", "é"]


def glob_seed(pattern):
    """glob_vs_oracle input: [len] [pattern bytes as alphabet indices] [target driver bytes]."""
    body = pattern[1:] if pattern.startswith("/") else pattern
    idx = []
    for ch in body[:23]:
        if ch in GLOB_ALPHA:
            idx.append(GLOB_ALPHA.index(ch))
        elif ch.isalpha():
            idx.append(ord(ch) % 2)  # letters fold to a/b
        else:
            idx.append(GLOB_ALPHA.index("-"))
    data = bytes([len(idx)] + idx + [1, 2, 3, 5, 8, 13, 21, 34])
    add("glob_vs_oracle", data)


# Approvals file shapes from EA §2.2–§2.3 and the §19 cases (12–20, 136–144).
SPEC_FILES = [
    {"version": 1},
    {"version": 1, "socket": {"path": "  /tmp/s.sock ", "token": " t "}, "defaults": {},
     "agents": {}},
    {"version": 1, "defaults": {"security": "allowlist"}, "agents": {"main": {"security": "full"}}},
    {"version": 1, "agents": {"*": {"security": "deny"}}},
    {"version": 1, "agents": {"*": {"allowlist": ["/usr/bin/rg"]},
                              "main": {"allowlist": ["/usr/bin/jq"]}}},
    {"version": 1, "agents": {"default": {"allowlist": [{"pattern": "/usr/bin/rg"}]},
                              "main": {"allowlist": [{"pattern": "/USR/bin/rg "}]}}},
    {"version": 1, "agents": {"main": {"allowlist": ["/usr/bin/rg", {"pattern": "   "}, 5, None]}}},
    {"version": 1, "defaults": {"security": "allowlist", "ask": "on-miss", "askFallback": "deny",
                                "autoAllowSkills": True},
     "agents": {"main": {"allowlist": [{"id": "6f1c", "pattern": "/usr/bin/id",
                                        "lastUsedAt": 1795519646102,
                                        "lastUsedCommand": "id", "lastResolvedPath": "/usr/bin/id",
                                        "source": "allow-always", "argPattern": "^-u$",
                                        "commandText": "id -u"}],
                         "denylist": ["/usr/bin/rm", {"pattern": "/usr/bin/sudo"}]}},
     "managedDefaults": {"denylistVersion": 1}},
    {"version": 2, "defaults": {"security": "full"}, "agents": {}},
    {"version": 1, "defaults": {"security": " Allowlist ", "ask": "sometimes"}},
    {"version": 1, "agents": {"main": {"allowlist": [{"pattern": "~/bin/*"},
                                                     {"pattern": "/opt/**/tool"},
                                                     {"pattern": "C:\\tools\\x.exe"}]}}},
]


def from_spec_files():
    for f in SPEC_FILES:
        add("approvals_file", json.dumps(f, indent=2))
        add("approvals_file", json.dumps(f, separators=(",", ":")))
        add("exec_approvals_set_params", {"file": f, "baseHash": "0" * 64})
        add("exec_approvals_set_params", {"file": f})
    add("approvals_file", "not json")
    add("exec_approvals_set_params", {"baseHash": "abc"})
    add("exec_approvals_set_params", {"file": "not an object"})


def ax(node_id, role, name="", children=(), parent=None, backend=None, **extra):
    n = {"nodeId": node_id, "role": {"type": "role", "value": role},
         "name": {"type": "computedString", "value": name}, "childIds": list(children)}
    if parent is not None:
        n["parentId"] = parent
    if backend is not None:
        n["backendDOMNodeId"] = backend
    n.update(extra)
    return n


# Accessibility trees like those of the transcript's test pages (form, links, list, dialog).
AX_TREES = [
    [ax("1", "RootWebArea", "Test page", ["2", "3", "4"], backend=1),
     ax("2", "heading", "Hello", ["5"], "1", 10,
        properties=[{"name": "level", "value": {"type": "integer", "value": 1}}]),
     ax("5", "StaticText", "Hello", [], "2", 11),
     ax("3", "generic", "", ["6", "7"], "1", 12),
     ax("6", "textbox", "Name", [], "3", 13, value={"type": "string", "value": "x"}),
     ax("7", "button", "Submit", ["8"], "3", 14,
        properties=[{"name": "focusable", "value": {"type": "booleanOrUndefined", "value": True}}]),
     ax("8", "StaticText", "Submit", [], "7", 15),
     ax("4", "link", "Page 2", ["9"], "1", 16),
     ax("9", "StaticText", "Page 2", [], "4", 17)],
    [ax("1", "RootWebArea", "List", ["2"], backend=1),
     ax("2", "list", "", ["3", "4"], "1", 2),
     ax("3", "listitem", "", ["5"], "2", 3),
     ax("5", "checkbox", "one", [], "3", 4,
        properties=[{"name": "checked", "value": {"type": "tristate", "value": "true"}}]),
     ax("4", "listitem", "", ["6"], "2", 5, ignored=True),
     ax("6", "InlineTextBox", "two", [], "4", 6)],
    [ax("1", "RootWebArea", "Dialog", ["2"], backend=1),
     ax("2", "dialog", "Confirm", ["3", "4"], "1", 2),
     ax("3", "button", "OK", [], "2", 3),
     ax("4", "combobox", "Pick", ["5"], "2", 4),
     ax("5", "option", "A", [], "4", 5)],
]


def from_ax_trees():
    for tree in AX_TREES:
        text = json.dumps(tree, separators=(",", ":")).encode()
        for flags in (0x00, 0x01, 0x02, 0x07 | 0x40, 0x0F, 0x28):
            add("browser_snapshot", bytes([flags]) + text)


def from_presets():
    d = os.path.join(ROOT, "policies", "presets")
    if not os.path.isdir(d):
        return
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            add("approvals_file", data)
            try:
                add("exec_approvals_set_params", {"file": json.loads(data)})
            except ValueError:
                pass


def from_regressions():
    for t in TARGETS:
        d = os.path.join(REGRESSIONS, t)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                seeds[t][hashlib.sha1(data).hexdigest()] = data


def main():
    spec = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "OPENCLAW_SPEC_DIR", os.path.join(ROOT, "..", "shared", "spec"))
    spec = os.path.abspath(spec)
    for name in ("wire-transcript.jsonl", "browser-transcript.jsonl", "exec-approvals.md"):
        if not os.path.isfile(os.path.join(spec, name)):
            sys.exit(f"fuzz-seeds: {name} not found in {spec} (pass the spec directory)")
    from_wire(os.path.join(spec, "wire-transcript.jsonl"))
    from_browser(os.path.join(spec, "browser-transcript.jsonl"))
    from_cases(os.path.join(spec, "exec-approvals.md"))
    from_spec_files()
    from_presets()
    from_ax_trees()
    from_regressions()
    total = 0
    for t in TARGETS:
        items = sorted(seeds[t].items())
        if len(items) > MAX_PER_TARGET:
            # Keep regressions, then the smallest seeds (deterministic).
            items = sorted(items, key=lambda kv: (len(kv[1]), kv[0]))[:MAX_PER_TARGET]
        out = os.path.join(CORPUS, t)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        for name, data in items:
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        size = sum(len(d) for _, d in items)
        total += size
        print(f"fuzz-seeds: {t}: {len(items)} seeds, {size} bytes")
    print(f"fuzz-seeds: total {total} bytes")


if __name__ == "__main__":
    main()
