#!/usr/bin/env python3
"""Server time of the web UI's answers, as the browser asks for them
(HTTP/1.1 keep-alive, one connection, sequential requests). Standard library
only.

Usage: ui_latency.py URL TOKEN_FILE [N]
  e.g. ui_latency.py http://127.0.0.1:8700 ~/.local/share/custody/api-token 200

Waits until /v1/health reports the graph loaded and every principal's reach
computed, warms the type-ahead index with one search, picks N access keys,
N people and N principals through the API, then times:

- type-ahead: every prefix a person types (2 characters up to the whole
  text, as the box sends after each keystroke) of each key id, ARN, e-mail
  and name, and of each credential's fingerprint short form;
- the identity page: every request the page makes for an access key (show,
  owner, blast radius, usage, findings, alerts, response plan, migration),
  timed one by one and summed — the page sends them at once, so the sum is
  an upper bound of its server time;
- the paths view of each key, and the person page of each person.

Prints p50 / p95 / p99 / max in milliseconds.
"""
import http.client
import json
import os
import sys
import time
import urllib.parse


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main(url, token_file, n=200):
    n = int(n)
    u = urllib.parse.urlparse(url)
    token = open(token_file).read().strip()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    headers = {"Authorization": "Bearer " + token}

    def call(path, ok=(200,)):
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status not in ok:
            raise SystemExit(f"GET {path}: {r.status} {data[:300]!r}")
        return json.loads(data) if r.status == 200 else None

    def timed(path, ok=(200,)):
        t = time.perf_counter()
        v = call(path, ok)
        return (time.perf_counter() - t) * 1000, v

    started = time.time()
    while True:
        h = call("/v1/health")
        if h.get("graph_loaded") and h.get("reach_computed"):
            break
        time.sleep(1)
    print(f"ready after {time.time() - started:.1f}s of waiting", file=sys.stderr)
    first, _ = timed("/v1/search?q=ak")
    first_findings, _ = timed("/v1/findings?limit=1")
    print(f"first search (builds the index): {first:.0f} ms; first findings page "
          f"(owners and environments of every finding): {first_findings:.0f} ms", file=sys.stderr)

    q = lambda s: urllib.parse.quote(s, safe="")
    keys = [r["key"] for r in call(f"/v1/nodes?label=aws_access_key&q=AKIA&limit={n}")["rows"]]
    people = [r["key"] for r in call(f"/v1/nodes?label=Human&q=@&limit={n}")["rows"]]
    roles = [r["key"] for r in call(f"/v1/nodes?label=aws_iam_role&q=arn&limit={n}")["rows"]]
    names = [r["name"] for r in call(f"/v1/nodes?label=Principal&q=a&limit={n}")["rows"] if r.get("name")]
    fps = []
    for k in keys[: n // 4]:
        node = call(f"/v1/nodes/{q(k)}")["node"]
        fps += [x.split(":", 1)[1][:16] for x in node.get("keys", []) if x.startswith("fp:")]

    texts = [k.split(":", 1)[1] for k in keys] + [p.split(":", 1)[1] for p in people] + roles + names + fps
    typed = []
    for t in texts:
        for i in range(2, len(t) + 1):
            typed.append(t[:i])
    ta = []
    # UI_BENCH_SKIP_TYPEAHEAD=1: only the pages (the type-ahead is the long part).
    if os.environ.get("UI_BENCH_SKIP_TYPEAHEAD"):
        typed = typed[:50]
    for s in typed:
        ms, r = timed(f"/v1/search?q={q(s)}&per_label=6")
        ta.append(ms)
    print(f"{'request':58} {'runs':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")

    def row(name, xs):
        print(f"{name:58} {len(xs):6} {pct(xs, 50):8.2f} {pct(xs, 95):8.2f} {pct(xs, 99):8.2f} {max(xs):8.2f}")

    row("GET /v1/search (type-ahead, every prefix typed)", ta)

    parts = {}
    page = []
    for k in keys:
        base = f"/v1/nodes/{q(k)}"
        total = 0.0
        for name, path, ok in [
            ("show", base, (200,)),
            ("owner", base + "/owner", (200,)),
            ("blast-radius?limit=50", base + "/blast-radius?limit=50", (200, 400)),
            ("usage", base + "/usage", (200, 404)),
            ("findings?identity=", f"/v1/findings?identity={q(k)}&limit=100", (200,)),
            ("alerts?identity=", f"/v1/alerts?since=5y&limit=1000&identity={q(k)}", (200,)),
            ("response-plan", base + "/response-plan?action=rotate", (200, 400)),
            ("migration", base + "/migration", (200, 400, 404)),
        ]:
            ms, _ = timed(path, ok)
            parts.setdefault(name, []).append(ms)
            total += ms
        page.append(total)
    for name, xs in parts.items():
        row("  identity page: " + name, xs)
    row("identity page: all its requests, summed", page)
    row("GET /v1/nodes/KEY/paths", [timed(f"/v1/nodes/{q(k)}/paths")[0] for k in keys])
    row("GET /v1/people/EMAIL", [timed(f"/v1/people/{q(p)}")[0] for p in people])
    row("GET /v1/findings?limit=100 (the findings page)", [timed("/v1/findings?limit=100&sort=owner")[0] for _ in range(20)])


if __name__ == "__main__":
    main(*sys.argv[1:])
