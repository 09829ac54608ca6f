#!/usr/bin/env python3
"""End-to-end browser proxy checks through the REAL gateway: the operator calls the gateway's
`browser.request` with `target: "node"`, the gateway relays it to our node as a
`browser.proxy` invoke, our node drives a local headless Chromium and the result comes back.

Prints one PASS/FAIL line per check. Usage:
  browser_checks.py --url ws://127.0.0.1:PORT --token-file F --node NODE_ID --lab SHARED_LAB
"""
import argparse
import asyncio
import json
import os
import re
import sys


def record(ok, name, detail=""):
    print(("PASS " if ok else "FAIL ") + name + (f" -- {detail}" if detail else ""), flush=True)
    return ok


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--lab", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.lab)
    from occlient import Gateway, RpcError  # noqa: E402  (the lab's operator client)

    token = open(a.token_file).read().strip()
    async with Gateway(a.url, token) as gw:
        async def breq(params, timeout=60):
            return await gw.request(
                "browser.request", {**params, "target": "node", "node": a.node}, timeout=timeout
            )

        try:
            tabs = await breq({"method": "GET", "path": "/tabs"})
            record(
                isinstance(tabs.get("tabs"), list) and isinstance(tabs.get("running"), bool),
                "browser.request GET /tabs via node",
                json.dumps(tabs)[:200],
            )
        except RpcError as e:
            record(False, "browser.request GET /tabs via node", json.dumps(e.error)[:300])
        try:
            await breq({"method": "POST", "path": "/tabs/open", "body": {"url": "about:blank"}})
            shot = await breq({"method": "POST", "path": "/screenshot"})
            path = shot.get("path", "")
            png = False
            if path and os.path.isfile(path):
                with open(path, "rb") as fh:
                    png = fh.read(8) == b"\x89PNG\r\n\x1a\n"
            record(
                shot.get("ok") is True and png and bool(re.search(r"\.png$", path)),
                "browser.request POST /screenshot via node returns a PNG file",
                path,
            )
        except RpcError as e:
            record(False, "browser.request POST /screenshot via node", json.dumps(e.error)[:300])
        try:
            await breq({"method": "GET", "path": "/nope"})
            record(False, "browser.request unknown route is a 404 error")
        except RpcError as e:
            record(
                e.error.get("code") == "INVALID_REQUEST" and "Not Found" in e.error.get("message", ""),
                "browser.request unknown route is a 404 error",
                json.dumps(e.error)[:200],
            )
        try:
            stopped = await breq({"method": "POST", "path": "/stop"})
            record(stopped.get("ok") is True, "browser.request POST /stop via node", json.dumps(stopped)[:200])
        except RpcError as e:
            record(False, "browser.request POST /stop via node", json.dumps(e.error)[:300])


asyncio.run(main())
