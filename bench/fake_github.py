"""A fake GitHub REST API with a rate-limit budget, for the collection benchmark
(docs/PERFORMANCE.md#live-collection): an organisation with REPOS repositories
(each with two Actions secrets, a deploy key and no environments), MEMBERS
members, paged as GitHub pages (per_page, Link rel="next"), and a primary rate
limit of BUDGET requests per WINDOW seconds answered as GitHub does (403,
x-ratelimit-remaining: 0, x-ratelimit-reset).

  python3 fake_github.py PORT REPOS MEMBERS BUDGET WINDOW

Prints one line per rate-limit refusal count on exit (Ctrl-C).
"""
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, REPOS, MEMBERS, BUDGET, WINDOW = (int(a) for a in sys.argv[1:6])
lock = threading.Lock()
window = {"start": time.time(), "used": 0, "refused": 0, "served": 0}


def page(items, url, query):
    per = int(query.get("per_page", ["30"])[0])
    n = int(query.get("page", ["1"])[0])
    chunk = items[(n - 1) * per:n * per]
    link = None
    if n * per < len(items):
        q = dict(query)
        q["page"] = [str(n + 1)]
        link = f'<http://127.0.0.1:{PORT}{url}?{urllib.parse.urlencode(q, doseq=True)}>; rel="next"'
    return chunk, link


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: without this, Nagle and the
    # client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            now = time.time()
            if now - window["start"] >= WINDOW:
                window["start"], window["used"] = now, 0
            if window["used"] >= BUDGET:
                window["refused"] += 1
                reset = int(window["start"] + WINDOW)
                return self.answer(403, {"message": "API rate limit exceeded"},
                                   [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", str(reset))])
            window["used"] += 1
            window["served"] += 1
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if url.path == "/user":
            return self.answer(200, {"login": "bench"})
        if url.path == "/orgs/bench/members":
            items, link = page([{"login": f"user{i}", "id": i, "type": "User"} for i in range(MEMBERS)], url.path, query)
            return self.answer(200, items, [("Link", link)] if link else [])
        if url.path == "/orgs/bench/repos":
            items, link = page([{"id": i, "name": f"repo{i}", "full_name": f"bench/repo{i}"} for i in range(REPOS)],
                               url.path, query)
            return self.answer(200, items, [("Link", link)] if link else [])
        if url.path in ("/orgs/bench/teams",):
            return self.answer(200, [])
        if url.path == "/orgs/bench/actions/secrets":
            return self.answer(200, {"total_count": 0, "secrets": []})
        if len(parts) == 5 and parts[0] == "repos" and parts[3:] == ["actions", "secrets"]:
            return self.answer(200, {"total_count": 2, "secrets": [
                {"name": "DEPLOY_TOKEN", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"},
                {"name": "NPM_TOKEN", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}]})
        if len(parts) == 4 and parts[0] == "repos" and parts[3] == "keys":
            rid = parts[2][4:]
            return self.answer(200, [{"id": 100000 + int(rid), "key": "ssh-ed25519 AAAA", "title": "deploy",
                                      "url": f"https://api.github.com/repos/bench/{parts[2]}/keys/{100000 + int(rid)}",
                                      "read_only": True, "created_at": "2024-01-01T00:00:00Z", "verified": True,
                                      "added_by": None, "last_used": None}])
        if len(parts) == 4 and parts[0] == "repos" and parts[3] == "environments":
            return self.answer(200, {"total_count": 0, "environments": []})
        return self.answer(404, {"message": "Not Found"})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", PORT), Api)
server.daemon_threads = True
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
finally:
    print(json.dumps({"served": window["served"], "refused": window["refused"]}), flush=True)
