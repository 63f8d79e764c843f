"""The base of our fakes of external systems (PTT Pro servers, the entitlement back end):
JSON over real HTTP on 127.0.0.1, served from a daemon thread, for tests and the demo.

A subclass implements ``answer(method, raw_path, body, headers) -> (status, data)``; it is
called under ``self._lock``. ``data`` None sends an empty body, bytes are sent as they are
(a broken answer), anything else as JSON. ``requests`` lists every (method, raw path)
received, percent-encoding intact; ``down`` and ``delay`` may be set at any time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# Requests to these fakes are small objects; anything bigger is a client bug.
MAX_BODY = 64 * 1024


class LoopbackServer:
    thread_name = "fake"

    def __init__(self, *, port: int = 0, log: Callable[[str], None] | None = None) -> None:
        self.port = port
        self.log = log  # called with "METHOD /path -> status" for every request
        self.down = False  # subclasses answer 503 while it is set (an outage)
        self.delay = 0.0  # seconds waited before each answer (a slow server)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def answer(self, method: str, raw_path: str, body: bytes, headers: Message) -> tuple[int, Any]:
        raise NotImplementedError

    def start(self) -> Self:
        """Serve from a daemon thread until stop()."""
        if self._httpd is not None:
            return self
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]  # the one the OS picked for port 0
        self._thread = threading.Thread(
            # A short poll keeps stop() quick: shutdown() waits for the next poll.
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.thread_name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C interrupts it (the management commands)."""
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _Server(ThreadingHTTPServer):
    fake: LoopbackServer
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) leaves a broken pipe behind: not news.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        fake = self.server.fake
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True  # the body is left unread
            self._send(400, {"error": "bad Content-Length"})
            return
        body = self.rfile.read(length) if length else b""
        with fake._lock:
            fake.requests.append((self.command, self.path))
        if fake.delay:
            time.sleep(fake.delay)
        with fake._lock:
            status, data = fake.answer(self.command, self.path, body, self.headers)
        self._send(status, data)
        if fake.log:
            fake.log(f"{self.command} {self.path} -> {status}")

    def _send(self, status: int, data: Any) -> None:
        if data is None:
            payload = b""
        elif isinstance(data, bytes):
            payload = data
        else:
            payload = json.dumps(data).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        if data is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read .requests; a fake's log= callback reports each request
