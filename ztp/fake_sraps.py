"""A Snom SRAPS and a Gigaset GRAPE on loopback, for tests and the demo
(``manage.py run_fake_sraps``, ``--grape`` for GRAPE).

They serve, under ``/api/v1``, the calls the working clients send (docs/ztp-sources.md)
and nothing more, in the shapes those clients read: ``GET tokens/{id}`` with the key's
company link, ``GET`` of that company with its endpoints link, the settings catalogue,
a company's endpoints listed, ``PUT`` (a full replace) and ``DELETE`` of one. State is
in memory; every request's Hawk signature is checked (MAC, payload hash, timestamp
window, replayed nonces), a bad one refused with 401. Lists are JSON arrays served two
items a page unless ``page_size`` asks for more (at most ``max_page_size``, 1,000 as at
SRAPS), with ``Link: rel="next"``. A MAC of another company is refused with 403
``taken_mac_or_forbidden``. There is no call that makes companies or keys: keys are made
here as in the vendor's front end, with ``add_key``.

    with FakeSraps() as sraps:
        adapter = SrapsAdapter(base_url=sraps.api_url, timeout=5)
        account = adapter.connect(key_id=sraps.key_id, secret=sraps.secret)

``clock_offset`` puts the fake's clock ahead (or behind): a request outside its window
gets Hawk's stale-timestamp 401 with the signed server time (`tsm`). ``down = True``
answers 503 to everything; ``delay`` seconds are waited before each answer;
``malformed = True`` answers 200 with truncated JSON; ``fail(method, fragment, status)``
makes the next request whose method matches and whose path contains the fragment fail.
``calls`` lists every (method, path, JSON body) received, for contract tests.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core import loopback
from ztp import hawk

API_PREFIX = "/api/v1/"
PAGE_SIZE = 2
TRUNCATED = b'{"uuid": "'
_MAC = re.compile(r"[0-9a-fA-F]{12}")
PERMS = {"RW", "R", "!", "V"}  # GIGAWiki: read-write, read, read and remain, volatile


@dataclass
class Answer:
    """A JSON answer with extra response headers (the Link header of a page)."""

    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(loopback._Handler):
    """core.loopback's handler, able to send the headers of an `Answer`."""

    _extra: tuple = ()

    def _send(self, status: int, data: Any) -> None:
        if isinstance(data, Answer):
            self._extra = tuple(data.headers.items())
            data = data.body
        super()._send(status, data)

    def end_headers(self) -> None:
        for name, value in self._extra:
            self.send_header(name, value)
        self._extra = ()
        super().end_headers()


