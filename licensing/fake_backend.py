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
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlsplit

from core.loopback import LoopbackServer
from licensing.backend import API_PREFIX

ACCOUNTS_PREFIX = f"{API_PREFIX}/accounts/"
ENTITLEMENTS_SUFFIX = "/entitlements"
# A 200 answer cut off in the middle of its JSON (``malformed = True``).
TRUNCATED = b'{"account": "demo", "entitlements": [{"activationId": "A'


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


class FakeEntitlementBackend(LoopbackServer):
    """In-memory accounts behind real HTTP on 127.0.0.1 (see core.loopback).
    ``malformed`` may be set at any time, like ``down`` and ``delay``."""

    thread_name = "fake-entitlements"

    def __init__(
        self,
        *,
        token: str | None = None,
        accounts: Iterable[str] = (),
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(port=port, log=log)
        self.token = token or secrets.token_urlsafe(16)
        self.malformed = False
        self._accounts: dict[str, list[Any]] = {}
        for account in accounts:
            self.set_entitlements(account, [])

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

    def answer(self, method: str, raw_path: str, body: bytes, headers: Message) -> tuple[int, Any]:
        authorization = headers.get("Authorization", "")
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
            return 200, TRUNCATED
        return 200, {"account": account, "entitlements": copy.deepcopy(self._accounts[account])}
