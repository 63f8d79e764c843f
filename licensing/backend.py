"""Adapter to the entitlement back end: the voice licenses each customer has purchased.

Three flavours, chosen by ``LICENSE_BACKEND`` (see ``entitlement_source()``):

- ``"http"``: the vendor's back end, JSON over HTTPS with ``Authorization: Bearer <token>``:

      GET {base}/api/v1/accounts/{account}/entitlements
          200 {"account": "<account>",
               "entitlements": [{"activationId": "...", "licenseType": "standard" | "premium",
                                 "term": "1 Year Term", "quantity": 20,
                                 "expiration": "2027-02-06T05:29:59Z"}]}
          404 when the back end has no such account

  ``{account}`` is one percent-quoted path segment.

- ``"file"``: a CSV or JSON file kept by a self-hoster (``FileEntitlementSource``).
- ``""``: no back end; ``entitlement_source()`` returns None and nothing is synced.

Every entry is checked before any is returned, and one bad entry fails the whole answer:
a sync applies all of an account's entitlements or none, never half of them.

Failures are sorted for the caller: ``BackendUnavailable`` (network error, timeout, 5xx,
429, a garbled answer, an unreadable file) is worth retrying later; ``BackendRejected``
(any other 4xx, an unknown account, a misconfiguration, a file the operator must fix)
will fail the same way again.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from django.conf import settings

from core.http import checked, sent
from core.jsontext import JSONTextError, json_parse

logger = logging.getLogger(__name__)

SYSTEM = "entitlement back end"

API_PREFIX = "/api/v1"
LICENSE_TYPES = ("standard", "premium")
FILE_COLUMNS = ("account", "activationId", "licenseType", "term", "quantity", "expiration")
# The sizes of the columns the entries are stored in (licensing.models.Entitlement): a value
# that would not fit is refused here, before the sync writes anything.
ACTIVATION_ID_MAX_LENGTH = 64
TERM_MAX_LENGTH = 64
QUANTITY_MAX = 2_147_483_647
_VALUE_TEXT_LIMIT = 80


@dataclass(frozen=True)
class RemoteEntitlement:
    """One license line of an account, as the back end reports it."""

    activation_id: str
    license_type: str  # "standard" | "premium"
    term: str  # "Trial", "1 Year Term", "5 Year Term", …
    quantity: int
    expiration: datetime  # aware, UTC


class EntitlementBackendError(Exception):
    """The entitlements could not be fetched. ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BackendUnavailable(EntitlementBackendError):
    """Network error, timeout, 5xx, 429, a garbled answer or an unreadable file: retry later."""


class BackendRejected(EntitlementBackendError):
    """A refusal (4xx), an unknown account, a misconfiguration or a file to fix: retrying
    will not help."""


class EntitlementSource(Protocol):
    def fetch(self, account: str) -> list[RemoteEntitlement]:
        """Every entitlement of ``account``, all checked, in the back end's order."""
        ...


# --- validation shared by every source --------------------------------------------------