class FakeHawkVendor(loopback.LoopbackServer):
    thread_name = "fake-hawk"
    label = ""
    # (section, param_name) of the settings catalogue; the provisioning one among them.
    settings_catalogue: tuple[tuple[str, str], ...] = ()

    def __init__(
        self,
        *,
        key_id: str | None = None,
        secret: str | None = None,
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(port=port, log=log)
        self.malformed = False
        self.max_page_size = 1000
        # Seconds this server's clock is ahead of the machine's (a client's clock adrift).
        self.clock_offset = 0
        self.calls: list[tuple[str, str, Any]] = []
        self._failures: list[tuple[str, str, int]] = []
        self._nonces: set[tuple[str, str, str]] = set()
        self._keys: dict[str, tuple[str, str]] = {}  # key id -> (secret, company)
        self._readers: set[str] = set()  # keys without a Role: reads only
        self._companies: dict[str, dict[str, Any]] = {}
        self._settings = [
            {"uuid": uuid.uuid4().hex, "param_name": name, "section": section}
            for section, name in self.settings_catalogue
        ]
        self._endpoints: dict[str, dict[str, Any]] = {}  # mac -> endpoint (with "company")
        self.company = self.add_company("Customer")
        self.key_id, self.secret = self.add_key(self.company, key_id=key_id, secret=secret)

    # --- serving (core.loopback, with response headers) -----------------------------

    def start(self):
        if self._httpd is not None:
            return self
        self._httpd = loopback._Server(("127.0.0.1", self.port), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.thread_name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    # --- state, for tests (as made in the vendor's front end) -------------------------

    def add_company(self, name: str) -> str:
        with self._lock:
            company = uuid.uuid4().hex
            self._companies[company] = {"uuid": company, "name": name}
            return company

    def add_key(
        self,
        company: str,
        *,
        key_id: str | None = None,
        secret: str | None = None,
        role: bool = True,
    ) -> tuple[str, str]:
        """A key of `company`, as the front end makes one: (key id, secret). Without a
        `role` it reads but may not change endpoints (403), as a key with no Role."""
        with self._lock:
            key_id = key_id or f"key_{secrets.token_hex(8)}"
            secret = secret or secrets.token_urlsafe(24)
            self._keys[key_id] = (secret, company)
            if not role:
                self._readers.add(key_id)
            return key_id, secret

    def delete_key(self, key_id: str) -> None:
        with self._lock:
            self._keys.pop(key_id, None)

    def fail(self, method: str, fragment: str, status: int = 503) -> None:
        """The next `method` request whose path contains `fragment` answers `status`."""
        with self._lock:
            self._failures.append((method.upper(), fragment, status))

    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """MAC (lower-case hex) -> endpoint, a copy."""
        with self._lock:
            return copy.deepcopy(self._endpoints)

    def setting_uuid(self, name: str | None = None) -> str:
        name = name or self.server_setting
        return next(s["uuid"] for s in self._settings if s["param_name"] == name)

    @property
    def server_setting(self) -> str:
        return self.settings_catalogue[-1][1]

    def url_of(self, mac: str) -> str | None:
        """The provisioning URL an endpoint holds, or None."""
        endpoint = self.endpoints.get(mac.lower())
        if endpoint is None:
            return None
        managed = endpoint.get("settings_manager", {}).get(self.setting_uuid(), {})
        return managed.get("value")

    def add_foreign_endpoint(self, mac: str) -> None:
        """A phone another company owns."""
        other = self.add_company("Elsewhere")
        with self._lock:
            self._endpoints[mac.lower()] = {"mac": mac.lower(), "company": other}

    def remove_endpoint(self, mac: str) -> None:
        """A phone removed in the vendor's front end."""
        with self._lock:
            self._endpoints.pop(mac.lower(), None)

    # --- the API (called by the handler, under the lock) ------------------------------

    def answer(self, method: str, raw_path: str, body: bytes, headers: Message) -> tuple[int, Any]:
        if self.down:
            return 503, {"detail": f"{self.label} is down for maintenance"}
        parts = urlsplit(raw_path)
        for index, (fail_method, fragment, status) in enumerate(self._failures):
            if fail_method == method and fragment in parts.path:
                del self._failures[index]
                return status, {"detail": f"injected failure {status}"}
        host, _, port = (headers.get("Host") or "").partition(":")
        now = time.time() + self.clock_offset
        try:
            caller = hawk.verify(
                header=headers.get("Authorization", ""),
                method=method,
                resource=raw_path,
                host=host,
                port=int(port or 80),
                body=body,
                content_type=headers.get("Content-Type", ""),
                key_for={key: secret for key, (secret, _c) in self._keys.items()},
                seen_nonces=self._nonces,
                now=now,
            )
        except hawk.StaleTimestamp:
            # As the Hawk specification answers it: the server's time, signed with the key.
            key_id = hawk.parse(headers.get("Authorization", ""))["id"]
            stale = hawk.stale_header(self._keys[key_id][0], now)
            return 401, Answer({"detail": "Stale timestamp"}, headers={"WWW-Authenticate": stale})
        except (hawk.HawkError, ValueError) as exc:
            return 401, {"detail": f"Hawk authentication failed: {exc}"}
        if self.malformed:
            return 200, TRUNCATED
        if not parts.path.startswith(API_PREFIX):
            return 404, {"detail": "Not found."}
        data: Any = None
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                return 400, {"detail": "body is not JSON"}
        self.calls.append((method, parts.path, copy.deepcopy(data)))
        segments = [unquote(s) for s in parts.path[len(API_PREFIX) :].strip("/").split("/")]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return self._route(method, segments, query, data, caller, self._keys[caller][1])

    def _route(self, method, segments, query, data, caller, own) -> tuple[int, Any]:
        match segments:
            case ["tokens", key_id] if method == "GET":
                if key_id != caller:
                    return 403, {"detail": "You do not have permission to perform this action."}
                return 200, {"links": {"company": f"{self.api_url}/companies/{own}/"}}
            case ["settings"] if method == "GET":
                return self._page(self._settings, "settings/", query)
            case ["companies", company] if method == "GET":
                if company != own:
                    return 404, {"detail": "Not found."}
                return 200, {
                    **self._companies[own],
                    "links": {"endpoints": f"{self.api_url}/companies/{own}/endpoints/"},
                }
            case ["companies", company, "endpoints"] if method == "GET":
                if company != own:
                    return 404, {"detail": "Not found."}
                mine = [_listed(e) for e in self._endpoints.values() if e["company"] == own]
                return self._page(mine, f"companies/{own}/endpoints/", query)
            case ["companies", company, "endpoints", mac] if method in {"PUT", "DELETE"}:
                if company != own:
                    return 404, {"detail": "Not found."}
                if caller in self._readers:
                    return 403, {"detail": "You do not have permission to perform this action."}
                return self._endpoint_route(method, own, mac.lower(), data)
        return 404, {"detail": "Not found."}

    def _page(self, items: list, path: str, query: dict[str, str]) -> tuple[int, Any]:
        # As SRAPS pages (per the clients that read its settings catalogue): `page_size`
        # up to a maximum (1,000 there), a small default, the next page in a Link header.
        try:
            page = max(int(query.get("page", "1")), 1)
            size = min(max(int(query.get("page_size", PAGE_SIZE)), 1), self.max_page_size)
        except ValueError:
            return 400, {"detail": "page and page_size must be numbers"}
        start = (page - 1) * size
        chunk = copy.deepcopy(items[start : start + size])
        links = {}
        if start + size < len(items):
            rest = "".join(f"&{k}={v}" for k, v in query.items() if k != "page")
            links["Link"] = f'<{self.api_url}/{path}?page={page + 1}{rest}>; rel="next"'
        return 200, Answer(chunk, links)

    def _endpoint_route(self, method, company, mac, data) -> tuple[int, Any]:
        if not _MAC.fullmatch(mac):
            return 400, {"mac": [f"{mac!r} is not a valid MAC address."]}
        current = self._endpoints.get(mac)
        if current is not None and current["company"] != company:
            # The refusal the working clients match (its status is not published).
            return 403, {"detail": "taken_mac_or_forbidden"}
        if method == "DELETE":
            if current is None:
                return 404, {"detail": "Not found."}
            del self._endpoints[mac]
            return 204, None
        problem = self._endpoint_problem(mac, data)
        if problem:
            return 400, problem
        endpoint = {**data, "mac": mac, "company": company}
        self._endpoints[mac] = endpoint  # a full replace: what is left out is gone
        return (200 if current else 201), _listed(endpoint)

    def _endpoint_problem(self, mac: str, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, dict) or str(data.get("mac", "")).lower() != mac:
            return {"mac": ["The body's mac must be the one in the path."]}
        if not isinstance(data.get("autoprovisioning_enabled"), bool):
            return {"autoprovisioning_enabled": ["Must be a boolean."]}
        known = {s["uuid"] for s in self._settings}
        managed = data.get("settings_manager", {})
        if not isinstance(managed, dict) or not set(managed) <= known:
            return {"settings_manager": ["Unknown setting."]}
        for entry in managed.values():
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("value"), str)
                or not isinstance(entry.get("attrs"), dict)
                or entry["attrs"].get("perm") not in PERMS
            ):
                return {"settings_manager": ["Each setting needs a value and attrs.perm."]}
        return {}


def _listed(endpoint: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as a list shows it: its MAC and flags (no source shows more)."""
    return {
        "mac": endpoint["mac"],
        "autoprovisioning_enabled": endpoint.get("autoprovisioning_enabled", True),
    }


class FakeSraps(FakeHawkVendor):
    thread_name = "fake-sraps"
    label = "SRAPS"
    # Two settings are named setting_server; the redirection one is in phone-settings (A).
    settings_catalogue = (
        ("phone-settings", "user_name1"),
        ("network", "setting_server"),
        ("phone-settings", "update_policy"),
        ("network", "dhcp"),
        ("phone-settings", "language"),
        ("phone-settings", "setting_server"),
    )

    def setting_uuid(self, name: str | None = None) -> str:
        name = name or "setting_server"
        return next(
            s["uuid"]
            for s in self._settings
            if s["param_name"] == name
            and (name != "setting_server" or s["section"] == "phone-settings")
        )


class FakeGrape(FakeHawkVendor):
    thread_name = "fake-grape"
    label = "GRAPE"
    settings_catalogue = (
        ("", "SipAccount1"),
        ("", "Language"),
        ("", "TimeZone"),
        ("", "ProvisioningServer"),
    )
