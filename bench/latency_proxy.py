"""A reverse proxy that adds a fixed delay to every request, for the live-collection
benchmark (docs/PERFORMANCE.md#live-collection): moto answers in a few milliseconds
from one Python process, AWS's APIs in tens of milliseconds from many servers. With
the delay in front, a collection's wall time shows how many calls it keeps in flight.

  python3 latency_proxy.py LISTEN_PORT UPSTREAM_URL DELAY_MS
"""
import http.client
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM, DELAY = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), float(sys.argv[3]) / 1000


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: without this, Nagle and the
    # client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True

    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(DELAY)
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = forward

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Proxy).serve_forever()
