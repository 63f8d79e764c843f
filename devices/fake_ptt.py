"""A PTT Pro server on loopback, for tests and the demo (``manage.py run_fake_ptt``).

It implements the API documented in ``devices.ptt`` and nothing more, with the server's
refusals: a wrong or missing API key is 401, a PUT into a department that does not exist is
404, and a PUT that would move a manual row to another department is 409, each with
``{"error": text}``. A PUT of a manual row into the department it is already in answers 200
and leaves the row manual: we never take over an administrator's row.

    with FakePttServer(departments=["North Warehouse"]) as server:
        PttClient(server.url, server.api_key).put_device("dev-1", "North Warehouse")
        assert server.rows == {"dev-1": ("North Warehouse", "provisioning")}

``down = True`` answers 503 to everything (an outage); ``delay`` seconds are waited before
each answer (a slow server).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlsplit

from core.loopback import LoopbackServer
from devices.ptt import API_PREFIX, SOURCE_MANUAL, SOURCE_PROVISIONING

DEVICE_PREFIX = f"{API_PREFIX}/devices/"


class FakePttServer(LoopbackServer):
    """In-memory departments and device rows behind real HTTP on 127.0.0.1 (see
    core.loopback). ``rows`` maps device_id -> (department, source)."""

    thread_name = "fake-ptt"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        departments: Iterable[str] = (),
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(port=port, log=log)
        self.api_key = api_key or secrets.token_urlsafe(16)
        self._departments: dict[str, str] = {}  # name -> id
        self._rows: dict[str, tuple[str, str]] = {}  # device_id -> (department, source)
        for name in departments:
            self.add_department(name)

    # --- state ----------------------------------------------------------------------------

    def add_department(self, name: str) -> str:
        """Add a department (idempotent); returns its id."""
        with self._lock:
            return self._departments.setdefault(name, str(len(self._departments) + 1))

    def remove_department(self, name: str) -> None:
        """Remove a department (an administrator deleted it); its device rows stay."""
        with self._lock:
            self._departments.pop(name, None)

    def add_manual_device(self, device_id: str, department: str) -> None:
        """A row an administrator typed in on the server."""
        with self._lock:
            if department not in self._departments:
                raise ValueError(f"no department {department!r}; add_department() it first")
            self._rows[device_id] = (department, SOURCE_MANUAL)

    @property
    def departments(self) -> dict[str, str]:
        """Department name -> id."""
        with self._lock:
            return dict(self._departments)

    @property
    def rows(self) -> dict[str, tuple[str, str]]:
        """device_id -> (department, source), a copy."""
        with self._lock:
            return dict(self._rows)

    # --- the API (called by the handler, under the lock) ----------------------------------

    def answer(self, method: str, raw_path: str, body: bytes, headers: Message) -> tuple[int, Any]:
        api_key = headers.get("X-API-Key", "")
        if self.down:
            return 503, {"error": "PTT Pro server is down for maintenance"}
        if not hmac.compare_digest(api_key.encode(), self.api_key.encode()):
            return 401, {"error": "invalid API key"}
        path = urlsplit(raw_path).path
        if path == f"{API_PREFIX}/departments":
            if method != "GET":
                return 405, {"error": f"{method} not allowed"}
            return 200, [{"id": i, "name": name} for name, i in self._departments.items()]
        segment = path.removeprefix(DEVICE_PREFIX)
        if segment == path or not segment or "/" in segment:
            return 404, {"error": f"no such endpoint {path}"}
        device_id = unquote(segment)
        if method == "GET":
            return self._get(device_id)
        if method == "PUT":
            return self._put(device_id, body)
        if method == "DELETE":
            return self._delete(device_id)
        return 405, {"error": f"{method} not allowed"}

    def _row(self, device_id: str) -> dict[str, str]:
        department, source = self._rows[device_id]
        return {"deviceId": device_id, "department": department, "source": source}

    def _get(self, device_id: str) -> tuple[int, Any]:
        if device_id not in self._rows:
            return 404, {"error": f"device {device_id!r} not found"}
        return 200, self._row(device_id)

    def _put(self, device_id: str, body: bytes) -> tuple[int, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(data, dict) or not isinstance(data.get("department"), str):
            return 400, {"error": "body needs a department"}
        if data.get("source") != SOURCE_PROVISIONING:
            return 400, {"error": f"source must be {SOURCE_PROVISIONING!r}"}
        department = data["department"]
        if department not in self._departments:
            return 404, {"error": f"department {department!r} does not exist"}
        current = self._rows.get(device_id)
        if current is None:
            self._rows[device_id] = (department, SOURCE_PROVISIONING)
            return 201, self._row(device_id)
        current_department, source = current
        if source == SOURCE_MANUAL:
            if current_department != department:
                return 409, {
                    "error": f"device {device_id!r} was added by hand to department "
                    f"{current_department!r}; it cannot be moved by provisioning"
                }
            return 200, self._row(device_id)
        self._rows[device_id] = (department, SOURCE_PROVISIONING)
        return 200, self._row(device_id)

    def _delete(self, device_id: str) -> tuple[int, Any]:
        if self._rows.pop(device_id, None) is None:
            return 404, {"error": f"device {device_id!r} not found"}
        return 204, None
