"""An entitlement back end on loopback, for tests and the demo
(``manage.py run_fake_entitlements``).

It implements the API documented in ``licensing.backend`` and nothing more: a wrong or
missing bearer token is 401 and an account it was never told about is 404, each with
``{"error": text}``. Entries are served exactly as given to ``set_entitlements()``, unchecked,
so a test can hand the client any malformed entry it likes.

    with FakeEntitlementBackend() as backend:
        backend.set_entitlements("acme", [entry("A-1", quantity=20)])
        HttpEntitlementSource(backend.url, backend.token).fetch("acme")

``down = True`` answers 503 to everything (an outage); ``malformed = True`` answers 200 with
truncated JSON; ``delay`` seconds are waited before each answer (a slow back end).
"""

from __future__ import annotations

import copy
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from licensing.backend import API_PREFIX

ACCOUNTS_PREFIX = f"{API_PREFIX}/accounts/"
ENTITLEMENTS_SUFFIX = "/entitlements"


def entry(
    activation_id: str,
    *,
    license_type: str = "standard",
    term: str = "1 Year Term",
    quantity: int = 1,
    expiration: datetime | None = None,
) -> dict[str, Any]:
    """One entitlement in wire format; expires in a year unless told otherwise."""
    expiration = expiration or datetime.now(UTC) + timedelta(days=365)
    return {
        "activationId": activation_id,
        "licenseType": license_type,
        "term": term,
        "quantity": quantity,
        "expiration": expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def demo_entitlements(account: str, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The demo's license pool: two Standard lines and a Premium trial that ends soon."""
    now = now or datetime.now(UTC)
    prefix = "".join(c for c in account.upper() if c.isalnum())[:12] or "DEMO"
    return [
        entry(
            f"{prefix}-STD-0001",
            term="1 Year Term",
            quantity=20,
            expiration=now + timedelta(days=200),
        ),
        entry(
            f"{prefix}-PRM-0001",
            license_type="premium",
            term="Trial",
            quantity=5,
            expiration=now + timedelta(days=20),
        ),
        entry(
            f"{prefix}-STD-0002",
            term="5 Year Term",
            quantity=10,
            expiration=now + timedelta(days=400),
        ),
    ]


class FakeEntitlementBackend:
    """In-memory accounts behind real HTTP on 127.0.0.1.

    ``requests`` lists every (method, raw path) received, percent-encoding intact; ``down``,
    ``malformed`` and ``delay`` may be set at any time, also while the server runs."""

    def __init__(
        self,
        *,
        token: str | None = None,
        accounts: Iterable[str] = (),
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.token = token or secrets.token_urlsafe(16)
        self.port = port
        self.log = log  # called with "METHOD /path -> status" for every request
        self.down = False
        self.malformed = False
        self.delay = 0.0
        self.requests: list[tuple[str, str]] = []
        self._accounts: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        for account in accounts:
            self.set_entitlements(account, [])

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeEntitlementBackend:
        """Serve from a daemon thread until stop()."""
        if self._httpd is not None:
            return self
        httpd = _Server(("127.0.0.1", self.port), _Handler)
        httpd.fake = self
        self.port = httpd.server_address[1]  # the one the OS picked for port 0
        self._httpd = httpd
        self._thread = threading.Thread(
            # A short poll keeps stop() quick: shutdown() waits for the next poll.
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-entitlements-{self.port}",
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
        """Block until the server stops; Ctrl-C interrupts it (the management command)."""
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeEntitlementBackend:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- state ----------------------------------------------------------------------------

    def set_entitlements(self, account: str, entries: Iterable[Any]) -> None:
        """Replace the account's entitlements (wire-format dicts, served as given); the
        account becomes known even with an empty list."""
        with self._lock:
            self._accounts[account] = copy.deepcopy(list(entries))

    def remove_account(self, account: str) -> None:
        """Forget the account: it answers 404 again."""
        with self._lock:
            self._accounts.pop(account, None)

    @property
    def accounts(self) -> dict[str, list[Any]]:
        """Account -> entries, a copy."""
        with self._lock:
            return copy.deepcopy(self._accounts)

    # --- the API (called by the handler, under the lock) ----------------------------------

    def _answer(self, method: str, raw_path: str, authorization: str) -> tuple[int, Any]:
        if self.down:
            return 503, {"error": "entitlement back end is down for maintenance"}
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.encode(), self.token.encode()
        ):
            return 401, {"error": "invalid bearer token"}
        path = urlsplit(raw_path).path
        segment = path.removeprefix(ACCOUNTS_PREFIX).removesuffix(ENTITLEMENTS_SUFFIX)
        if (
            not path.startswith(ACCOUNTS_PREFIX)
            or not path.endswith(ENTITLEMENTS_SUFFIX)
            or not segment
            or "/" in segment
        ):
            return 404, {"error": f"no such endpoint {path}"}
        if method != "GET":
            return 405, {"error": f"{method} not allowed"}
        account = unquote(segment)
        if account not in self._accounts:
            return 404, {"error": f"account {account!r} not found"}
        if self.malformed:
            return 200, _Truncated()
        return 200, {"account": account, "entitlements": copy.deepcopy(self._accounts[account])}


class _Truncated:
    """A 200 answer cut off in the middle of its JSON."""

    payload = b'{"account": "demo", "entitlements": [{"activationId": "A'


class _Server(ThreadingHTTPServer):
    fake: FakeEntitlementBackend
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) leaves a broken pipe behind: not news.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        fake = self.server.fake
        # No request of this API has a body; one that came anyway is left unread, and the
        # connection is closed after the answer so it is not read as the next request.
        if self.headers.get("Content-Length") not in (None, "0"):
            self.close_connection = True
        with fake._lock:
            fake.requests.append((self.command, self.path))
        if fake.delay:
            time.sleep(fake.delay)
        with fake._lock:
            status, data = fake._answer(
                self.command, self.path, self.headers.get("Authorization", "")
            )
        self._send(status, data)
        if fake.log:
            fake.log(f"{self.command} {self.path} -> {status}")

    def _send(self, status: int, data: Any) -> None:
        payload = data.payload if isinstance(data, _Truncated) else json.dumps(data).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read .requests; FakeEntitlementBackend(log=...) reports each request
