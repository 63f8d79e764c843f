"""Yealink's YMCS (its RPS part) on loopback, for tests and the demo (``manage.py
run_fake_ymcs``).

It serves the API documented in ztp.ymcs and nothing more, with state in memory: OAuth 2.0
client credentials at ``/v2/token`` (HTTP Basic), bearer tokens on every other call, the
``timestamp`` and ``nonce`` headers required, and refusals as ``{"code", "message"}``. The
reseller's client manages sites and their API keys; a site's client manages that site's
RPS servers and devices. A MAC belongs to one site: another site's ``addDevicesByMac``
reports error code 800004.

``down = True`` answers 503 to everything; ``delay`` seconds are waited before each answer;
``malformed = True`` answers 200 with truncated JSON; ``fail(method, fragment, status)``
makes the next request whose method matches and whose path contains the fragment fail.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import re
import secrets
from collections.abc import Callable
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlsplit

from core.loopback import LoopbackServer

TRUNCATED = b'{"access_token": "'
_MAC = re.compile(r"[0-9a-f]{12}")


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str]]:
    return status, {"code": code, "message": message, "requestId": secrets.token_hex(8)}


class FakeYmcs(LoopbackServer):
    thread_name = "fake-ymcs"

    def __init__(
        self,
        *,
        reseller_client_id: str | None = None,
        reseller_secret: str | None = None,
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(port=port, log=log)
        self.reseller_client_id = reseller_client_id or f"rc{secrets.token_hex(8)}"
        self.reseller_secret = reseller_secret or secrets.token_urlsafe(24)
        self.malformed = False
        self._failures: list[tuple[str, str, int]] = []
        self._clients: dict[str, tuple[str, str]] = {  # client id -> (secret, site or "")
            self.reseller_client_id: (self.reseller_secret, "")
        }
        self._tokens: dict[str, str] = {}  # access token -> client id
        self._sites: dict[str, dict[str, Any]] = {}
        self._servers: dict[str, dict[str, Any]] = {}
        self._devices: dict[str, dict[str, Any]] = {}  # mac -> device (with "site")

    # --- state, for tests -------------------------------------------------------------

    def fail(self, method: str, fragment: str, status: int = 503) -> None:
        with self._lock:
            self._failures.append((method.upper(), fragment, status))

    def key_works(self, client_id: str) -> bool:
        with self._lock:
            return client_id in self._clients

    def keys_of(self, site: str) -> list[str]:
        with self._lock:
            return [c for c, (_s, owner) in self._clients.items() if owner == site]

    @property
    def companies(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._sites)

    @property
    def devices(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._devices)

    @property
    def servers(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._servers)

    def add_foreign_device(self, mac: str) -> None:
        with self._lock:
            self._devices[mac.lower()] = {"id": secrets.token_hex(8), "mac": mac, "site": "other"}

    # --- the API (called by the handler, under the lock) ------------------------------

    def answer(self, method: str, raw_path: str, body: bytes, headers: Message) -> tuple[int, Any]:
        if self.down:
            return _error(503, "900503", "Service unavailable")
        path = urlsplit(raw_path).path
        for index, (fail_method, fragment, status) in enumerate(self._failures):
            if fail_method == method and fragment in path:
                del self._failures[index]
                return _error(status, f"900{status}", f"injected failure {status}")
        if not headers.get("timestamp", "").isdigit() or len(headers.get("nonce", "")) < 8:
            return _error(400, "900400", "the timestamp and nonce headers are required")
        data: Any = {}
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                return _error(400, "900400", "body is not JSON")
        if path == "/v2/token" and method == "POST":
            return self._token(headers.get("Authorization", ""), data)
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        client = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if client is None or client not in self._clients:
            return _error(401, "900401", "not logged in or session expired")
        if self.malformed:
            return 200, TRUNCATED
        site = self._clients[client][1]
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if not isinstance(data, dict):
            return _error(400, "900400", "body must be an object")
        if segments[:2] == ["v2", "dm"]:
            if site:
                return _error(403, "900403", "only the reseller manages sites")
            return self._sites_route(method, segments[2:], data)
        if segments[:2] == ["v2", "rps"]:
            if not site:
                return _error(403, "900403", "RPS calls need a site's credentials")
            return self._rps_route(method, segments[2:], data, site)
        return _error(404, "900404", f"no such endpoint {path}")

    def _token(self, authorization: str, data: Any) -> tuple[int, Any]:
        scheme, _, encoded = authorization.partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        known = self._clients.get(client_id)
        if (
            scheme.lower() != "basic"
            or known is None
            or not hmac.compare_digest(known[0].encode(), secret.encode())
        ):
            return 401, {"error": "invalid_client", "message": "invalid client credentials"}
        if not isinstance(data, dict) or data.get("grant_type") != "client_credentials":
            return _error(400, "70011", "Invalid grant_type")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = client_id
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 7200}

    def _page(self, items: list[dict[str, Any]], data: dict[str, Any]) -> tuple[int, Any]:
        skip, limit = data.get("skip", 0), data.get("limit", 10)
        if not isinstance(skip, int) or not isinstance(limit, int) or not 1 <= limit <= 500:
            return _error(400, "900400", "skip and limit must be numbers, limit 1 to 500")
        public = [{k: v for k, v in i.items() if k != "site"} for i in items]
        return 200, {
            "skip": skip,
            "limit": limit,
            "total": len(items),
            "data": public[skip : skip + limit],
        }

    def _filtered(self, items, data: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = data.get("filter") or {}
        return [i for i in items if all(i.get(k) == v for k, v in wanted.items())]

    def _sites_route(self, method: str, rest: list[str], data: dict) -> tuple[int, Any]:
        match rest:
            case ["listSites"] if method == "POST":
                return self._page(self._filtered(list(self._sites.values()), data), data)
            case ["sites"] if method == "POST":
                if not isinstance(data.get("name"), str) or not data["name"]:
                    return _error(400, "900400", "a site needs a name")
                site = {
                    "id": secrets.token_hex(16),
                    "name": data["name"],
                    "externalId": data.get("externalId", ""),
                }
                self._sites[site["id"]] = site
                return 200, dict(site)
            case ["sites", site, "apiKeys"] if method == "POST":
                if site not in self._sites:
                    return _error(404, "900404", "no such site")
                client_id = f"sc{secrets.token_hex(8)}"
                secret = secrets.token_urlsafe(24)
                self._clients[client_id] = (secret, site)
                return 200, {"clientId": client_id, "clientSecret": secret}
            case ["sites", site, "apiKeys", client_id] if method == "DELETE":
                if self._clients.get(client_id, ("", ""))[1] != site or not site:
                    return _error(404, "900404", "no such API key")
                del self._clients[client_id]
                return 204, None
        return _error(404, "900404", "no such endpoint")

    def _rps_route(self, method: str, rest: list[str], data: dict, site: str) -> tuple[int, Any]:
        mine = [s for s in self._servers.values() if s["site"] == site]
        match rest:
            case ["listServers"] if method == "POST":
                return self._page(self._filtered(mine, data), data)
            case ["servers"] if method == "POST":
                name, url = data.get("serverName"), data.get("url")
                if not isinstance(name, str) or not 0 < len(name) <= 20 or not isinstance(url, str):
                    return _error(400, "900400", "serverName (1 to 20 characters) and url needed")
                server = {"id": secrets.token_hex(16), "name": name, "url": url, "site": site}
                self._servers[server["id"]] = server
                return 200, {k: v for k, v in server.items() if k != "site"}
            case ["servers", server_id] if method == "PATCH":
                # As YMCS answers (docs/ztp-sources.md): an unknown id is 400 900400, and
                # an update names both serverName and url.
                server = self._servers.get(server_id)
                if server is None or server["site"] != site:
                    return _error(400, "900400", "server not found")
                name, url = data.get("serverName"), data.get("url")
                if not isinstance(name, str) or not 0 < len(name) <= 20 or not isinstance(url, str):
                    return _error(400, "900400", "serverName (1 to 20 characters) and url needed")
                server.update(name=name, url=url)
                return 200, {k: v for k, v in server.items() if k != "site"}
            case ["addDevicesByMac"] if method == "POST":
                return self._add_devices(data, site)
            case ["listDevices"] if method == "POST":
                own = [d for d in self._devices.values() if d["site"] == site]
                return self._page(self._filtered(own, data), data)
            case ["devices", device_id] if method == "PATCH":
                found = [d for d in self._devices.values() if d["id"] == device_id]
                if not found or found[0]["site"] != site:
                    return _error(404, "900404", "no such device")
                for key in ("serverId", "uniqueServerUrl"):
                    if key in data:
                        found[0][key] = data[key]
                return 200, {k: v for k, v in found[0].items() if k != "site"}
            case ["delDevices"] if method == "POST":
                ids = data.get("deviceIds")
                if data.get("deviceIdType") != "mac" or not isinstance(ids, list):
                    return _error(400, "900400", "deviceIdType mac and deviceIds needed")
                errors = []
                for mac in ids:
                    device = self._devices.get(str(mac).lower())
                    if device is None or device["site"] != site:
                        errors.append({"field": str(mac), "msg": "device not found"})
                    else:
                        del self._devices[str(mac).lower()]
                return 200, {
                    "total": len(ids),
                    "successCount": len(ids) - len(errors),
                    "failureCount": len(errors),
                    "errors": errors,
                }
        return _error(404, "900404", "no such endpoint")

    def _add_devices(self, data: dict, site: str) -> tuple[int, Any]:
        devices = data.get("devices")
        if not isinstance(devices, list) or not 0 < len(devices) <= 100:
            return _error(400, "800006", "1 to 100 devices per call")
        errors = []
        for device in devices:
            mac = str(device.get("mac", "")).lower() if isinstance(device, dict) else ""
            if not _MAC.fullmatch(mac):
                errors.append({"mac": mac, "code": "800001", "errorInfo": "Invalid MAC"})
                continue
            current = self._devices.get(mac)
            if current is not None:
                code, info = (
                    ("800003", "Resource already exists")
                    if current["site"] == site
                    else ("800004", "Device already managed by another organization")
                )
                errors.append({"mac": mac, "code": code, "errorInfo": info})
                continue
            server = device.get("serverId")
            if server and self._servers.get(server, {}).get("site") != site:
                errors.append({"mac": mac, "code": "800007", "errorInfo": "Invalid parameters"})
                continue
            self._devices[mac] = {
                "id": secrets.token_hex(16),
                "mac": mac,
                "serverId": server or "",
                "uniqueServerUrl": device.get("uniqueServerUrl", ""),
                "site": site,
            }
        return 200, {
            "total": len(devices),
            "successCount": len(devices) - len(errors),
            "failureCount": len(errors),
            "errors": errors,
        }
