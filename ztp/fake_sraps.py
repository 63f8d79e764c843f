"""A Snom SRAPS on loopback, for tests and the demo (``manage.py run_fake_sraps``).

It serves the API documented in ztp.sraps under ``/api/v1`` and nothing more, keeps its
state in memory and checks every request's Hawk signature (MAC, payload hash, timestamp
window, replayed nonces), refusing a bad one with 401. The reseller's key manages child
companies and their access keys; a company's key manages that company's provisioning
profiles and endpoints. Lists are served two items a page unless ``page_size`` asks for
more (at most ``max_page_size``, 1,000 as at SRAPS), with ``Link: rel="next"``. A MAC of
another company is refused with 403 ``taken_mac_or_forbidden``.

    with FakeSraps() as sraps:
        adapter = SrapsAdapter(base_url=sraps.api_url, reseller_key_id=sraps.reseller_key_id,
                               reseller_secret=sraps.reseller_secret, timeout=5)
        account = adapter.onboard(reference="pm:acme", name="Acme", url="https://…{mac}")
        assert sraps.key_works(account.key_id)

``clock_offset`` puts the fake's clock ahead (or behind): a request outside its window
gets Hawk's stale-timestamp 401 with the signed server time (`tsm`). ``down = True``
answers 503 to everything; ``delay`` seconds are waited before each answer;
``malformed = True`` answers 200 with truncated JSON; ``fail(method, fragment, status)``
makes the next request whose method matches and whose path contains the fragment fail.
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
SETTINGS = [
    ("phone-settings", "user_name1"),
    ("phone-settings", "update_policy"),
    ("network", "dhcp"),
    ("phone-settings", "setting_server"),
    ("phone-settings", "language"),
]
_MAC = re.compile(r"[0-9a-f]{12}")


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


class FakeSraps(loopback.LoopbackServer):
    thread_name = "fake-sraps"

    def __init__(
        self,
        *,
        reseller_key_id: str | None = None,
        reseller_secret: str | None = None,
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(port=port, log=log)
        self.reseller_key_id = reseller_key_id or f"rk_{secrets.token_hex(8)}"
        self.reseller_secret = reseller_secret or secrets.token_urlsafe(24)
        self.reseller_company = uuid.uuid4().hex
        self.malformed = False
        self.max_page_size = 1000
        # Seconds this server's clock is ahead of the machine's (a client's clock adrift).
        self.clock_offset = 0
        self._failures: list[tuple[str, str, int]] = []
        self._nonces: set[tuple[str, str, str]] = set()
        self._keys: dict[str, tuple[str, str]] = {  # key id -> (secret, company)
            self.reseller_key_id: (self.reseller_secret, self.reseller_company)
        }
        self._companies: dict[str, dict[str, Any]] = {
            self.reseller_company: {
                "uuid": self.reseller_company,
                "name": "Reseller",
                "external_id": "",
                "parent": "",
            }
        }
        self._settings = [
            {"uuid": uuid.uuid4().hex, "param_name": name, "section": section}
            for section, name in SETTINGS
        ]
        self._profiles: dict[str, dict[str, Any]] = {}
        self._endpoints: dict[str, dict[str, Any]] = {}  # mac -> endpoint (with "company")

    # --- serving (core.loopback, with response headers) -----------------------------

    def start(self) -> FakeSraps:
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

    # --- state, for tests -------------------------------------------------------------

    def fail(self, method: str, fragment: str, status: int = 503) -> None:
        """The next `method` request whose path contains `fragment` answers `status`."""
        with self._lock:
            self._failures.append((method.upper(), fragment, status))

    def key_works(self, key_id: str) -> bool:
        with self._lock:
            return key_id in self._keys

    @property
    def companies(self) -> dict[str, dict[str, Any]]:
        """The reseller's child companies by uuid, a copy."""
        with self._lock:
            return {k: dict(v) for k, v in self._companies.items() if k != self.reseller_company}

    def keys_of(self, company: str) -> list[str]:
        with self._lock:
            return [key for key, (_s, owner) in self._keys.items() if owner == company]

    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """MAC (lower-case hex) -> endpoint, a copy."""
        with self._lock:
            return copy.deepcopy(self._endpoints)

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._profiles)

    def setting_uuid(self, name: str = "setting_server") -> str:
        return next(s["uuid"] for s in self._settings if s["param_name"] == name)

    def add_foreign_endpoint(self, mac: str) -> None:
        """A phone another SRAPS account owns."""
        with self._lock:
            other = uuid.uuid4().hex
            self._companies[other] = {"uuid": other, "name": "Elsewhere", "external_id": ""}
            self._endpoints[mac.lower()] = {"mac": mac.lower(), "company": other}

    # --- the API (called by the handler, under the lock) ------------------------------

    def answer(self, method: str, raw_path: str, body: bytes, headers: Message) -> tuple[int, Any]:
        if self.down:
            return 503, {"detail": "SRAPS is down for maintenance"}
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
            return 404, {"detail": f"no such endpoint {parts.path}"}
        data: Any = None
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                return 400, {"detail": "body is not JSON"}
        segments = [unquote(s) for s in parts.path[len(API_PREFIX) :].strip("/").split("/")]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        company_of_caller = self._keys[caller][1]
        return self._route(method, segments, query, data, caller, company_of_caller)

    def _route(self, method, segments, query, data, caller, own) -> tuple[int, Any]:
        match segments:
            case ["tokens", key_id] if method == "GET":
                if key_id != caller:
                    return 403, {"detail": "a key may only read itself"}
                return 200, {
                    "access_key_id": key_id,
                    "links": {"company": f"{self.api_url}/companies/{own}/"},
                }
            case ["settings"] if method == "GET":
                return self._page(self._settings, "settings/", query)
            case ["companies"]:
                if own != self.reseller_company:
                    return 403, {"detail": "only a reseller manages companies"}
                if method == "GET":
                    found = [
                        c
                        for c in self._companies.values()
                        if c.get("parent") == self.reseller_company
                        and c.get("external_id") == query.get("external_id", c.get("external_id"))
                    ]
                    return self._page(found, "companies/", query)
                if method == "POST":
                    return self._company_create(data)
            case ["companies", company, "access-keys"] if method == "POST":
                if own != self.reseller_company or company not in self._companies:
                    return 404, {"detail": "no such company"}
                key_id = f"ck_{secrets.token_hex(8)}"
                secret = secrets.token_urlsafe(24)
                self._keys[key_id] = (secret, company)
                return 201, {"access_key_id": key_id, "access_key_secret": secret}
            case ["companies", company, "access-keys", key_id] if method == "DELETE":
                if own != self.reseller_company:
                    return 403, {"detail": "only a reseller manages access keys"}
                if self._keys.get(key_id, ("", ""))[1] != company:
                    return 404, {"detail": "no such access key"}
                del self._keys[key_id]
                return 204, None
            case ["companies", company, "provisioning-profiles", *rest]:
                if own != company:
                    return 404, {"detail": "no such company"}
                return self._profiles_route(method, company, rest, data, query)
            case ["companies", company, "endpoints", mac]:
                if own != company:
                    return 404, {"detail": "no such company"}
                return self._endpoint_route(method, company, mac, data)
        return 404, {"detail": f"no such endpoint {'/'.join(segments)}"}

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

    def _company_create(self, data: Any) -> tuple[int, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return 400, {"detail": "a company needs a name"}
        reference = data.get("external_id", "")
        for company in self._companies.values():
            if reference and company.get("external_id") == reference:
                return 409, {"detail": f"a company with external_id {reference!r} exists"}
        company = {
            "uuid": uuid.uuid4().hex,
            "name": data["name"],
            "external_id": reference,
            "parent": self.reseller_company,
        }
        self._companies[company["uuid"]] = company
        return 201, dict(company)

    def _profiles_route(self, method, company, rest, data, query) -> tuple[int, Any]:
        path = f"companies/{company}/provisioning-profiles/"
        if not rest:
            if method == "GET":
                mine = [p for p in self._profiles.values() if p["company"] == company]
                return self._page(mine, path, query)
            if method == "POST":
                problem = self._profile_problem(data)
                if problem:
                    return 400, {"detail": problem}
                profile = {"uuid": uuid.uuid4().hex, "company": company, **data}
                self._profiles[profile["uuid"]] = profile
                return 201, copy.deepcopy(profile)
            return 405, {"detail": f"{method} not allowed"}
        profile = self._profiles.get(rest[0])
        if profile is None or profile["company"] != company or len(rest) > 1:
            return 404, {"detail": "no such provisioning profile"}
        if method == "GET":
            return 200, copy.deepcopy(profile)
        if method == "PUT":
            problem = self._profile_problem(data)
            if problem:
                return 400, {"detail": problem}
            profile.update(data)
            return 200, copy.deepcopy(profile)
        return 405, {"detail": f"{method} not allowed"}

    def _profile_problem(self, data: Any) -> str:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return "a provisioning profile needs a name"
        known = {s["uuid"] for s in self._settings}
        managed = data.get("settings_manager", {})
        if not isinstance(managed, dict) or not set(managed) <= known:
            return "settings_manager names unknown settings"
        return ""

    def _endpoint_route(self, method, company, mac, data) -> tuple[int, Any]:
        if not _MAC.fullmatch(mac):
            return 400, {"detail": f"{mac!r} is not a MAC address"}
        current = self._endpoints.get(mac)
        if current is not None and current["company"] != company:
            # The refusal the working clients match (its status is not published).
            return 403, {"detail": "taken_mac_or_forbidden"}
        if method == "GET":
            if current is None:
                return 404, {"detail": f"endpoint {mac} not found"}
            return 200, copy.deepcopy(current)
        if method == "DELETE":
            if current is None:
                return 404, {"detail": f"endpoint {mac} not found"}
            del self._endpoints[mac]
            return 204, None
        if method == "PUT":
            if not isinstance(data, dict) or data.get("mac") != mac:
                return 400, {"detail": "the body's mac must be the one in the path"}
            profile = data.get("provisioning_profile")
            if profile is not None and self._profiles.get(profile, {}).get("company") != company:
                return 400, {"detail": "no such provisioning profile"}
            known = {s["uuid"] for s in self._settings}
            managed = data.get("settings_manager", {})
            if not isinstance(managed, dict) or not set(managed) <= known:
                return 400, {"detail": "settings_manager names unknown settings"}
            endpoint = {**data, "company": company}
            self._endpoints[mac] = endpoint
            return (200 if current else 201), copy.deepcopy(endpoint)
        return 405, {"detail": f"{method} not allowed"}
