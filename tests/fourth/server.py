"""Greeter's API, played by a loopback HTTP server in a thread (the CLI runs its own loop)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEY = "greeter-key"


class GreeterServer:
    """Creates cards; refuses a wrong key (401) and the ref ``taken`` (409, code GRT409)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                if self.path != "/cards":
                    self._answer(404, {"message": "no such route"})
                elif self.headers.get("X-Key") != KEY:
                    self._answer(401, {"message": "bad key"})
                elif body["ref"] == "taken":
                    self._answer(409, {"code": "GRT409", "message": "that card exists"})
                else:
                    with server._lock:
                        server.bodies.append(body)
                        number = len(server.bodies)
                    self._answer(201, {"card_id": f"card-{number}", "ref": body["ref"], "ink": 1})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def refs(self) -> list[str]:
        with self._lock:
            return [body["ref"] for body in self.bodies]

    @contextmanager
    def running(self) -> Iterator[GreeterServer]:
        thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
            thread.join()
