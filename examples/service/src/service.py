"""A small HTTP service for the catalog's pipelines to act on (stdlib only).

``GET /health`` answers ``{"status": "ok", "version": ...}`` (HTTP 200), or 500 when the
release is broken; ``GET /add?a=1&b=2`` answers ``{"sum": 3}``. Every request is logged, one
JSON line each, to ``$SERVICE_LOG`` (default: ``service.log`` next to the release); errors
have ``"level": "error"``.

    python service.py PORT     # serves on 127.0.0.1:PORT until killed
"""

from __future__ import annotations

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

HERE = Path(__file__).resolve().parent


def version() -> str:
    path = HERE / "VERSION"
    return path.read_text(encoding="utf-8").strip() if path.is_file() else "dev"


def healthy() -> bool:
    """A release is broken when it ships a BROKEN marker (the demo's bad release)."""
    return not (HERE / "BROKEN").exists()


def add(a: str, b: str) -> int:
    return int(a) + int(b)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            ok = healthy()
            self._send(
                200 if ok else 500, {"status": "ok" if ok else "broken", "version": version()}
            )
        elif url.path == "/add":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                self._send(200, {"sum": add(query["a"], query["b"])})
            except (KeyError, ValueError):
                self._send(400, {"error": "a and b must be integers"})
        else:
            self._send(404, {"error": "not found"})

    def _send(self, code: int, body: dict[str, object]) -> None:
        level = "error" if code >= 500 else "info"
        line = {"at": time.time(), "level": level, "path": self.path, "code": code}
        log_path = Path(os.environ.get("SERVICE_LOG", HERE / "service.log"))
        with log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return None


def main(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
