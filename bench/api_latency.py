#!/usr/bin/env python3
"""Latency of `custody serve` as a client sees it (HTTP/1.1 keep-alive, one
connection, sequential requests). Standard library only.

Usage: api_latency.py URL TOKEN_FILE [N]
  e.g. api_latency.py http://127.0.0.1:8700 ~/.local/share/custody/api-token 200

Waits until /v1/health reports the graph loaded and every principal's reach
computed, picks N access keys through the API itself, then times each endpoint
over them and prints p50 / p99 / max in milliseconds.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def main(url, token_file, n=200):
    n = int(n)
    u = urllib.parse.urlparse(url)
    token = open(token_file).read().strip()
    conn = http.client.HTTPConnection(u.hostname, u.port)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def call(method, path, body=None):
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data)

    started = time.time()
    while True:
        h = call("GET", "/v1/health")
        if h.get("graph_loaded") and h.get("reach_computed"):
            break
        time.sleep(1)
    print(f"ready after {time.time() - started:.1f}s of waiting", file=sys.stderr)

    found = call("GET", f"/v1/nodes?label=aws_access_key&q=AKIA&limit={n}")
    keys = [row["key"] for row in found["rows"]]
    q = urllib.parse.quote
    cases = [
        ("GET /v1/nodes/KEY (show)", lambda k: call("GET", f"/v1/nodes/{q(k, safe='')}")),
        ("GET /v1/nodes/KEY/owner", lambda k: call("GET", f"/v1/nodes/{q(k, safe='')}/owner")),
        ("GET /v1/nodes/KEY/blast-radius?limit=20", lambda k: call("GET", f"/v1/nodes/{q(k, safe='')}/blast-radius?limit=20")),
        ("POST /v1/query (key lookup)", lambda k: call("POST", "/v1/query", {"query": "MATCH (n) WHERE n.key = $k RETURN n.key AS key, n.kind AS kind", "params": {"k": k}})),
        ("POST /v1/ask/surfaces", lambda k: call("POST", "/v1/ask/surfaces", {"params": {"credential": k}})),
        ("GET /v1/ask/leavers-active-keys", lambda k: call("GET", "/v1/ask/leavers-active-keys")),
    ]
    print(f"{'request':44} {'runs':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, f in cases:
        times = []
        for k in keys:
            t = time.perf_counter()
            f(k)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{name:44} {len(times):>5} {statistics.median(times):>8.2f} {p99:>8.2f} {times[-1]:>8.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
