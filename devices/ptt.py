"""Adapter to a customer's PTT Pro server: its departments (our sites) and its device table.

The server speaks JSON over HTTPS and every request carries ``X-API-Key: <key>``:

    GET    {base}/api/v1/departments          200 [{"id": "...", "name": "..."}]
    GET    {base}/api/v1/devices/{deviceId}   200 {"deviceId", "department",
                                                   "source": "manual" | "provisioning"}
                                              404 when the device has no row
    PUT    {base}/api/v1/devices/{deviceId}   body {"department": "<site name>",
                                                    "source": "provisioning"}
                                              200 (moved or unchanged) / 201 (created)
    DELETE {base}/api/v1/devices/{deviceId}   204, or 404 when already gone

``{deviceId}`` is one percent-quoted path segment (a "/" in an ID is sent as %2F).
Rows whose source is "manual" were entered by an administrator on the server. We never
move or remove them: the server refuses a PUT that would move one (409), and callers check
``get_device()`` before ``delete_device()``.

Failures are sorted for the caller: ``PttUnavailable`` (network error, timeout, 5xx, 429,
or an answer that is not the documented JSON) is worth retrying later; ``PttRejected``
(any other 4xx, a redirect, an unknown server name) will fail the same way again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from core.http import checked, sent

logger = logging.getLogger(__name__)

SYSTEM = "PTT Pro server"

API_PREFIX = "/api/v1"
SOURCE_PROVISIONING = "provisioning"
SOURCE_MANUAL = "manual"


@dataclass(frozen=True)
class RemoteSite:
    """A department on the PTT Pro server."""

    id: str
    name: str


@dataclass(frozen=True)
class RemoteDevice:
    """A row of the server's device table; ``manual`` rows belong to the server's admins."""

    device_id: str
    site: str
    manual: bool


class PttError(Exception):
    """The PTT Pro server could not do what was asked. ``status`` is its HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PttUnavailable(PttError):
    """Network error, timeout, 5xx, 429 or a garbled answer: worth retrying later."""


class PttRejected(PttError):
    """The server refused the request (4xx) or it cannot be sent: retrying will not help."""


class PttClient:
    """HTTP client for one PTT Pro server. Reuses connections; ``close()`` or use as a
    context manager to release them early."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # The timeout bounds each phase (connect, send, each read), so a server that
        # stops answering fails the call instead of holding a worker.
        self._http = httpx.Client(
            headers={"X-API-Key": api_key, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never show the key
        return f"PttClient({self.base_url!r})"

    def __enter__(self) -> PttClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- API ------------------------------------------------------------------------------

    def list_sites(self) -> list[RemoteSite]:
        """Every department on the server, in the server's order."""
        path = f"{API_PREFIX}/departments"
        data = self._json(self._request("GET", path), "GET", path)
        if not isinstance(data, list):
            raise self._malformed("GET", path, "expected a list of departments")
        sites = []
        for item in data:
            if not isinstance(item, dict):
                raise self._malformed("GET", path, "a department is not an object")
            site_id, name = item.get("id"), item.get("name")
            # Some servers number their rows; the ID is opaque to us either way.
            if isinstance(site_id, int) and not isinstance(site_id, bool):
                site_id = str(site_id)
            if not isinstance(site_id, str) or not isinstance(name, str):
                raise self._malformed("GET", path, "a department lacks a text id or name")
            sites.append(RemoteSite(id=site_id, name=name))
        return sites

    def get_device(self, device_id: str) -> RemoteDevice | None:
        """The device's row, or None when the server has none."""
        path = _device_path(device_id)
        response = self._request("GET", path, missing_ok=True)
        if response.status_code == 404:
            return None
        data = self._json(response, "GET", path)
        if not isinstance(data, dict):
            raise self._malformed("GET", path, "expected a device object")
        remote_id, department = data.get("deviceId", device_id), data.get("department")
        if not isinstance(remote_id, str) or not isinstance(department, str):
            raise self._malformed("GET", path, "the device lacks a text deviceId or department")
        # Only a row the server says we provisioned is ours; anything else (including a
        # source this adapter does not know) is treated as an administrator's row.
        return RemoteDevice(
            device_id=remote_id,
            site=department,
            manual=data.get("source") != SOURCE_PROVISIONING,
        )

    def put_device(self, device_id: str, site: str) -> None:
        """Create the device's row in ``site`` (a department name) or move it there, marked
        as provisioned by us. The server refuses to move a manual row (PttRejected)."""
        body = {"department": site, "source": SOURCE_PROVISIONING}
        self._request("PUT", _device_path(device_id), json=body)

    def delete_device(self, device_id: str) -> None:
        """Remove the device's row; a row that is already gone is fine.

        The server deletes whatever row is there, manual or not: check ``get_device()``
        first and delete only rows that are not manual."""
        self._request("DELETE", _device_path(device_id), missing_ok=True)

    # --- plumbing -------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, json: Any = None, missing_ok: bool = False
    ) -> httpx.Response:
        where = f"{method} {self.base_url}{path}"
        response = sent(
            lambda: self._http.request(method, self.base_url + path, json=json),
            system=SYSTEM,
            where=where,
            timeout=self.timeout,
            unavailable=PttUnavailable,
        )
        logger.debug("PTT Pro %s -> %s", where, response.status_code)
        return checked(
            response,
            system=SYSTEM,
            where=where,
            setting="the server's url in PTT_SERVERS",
            unavailable=PttUnavailable,
            rejected=PttRejected,
            ok=(404,) if missing_ok else (),
        )

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            raise self._malformed(method, path, "the answer is not JSON") from None

    def _malformed(self, method: str, path: str, problem: str) -> PttUnavailable:
        # A broken or wrong server: nothing the caller sent can fix it, but an upgrade or
        # restart on the other side may, so it is retried like an outage.
        return PttUnavailable(
            f"PTT Pro server sent a malformed answer to {method} {self.base_url}{path}: {problem}"
        )


def _device_path(device_id: str) -> str:
    if not device_id:
        raise PttRejected("a device ID is needed")
    segment = quote(device_id, safe="")
    if segment in {".", ".."}:
        # HTTP clients and servers collapse dot segments; these would address another URL.
        segment = segment.replace(".", "%2E")
    return f"{API_PREFIX}/devices/{segment}"


def ptt_client(server_name: str) -> PttClient:
    """The client for a server configured in ``settings.PTT_SERVERS``."""
    server = settings.PTT_SERVERS.get(server_name)
    if server is None:
        raise PttRejected(f"no PTT Pro server named {server_name!r} is configured (PTT_SERVERS)")
    return PttClient(server["url"], server["api_key"])