class _InvalidEntry(Exception):
    """One field of one entry is wrong; the caller says where the entry is."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _VALUE_TEXT_LIMIT else text[: _VALUE_TEXT_LIMIT - 1] + "…"


def _text(entry: dict[str, Any], field: str, *, blank_ok: bool, max_length: int) -> str:
    if field not in entry:
        raise _InvalidEntry(field, "is missing")
    value = entry[field]
    if not isinstance(value, str):
        raise _InvalidEntry(field, f"must be text, got {_shown(value)}")
    if not blank_ok and not value.strip():
        raise _InvalidEntry(field, "must not be blank")
    if value != value.strip():
        # " A1" and "A1" would be two activation IDs to the sync but one to a person.
        raise _InvalidEntry(field, f"must not start or end with spaces, got {_shown(value)}")
    if len(value) > max_length:
        raise _InvalidEntry(field, f"must be at most {max_length} characters, got {len(value)}")
    return value


def _quantity(value: Any, *, cell: bool) -> int:
    """A JSON whole number, or (``cell``) the digits of a CSV cell."""
    if cell and isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _InvalidEntry("quantity", f"must be a whole number, got {_shown(value)}")
    if not 0 <= value <= QUANTITY_MAX:
        raise _InvalidEntry("quantity", f"must be between 0 and {QUANTITY_MAX}, got {value}")
    return value


def _expiration(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _InvalidEntry("expiration", f"must be ISO 8601 text, got {_shown(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _InvalidEntry(
            "expiration", f"must be an ISO 8601 date and time, got {_shown(value)}"
        ) from None
    if moment.utcoffset() is None:
        # A bare local time means a different instant on every server that reads it.
        raise _InvalidEntry(
            "expiration", f"must include a time zone (Z or +hh:mm), got {_shown(value)}"
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the last date Python knows
        raise _InvalidEntry("expiration", f"is out of range, got {_shown(value)}") from None


def _entitlement(entry: Any, *, cells: bool = False) -> RemoteEntitlement:
    """Check one wire-format entry (unknown keys are ignored: the back end may add some).

    ``cells``: the values are the text of CSV cells, so the quantity is written in digits."""
    if not isinstance(entry, dict):
        raise _InvalidEntry("", f"must be an object, got {_shown(entry)}")
    activation_id = _text(
        entry, "activationId", blank_ok=False, max_length=ACTIVATION_ID_MAX_LENGTH
    )
    if "licenseType" not in entry:
        raise _InvalidEntry("licenseType", "is missing")
    license_type = entry["licenseType"]
    if license_type not in LICENSE_TYPES:
        raise _InvalidEntry(
            "licenseType", f"must be 'standard' or 'premium', got {_shown(license_type)}"
        )
    term = _text(entry, "term", blank_ok=True, max_length=TERM_MAX_LENGTH)
    if "quantity" not in entry:
        raise _InvalidEntry("quantity", "is missing")
    quantity = _quantity(entry["quantity"], cell=cells)
    if "expiration" not in entry:
        raise _InvalidEntry("expiration", "is missing")
    expiration = _expiration(entry["expiration"])
    return RemoteEntitlement(
        activation_id=activation_id,
        license_type=license_type,
        term=term,
        quantity=quantity,
        expiration=expiration,
    )


def _check_unique(entitlement: RemoteEntitlement, seen: dict[str, str], where: str) -> None:
    """``seen`` maps each activation ID to where it first appeared."""
    first = seen.setdefault(entitlement.activation_id, where)
    if first != where:
        raise _InvalidEntry(
            "activationId",
            f"{_shown(entitlement.activation_id)} is a duplicate of {first}",
        )


def _account_path(account: str) -> str:
    if not account:
        raise BackendRejected("an account is needed to fetch entitlements")
    segment = quote(account, safe="")
    if segment in {".", ".."}:
        # HTTP clients and servers collapse dot segments; these would address another URL.
        segment = segment.replace(".", "%2E")
    return f"{API_PREFIX}/accounts/{segment}/entitlements"


# --- the vendor's back end over HTTP ------------------------------------------------------


class HttpEntitlementSource:
    """The entitlement back end's HTTP API.

    Each fetch opens its own connection and closes it: a sync asks once per customer, and
    nothing is left open for a caller to forget."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token

    def __repr__(self) -> str:  # never show the token
        return f"HttpEntitlementSource({self.base_url!r})"

    def fetch(self, account: str) -> list[RemoteEntitlement]:
        path = _account_path(account)
        url = self.base_url + path
        response = self._get(url)
        try:
            data = response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            raise self._malformed(url, "it is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("entitlements"), list):
            raise self._malformed(url, "expected an object with an entitlements list")
        if data.get("account") != account:
            # Applying another account's licenses to this customer would be far worse
            # than applying none.
            raise self._malformed(
                url, f"account is {_shown(data.get('account'))}, expected {account!r}"
            )
        entitlements: list[RemoteEntitlement] = []
        seen: dict[str, str] = {}
        for index, entry in enumerate(data["entitlements"]):
            where = f"entitlements[{index}]"
            try:
                entitlement = _entitlement(entry)
                _check_unique(entitlement, seen, where)
            except _InvalidEntry as exc:
                raise self._malformed(url, _located(where, exc)) from None
            entitlements.append(entitlement)
        return entitlements

    def _get(self, url: str) -> httpx.Response:
        where = f"GET {url}"
        # The timeout bounds each phase (connect, send, each read), so a back end that
        # stops answering fails the sync instead of holding a worker.

        def send() -> httpx.Response:
            with httpx.Client(
                headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
            ) as http:
                return http.get(url)

        response = sent(
            send, system=SYSTEM, where=where, timeout=self.timeout, unavailable=BackendUnavailable
        )
        logger.debug("entitlement back end %s -> %s", where, response.status_code)
        return checked(
            response,
            system=SYSTEM,
            where=where,
            setting="LICENSE_BACKEND_URL",
            unavailable=BackendUnavailable,
            rejected=BackendRejected,
            refusal=_refusal,
        )

    def _malformed(self, url: str, problem: str) -> BackendUnavailable:
        # A broken back end: nothing we send can fix it, but an upgrade or a restart on the
        # other side may, so it is retried like an outage.
        return BackendUnavailable(
            f"the entitlement back end's answer to GET {url} is malformed: {problem}"
        )


def _refusal(status: int, message: str) -> BackendRejected | None:
    if status == 404:
        return BackendRejected(f"unknown account at the {SYSTEM} ({message})", status=status)
    if status in {401, 403}:
        return BackendRejected(f"{message}; check LICENSE_BACKEND_TOKEN", status=status)
    return None


def _located(where: str, exc: _InvalidEntry) -> str:
    return f"{where}.{exc.field} {exc.problem}" if exc.field else f"{where} {exc.problem}"


# --- a file kept by a self-hoster --------------------------------------------------------


class FileEntitlementSource:
    """Entitlements read from a file, for installations without the vendor's back end.

    ``.csv``: a header ``account,activationId,licenseType,term,quantity,expiration`` and
    one row per entitlement (cells are trimmed; blank lines are skipped).
    ``.json``: ``{"<account>": [entries as in the HTTP answer]}``.

    The file is read on every fetch, so edits apply at the next sync, and the whole file is
    checked each time, whichever account is asked for: a mistake is reported the same way
    for everyone, as BackendRejected naming the line (CSV) or the entry (JSON) and field.
    An activation ID may appear once in the whole file. An account the file does not list
    has no entitlements."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower().removeprefix(".")
        if self.format not in {"csv", "json"}:
            raise BackendRejected(
                f"entitlement file {self.path}: expected a .csv or .json file "
                "(LICENSE_BACKEND_FILE)"
            )

    def __repr__(self) -> str:
        return f"FileEntitlementSource({str(self.path)!r})"

    def fetch(self, account: str) -> list[RemoteEntitlement]:
        if not account:
            raise BackendRejected("an account is needed to fetch entitlements")
        return self.read().get(account, [])

    def read(self) -> dict[str, list[RemoteEntitlement]]:
        """Every account's entitlements, all checked."""
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            # Possibly a file being replaced or a volume not mounted yet: try again later.
            raise BackendUnavailable(
                f"entitlement file {self.path} cannot be read: {exc.strerror or exc}"
            ) from None
        try:
            text = raw.decode("utf-8-sig")  # spreadsheets often save a byte-order mark
        except UnicodeDecodeError as exc:
            raise self._rejected(f"not UTF-8 text (byte {exc.start})") from None
        if self.format == "csv":
            return self._read_csv(text)
        return self._read_json(text)

    def _rejected(self, problem: str) -> BackendRejected:
        return BackendRejected(f"entitlement file {self.path}: {problem}")

    def _read_csv(self, text: str) -> dict[str, list[RemoteEntitlement]]:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        accounts: dict[str, list[RemoteEntitlement]] = {}
        seen: dict[str, str] = {}
        header: list[str] | None = None
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                cells = [cell.strip() for cell in row]
                if header is None:
                    header = self._csv_header(cells, reader.line_num)
                    continue
                where = f"line {reader.line_num}"
                if len(cells) != len(header):
                    raise self._rejected(
                        f"{where}: has {len(cells)} cells, the header has {len(header)}"
                    )
                entry = dict(zip(header, cells, strict=True))
                account = entry.pop("account")
                if not account:
                    raise self._rejected(f"{where}: account must not be blank")
                try:
                    entitlement = _entitlement(entry, cells=True)
                    _check_unique(entitlement, seen, where)
                except _InvalidEntry as exc:
                    raise self._rejected(f"{where}: {exc.field} {exc.problem}") from None
                accounts.setdefault(account, []).append(entitlement)
        except csv.Error as exc:
            raise self._rejected(f"line {reader.line_num}: {exc}") from None
        if header is None:
            raise self._rejected(f"empty; expected the header {','.join(FILE_COLUMNS)}")
        return accounts

    def _csv_header(self, cells: list[str], line: int) -> list[str]:
        missing = [name for name in FILE_COLUMNS if name not in cells]
        unknown = [name for name in cells if name not in FILE_COLUMNS]
        if missing or unknown or len(set(cells)) != len(cells):
            raise self._rejected(
                f"line {line}: expected the header {','.join(FILE_COLUMNS)}, "
                f"got {_shown(','.join(cells))}"
            )
        return cells

    def _read_json(self, text: str) -> dict[str, list[RemoteEntitlement]]:
        try:
            data = json_parse(text, object_pairs_hook=_no_duplicate_keys)
        except JSONTextError as exc:
            raise self._rejected(f"not valid JSON ({exc})") from None
        except _DuplicateKey as exc:
            raise self._rejected(f"the key {_shown(exc.args[0])} appears twice") from None
        if not isinstance(data, dict):
            raise self._rejected('expected an object like {"<account>": [entitlements]}')
        accounts: dict[str, list[RemoteEntitlement]] = {}
        seen: dict[str, str] = {}
        for account, entries in data.items():
            if not account.strip():
                raise self._rejected("an account name is blank")
            if not isinstance(entries, list):
                raise self._rejected(f"[{account!r}] must be a list of entitlements")
            accounts[account] = []
            for index, entry in enumerate(entries):
                where = f"[{account!r}][{index}]"
                try:
                    entitlement = _entitlement(entry)
                    _check_unique(entitlement, seen, where)
                except _InvalidEntry as exc:
                    raise self._rejected(_located(where, exc)) from None
                accounts[account].append(entitlement)
        return accounts


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys without a word: an account listed twice
    # would silently lose its first half.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


# --- choice by settings ------------------------------------------------------------------


def entitlement_source() -> EntitlementSource | None:
    """The source configured by ``LICENSE_BACKEND``, or None when there is none.

    Start-up already refuses a bad combination (config/settings.py); this repeats the checks
    for settings changed later (tests, a shell) and raises BackendRejected."""
    backend = getattr(settings, "LICENSE_BACKEND", "")
    if backend == "":
        return None
    if backend == "http":
        url = getattr(settings, "LICENSE_BACKEND_URL", "")
        token = getattr(settings, "LICENSE_BACKEND_TOKEN", "")
        if not url:
            raise BackendRejected("LICENSE_BACKEND_URL: required when LICENSE_BACKEND is http")
        if not token:
            raise BackendRejected("LICENSE_BACKEND_TOKEN: required when LICENSE_BACKEND is http")
        return HttpEntitlementSource(url, token)
    if backend == "file":
        path = getattr(settings, "LICENSE_BACKEND_FILE", "")
        if not path:
            raise BackendRejected("LICENSE_BACKEND_FILE: required when LICENSE_BACKEND is file")
        return FileEntitlementSource(Path(path))
    raise BackendRejected(f"LICENSE_BACKEND: expected '', 'http' or 'file', got {backend!r}")
