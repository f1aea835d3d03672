"""A real HTTP server on 127.0.0.1 for the download tests (the ``server`` fixture of tests/conftest.py)."""
from __future__ import annotations

import http.server
import threading

PAYLOAD = bytes(range(256)) * 4000  # 1 MB


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good serves the payload (with Range), /bad a corrupted copy, /dead 404, /cut half of it then
    drops the connection."""

    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).requests.append((self.path, self.headers.get("Range")))
        if self.path.startswith("/dead"):
            self.send_error(404)
            return
        body = PAYLOAD if not self.path.startswith("/bad") else PAYLOAD[:-1] + b"x"
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path.startswith("/cut"):
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the transfer breaks off
            return
        self.wfile.write(body[start:])


def serve():
    """Yields the server's base URL; stopped after."""
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
