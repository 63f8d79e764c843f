"""Yealink's YMCS (its RPS part) on loopback, for tests and the demo (``manage.py
run_fake_ymcs``).

It answers the calls ztp.ymcs makes, in the shapes its sources show (the module docstring
there names them), with one enterprise's state in memory:

- ``POST /v2/token`` with HTTP Basic (``client_id``:``client_secret``) and
  ``{"grant_type": "client_credentials"}``; a bad key is 401, another grant_type 400 70011.
- every call, the token's too, needs a ``timestamp`` (digits) and a ``nonce`` header; a
  nonce seen before is 403 500403. Every other call needs ``Authorization: Bearer``.
- a POST without a body is 412 900444; refusals are ``{"code", "message", "requestId"}``;
  an unknown server or device id is 400 900400, never 404.
- RPS servers ``{"id", "serverName", "url", "authName"}``: serverName 1 to 20 characters and
  unique (800003), an update names both serverName and url (else 400 900400), updates answer
  204, ``delServers`` removes them.
- devices: ``addDevicesByMac`` takes a bare array (an object is 412, more than 100 items 400
  800006) and answers 200 with ``errors: [{"mac", "sn", "errorInfo"}]`` for the items that
  failed: errorInfo "800001" (not a MAC), "800003" (this enterprise has it), "800004"
  (another enterprise's: ``add_foreign_device``). ``by_mac_enabled = False`` answers it
  403 900403, as for an enterprise Yealink has not enabled. ``listDevices`` filters the MAC
  fuzzily (a part matches); ``delDevices`` reports ``errors: [{"field", "msg"}]``.
- lists take ``{"skip", "limit", "autoCount", "filter"}`` and answer ``{"skip", "limit",
  "total", "data"}`` (``total`` only with autoCount); ``null_data = True`` answers
  ``"data": null`` for a page with no items.

``down = True`` answers 503 to everything; ``delay`` seconds are waited before each answer;
``malformed = True`` answers 200 with truncated JSON; ``fail(method, fragment, status)``
makes the next request whose method matches and whose path contains the fragment fail
with ``{"code": "900<status>"}``. ``calls`` lists (method, path, body) of every request,
the body as parsed JSON (None when there was none). ``ssl_context`` (a server-side
context) serves HTTPS instead of HTTP.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import re
import secrets
import ssl
import time
from collections.abc import Callable
from email.message import Message
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from core.loopback import LoopbackServer

TRUNCATED = b'{"total": 1, "data": [{"id": "'
SERVER_NAME_MAX = 20
ADD_MAX = 100
LIST_MAX = 500
_MAC = re.compile(r"[0-9a-f]{12}")
_NO_BODY = object()
_NOT_JSON = object()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str]]:
    return status, {"code": code, "message": message, "requestId": secrets.token_hex(8)}


def _bare_mac(value: Any) -> str:
    return str(value).replace(":", "").replace("-", "").lower() if isinstance(value, str) else ""


class FakeYmcs(LoopbackServer):
    thread_name = "fake-ymcs"

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        port: int = 0,
        log: Callable[[str], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(port=port, log=log)
        self.client_id = client_id or f"ymcs{secrets.token_hex(8)}"
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.ssl_context = ssl_context
        self.by_mac_enabled = True
        self.null_data = False
        self.malformed = False
        self.calls: list[tuple[str, str, Any]] = []
        self._failures: list[tuple[str, str, int]] = []
        self._tokens: set[str] = set()
        self._nonces: set[str] = set()
        self._servers: dict[str, dict[str, Any]] = {}  # id -> server
        self._devices: dict[str, dict[str, Any]] = {}  # mac -> device (with "enterprise")

    def start(self) -> Self:
        started = self._httpd is None
        super().start()
        if started and self.ssl_context is not None:
            # Each accepted connection is wrapped; its handshake runs in the thread that
            # handles it (on its first read), so a client that never finishes one blocks
            # nobody else.
            httpd, context = self._httpd, self.ssl_context
            accept = httpd.get_request

            def get_request():
                connection, address = accept()
                wrapped = context.wrap_socket(
                    connection, server_side=True, do_handshake_on_connect=False
                )
                return wrapped, address

            httpd.get_request = get_request
        return self

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # --- state, for tests -------------------------------------------------------------

    def fail(self, method: str, fragment: str, status: int = 503) -> None:
        with self._lock:
            self._failures.append((method.upper(), fragment, status))

    @property
    def servers(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._servers)

    @property
    def devices(self) -> dict[str, dict[str, Any]]:
        """This enterprise's devices by MAC (12 lower-case hex digits)."""
        with self._lock:
            return {
                mac: self._public_device(d)
                for mac, d in self._devices.items()
                if d["enterprise"] == "ours"
            }

    def add_foreign_device(self, mac: str) -> None:
        """A device another enterprise holds: adding it here gives errorInfo 800004."""
        with self._lock:
            self._devices[_bare_mac(mac)] = {
                "id": secrets.token_hex(16),
                "mac": _bare_mac(mac),
                "enterprise": "other",
            }

    # --- the API (called by the handler, under the lock) ------------------------------

    def answer(self, method: str, raw_path: str, body: bytes, headers: Message) -> tuple[int, Any]:
        path = urlsplit(raw_path).path
        data: Any = _NO_BODY
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                data = _NOT_JSON
        if data is _NO_BODY:
            self.calls.append((method, path, None))
        elif data is _NOT_JSON:
            self.calls.append((method, path, body.decode(errors="replace")))
        else:
            self.calls.append((method, path, copy.deepcopy(data)))
        if self.down:
            return _error(503, "900503", "Service unavailable")
        for index, (fail_method, fragment, status) in enumerate(self._failures):
            if fail_method == method and fragment in path:
                del self._failures[index]
                return _error(status, f"900{status}", f"injected failure {status}")
        timestamp, nonce = headers.get("timestamp", ""), headers.get("nonce", "")
        if not timestamp.isdigit() or len(nonce) < 8:
            return _error(400, "900400", "the timestamp and nonce headers are required")
        if nonce in self._nonces:
            return _error(403, "500403", "the nonce has been used before")
        self._nonces.add(nonce)
        if data is _NOT_JSON:
            return _error(400, "900400", "the body is not JSON")
        if data is _NO_BODY:
            if method == "POST":
                return _error(412, "900444", "the request has no body")
            data = {}
        if path == "/v2/token" and method == "POST":
            return self._token(headers.get("Authorization", ""), data)
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self._tokens:
            return _error(401, "900401", "Not logged in or session expired")
        if self.malformed:
            return 200, TRUNCATED
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if segments[:2] != ["v2", "rps"]:
            return _error(404, "900404", f"no such endpoint {path}")
        rest = segments[2:]
        if rest == ["addDevicesByMac"] and method == "POST":
            return self._add_devices(data)
        if not isinstance(data, dict):
            return _error(400, "900400", "the body must be an object")
        if not isinstance(data.get("filter") or {}, dict):
            return _error(400, "900400", "filter must be an object")
        return self._route(method, rest, data)

    def _token(self, authorization: str, data: Any) -> tuple[int, Any]:
        scheme, _, encoded = authorization.partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        if (
            scheme.lower() != "basic"
            or client_id != self.client_id
            or not hmac.compare_digest(self.client_secret.encode(), secret.encode())
        ):
            return _error(401, "900401", "Invalid client credentials")
        if not isinstance(data, dict) or data.get("grant_type") != "client_credentials":
            return _error(400, "70011", "Invalid grant_type")
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 86400}

    def _page(self, items: list[dict[str, Any]], data: dict[str, Any]) -> tuple[int, Any]:
        skip, limit = data.get("skip", 0), data.get("limit", 10)
        if (
            not isinstance(skip, int)
            or not isinstance(limit, int)
            or skip < 0
            or not 1 <= limit <= LIST_MAX
        ):
            return _error(400, "900400", f"skip and limit must be numbers, limit 1 to {LIST_MAX}")
        page = items[skip : skip + limit]
        answer: dict[str, Any] = {
            "skip": skip,
            "limit": limit,
            "data": None if self.null_data and not page else page,
        }
        if data.get("autoCount"):
            answer["total"] = len(items)
        return 200, answer

    def _public_device(self, device: dict[str, Any]) -> dict[str, Any]:
        server = self._servers.get(device.get("serverId", ""), {})
        return {
            "id": device["id"],
            "mac": device["mac"],
            "sn": device.get("sn", ""),
            "serverId": device.get("serverId", ""),
            "serverName": server.get("serverName", ""),
            "serverUrl": server.get("url", ""),
            "uniqueServerUrl": device.get("uniqueServerUrl", ""),
            "ipAddress": None,
            "dateRegistered": device.get("dateRegistered", 0),
            "lastConnected": None,
            "remark": "",
        }

    def _ours(self) -> list[dict[str, Any]]:
        return [d for d in self._devices.values() if d["enterprise"] == "ours"]

    def _server_fields(self, data: dict[str, Any], server_id: str = "") -> tuple[int, Any] | None:
        """The refusal of a server's serverName and url, or None if they are right."""
        name, url = data.get("serverName"), data.get("url")
        if not isinstance(name, str) or not 0 < len(name) <= SERVER_NAME_MAX:
            return _error(
                400, "900400", f"serverName: 1 to {SERVER_NAME_MAX} characters are required"
            )
        if not isinstance(url, str) or not url:
            return _error(400, "900400", "url: Cannot be empty")
        if any(s["serverName"] == name and i != server_id for i, s in self._servers.items()):
            return _error(400, "800003", "Resource already exists")
        return None

    def _route(self, method: str, rest: list[str], data: dict[str, Any]) -> tuple[int, Any]:
        match rest:
            case ["listServers"] if method == "POST":
                wanted = data.get("filter") or {}
                servers = [
                    copy.deepcopy(s)
                    for s in self._servers.values()
                    if str(wanted.get("name", "")) in s["serverName"]
                    and str(wanted.get("searchKey", "")) in s["serverName"] + " " + s["url"]
                ]
                return self._page(servers, data)
            case ["servers"] if method == "POST":
                if refusal := self._server_fields(data):
                    return refusal
                server = {
                    "id": secrets.token_hex(16),
                    "serverName": data["serverName"],
                    "url": data["url"],
                    "authName": "",
                }
                self._servers[server["id"]] = server
                return 200, {"id": server["id"]}
            case ["servers", server_id] if method == "PATCH":
                server = self._servers.get(server_id)
                if server is None:
                    return _error(400, "900400", "the server does not exist")
                if refusal := self._server_fields(data, server_id):
                    return refusal
                server.update(serverName=data["serverName"], url=data["url"])
                return 204, None
            case ["delServers"] if method == "POST":
                ids = data.get("serverIds")
                if not isinstance(ids, list) or not ids:
                    return _error(400, "900400", "serverIds: Cannot be empty")
                errors = []
                for server_id in ids:
                    if self._servers.pop(str(server_id), None) is None:
                        errors.append({"field": str(server_id), "msg": "server not found"})
                    for device in self._devices.values():
                        if device.get("serverId") == server_id:
                            device["serverId"] = ""
                return 200, _bulk(len(ids), errors)
            case ["listDevices"] if method == "POST":
                wanted = data.get("filter") or {}
                part = _bare_mac(wanted.get("mac", ""))
                devices = [self._public_device(d) for d in self._ours() if part in d["mac"]]
                return self._page(devices, data)
            case ["devices", device_id] if method == "PATCH":
                found = [d for d in self._ours() if d["id"] == device_id]
                if not found:
                    return _error(400, "900400", "the device does not exist")
                server = data.get("serverId")
                if server is not None and server not in self._servers:
                    return _error(400, "900400", "the server does not exist")
                if server is None and "uniqueServerUrl" not in data:
                    return _error(400, "900400", "nothing to update")
                for key in ("serverId", "uniqueServerUrl"):
                    if key in data:
                        found[0][key] = data[key]
                return 204, None
            case ["delDevices"] if method == "POST":
                kind, ids = data.get("deviceIdType"), data.get("deviceIds")
                if kind not in ("mac", "id") or not isinstance(ids, list) or not ids:
                    return _error(400, "900400", "deviceIdType (mac or id) and deviceIds needed")
                errors = []
                for value in ids:
                    key = "mac" if kind == "mac" else "id"
                    wanted = _bare_mac(value) if kind == "mac" else str(value)
                    match_ = [m for m, d in self._devices.items() if d[key] == wanted]
                    if not match_ or self._devices[match_[0]]["enterprise"] != "ours":
                        errors.append({"field": str(value), "msg": "device not found"})
                    else:
                        del self._devices[match_[0]]
                return 200, _bulk(len(ids), errors)
        return _error(404, "900404", "no such endpoint")

    def _add_devices(self, data: Any) -> tuple[int, Any]:
        if not self.by_mac_enabled:
            return _error(403, "900403", "Request forbidden")
        if not isinstance(data, list):
            return _error(412, "900444", "the body must be an array of devices")
        if not 0 < len(data) <= ADD_MAX:
            return _error(400, "800006", f"Batch size exceeds limit (1 to {ADD_MAX} devices)")
        for item in data:
            server = item.get("serverId") if isinstance(item, dict) else None
            if server and server not in self._servers:
                return _error(400, "900400", "the server does not exist")
        errors = []
        for item in data:
            raw = item.get("mac", "") if isinstance(item, dict) else ""
            mac = _bare_mac(raw)
            if not _MAC.fullmatch(mac):
                errors.append({"mac": str(raw), "sn": "", "errorInfo": "800001"})
                continue
            current = self._devices.get(mac)
            if current is not None:
                info = "800003" if current["enterprise"] == "ours" else "800004"
                errors.append({"mac": mac, "sn": "", "errorInfo": info})
                continue
            self._devices[mac] = {
                "id": secrets.token_hex(16),
                "mac": mac,
                "sn": "",
                "serverId": item.get("serverId") or "",
                "uniqueServerUrl": item.get("uniqueServerUrl") or "",
                "dateRegistered": int(time.time() * 1000),
                "enterprise": "ours",
            }
        return 200, _bulk(len(data), errors)


def _bulk(total: int, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "total": total,
        "successCount": total - len(errors),
        "failureCount": len(errors),
        "errors": errors,
    }
