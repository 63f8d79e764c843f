"""Reading a bulk import file (JSON or CSV) into the entries catalog_import takes.

Shared by `POST /admin/api/v1/import` and `manage.py import_tokens`. This module only
parses and converts types; every rule about bootstraps and tokens stays in the service.

Errors come back in the file's own terms: a CSV error names the column and the line
of the record (the header is line 1); a JSON error names the list and the field
("tokens.appId") and the entry's position in its list (from 1).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Customer, User
from core.jsontext import JSONTextError, json_parse
from provisioning.models import MAX_REDEMPTIONS
from provisioning.services.catalog import (
    CATALOG_IMPORT_MAX_ROWS,
    CatalogImportError,
    catalog_import,
)

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = CATALOG_IMPORT_MAX_ROWS

CSV_COLUMNS = ("bootstrap", "parameters", "token", "appId", "description")
CSV_OPTIONAL_COLUMNS = ("expiresAt", "maxRedemptions", "revoked")
JSON_BOOTSTRAP_FIELDS = ("name", "parameters")
JSON_TOKEN_FIELDS = (
    "name",
    "appId",
    "bootstrap",
    "description",
    "expiresAt",
    "maxRedemptions",
    "revoked",
)


class ImportFileError(Exception):
    """The file as a whole cannot be imported. `code`: invalid_file, too_many_rows or
    too_large (the API answers 413 for that one, 400 for the others)."""

    def __init__(self, code: str, detail: str):
        self.code = code
        self.detail = detail
        super().__init__(detail)


class ImportRowsError(Exception):
    """Some rows are invalid; `rows` is [{"row", "field", "detail"}]. Nothing was written."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows
        super().__init__(f"{len(rows)} error(s) in the file; nothing was imported")

    def lines(self) -> list[str]:
        return [f"row {r['row']}, {r['field']}: {r['detail']}" for r in self.rows]


@dataclass
class CatalogFile:
    """A parsed import file: the entries for catalog_import."""

    format: str  # "csv" or "json"
    bootstraps: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)

    def field_name(self, kind: str, name: str) -> str:
        """Where the file holds an entry's field: the CSV column, or list.field in JSON."""
        if self.format == "csv":
            if name == "name":
                return "bootstrap" if kind == "bootstrap" else "token"
            return name
        return f"{kind}s.{name}"


# --- Values ----------------------------------------------------------------------------


class _BadValue(ValueError):
    pass


def _datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise _BadValue("not an ISO 8601 date and time, for example 2030-01-31T12:00:00Z")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _BadValue("must be a whole number")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise _BadValue("must be a whole number") from None
    if not isinstance(value, int):
        raise _BadValue("must be a whole number")
    if value > MAX_REDEMPTIONS:
        raise _BadValue(f"at most {MAX_REDEMPTIONS}")
    return value


def _boolean(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
        return value.strip().lower() in {"true", "1"}
    raise _BadValue("must be true or false")


_CONVERTERS = {"expiresAt": _datetime, "maxRedemptions": _integer, "revoked": _boolean}

# JSON carries types, so a JSON file uses them, as the API schema says: an RFC 3339 date and
# time, a whole number, true or false (null or "" for none). A CSV cell is text, read as
# leniently as people type it (above).
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _json_datetime(value: Any) -> datetime | None:
    if isinstance(value, str) and value and not _RFC3339.fullmatch(value):
        raise _BadValue("not an RFC 3339 date and time, for example 2030-01-31T12:00:00Z")
    return _datetime(value)


def _json_integer(value: Any) -> int | None:
    if isinstance(value, str) and value:
        raise _BadValue("must be a whole number")
    return _integer(value)


def _json_boolean(value: Any) -> bool:
    if isinstance(value, str) and value:
        raise _BadValue("must be true or false")
    return _boolean(value)


_JSON_CONVERTERS = {
    "expiresAt": _json_datetime,
    "maxRedemptions": _json_integer,
    "revoked": _json_boolean,
}


# --- Files -----------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportFileError(
            "too_large", f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB"
        )
    try:
        return raw.decode("utf-8-sig")  # spreadsheets often start UTF-8 files with a BOM
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "invalid_file", f"not UTF-8 text (byte {exc.start} cannot be read)"
        ) from None


def _too_many(count: int) -> ImportFileError:
    return ImportFileError(
        "too_many_rows",
        f"the file has {count} rows; at most {MAX_IMPORT_ROWS} per import, split the file",
    )


def parse_json(raw: bytes) -> CatalogFile:
    """{"bootstraps": [{"name", "parameters"}], "tokens": [{"name", "appId", "bootstrap",
    "description"?, "expiresAt"?, "maxRedemptions"?, "revoked"?}]}"""
    text = _decode(raw)
    try:
        data = json_parse(text)
    except JSONTextError as exc:
        raise ImportFileError("invalid_file", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ImportFileError("invalid_file", 'expected a JSON object {"bootstraps", "tokens"}')
    unknown = sorted(set(data) - {"bootstraps", "tokens"})
    if unknown:
        raise ImportFileError(
            "invalid_file", f"unknown key(s) {', '.join(unknown)}; expected bootstraps and tokens"
        )
    lists = {key: data.get(key, []) for key in ("bootstraps", "tokens")}
    for key, entries in lists.items():
        if entries is None:
            lists[key] = []
        elif not isinstance(entries, list):
            raise ImportFileError("invalid_file", f"{key}: must be a list")
    if len(lists["bootstraps"]) + len(lists["tokens"]) > MAX_IMPORT_ROWS:
        raise _too_many(len(lists["bootstraps"]) + len(lists["tokens"]))

    catalog = CatalogFile("json")
    errors: list[dict[str, Any]] = []
    for kind, allowed, target in (
        ("bootstrap", JSON_BOOTSTRAP_FIELDS, catalog.bootstraps),
        ("token", JSON_TOKEN_FIELDS, catalog.tokens),
    ):
        for index, item in enumerate(lists[f"{kind}s"]):
            row = index + 1
            if not isinstance(item, dict):
                errors.append({"row": row, "field": f"{kind}s", "detail": "must be an object"})
                continue
            entry: dict[str, Any] = {"row": row}
            for key, value in item.items():
                if key not in allowed:
                    errors.append(
                        {
                            "row": row,
                            "field": catalog.field_name(kind, key),
                            "detail": f"unknown field; expected {', '.join(allowed)}",
                        }
                    )
                    continue
                convert = _JSON_CONVERTERS.get(key) if kind == "token" else None
                try:
                    entry[key] = convert(value) if convert else value
                except _BadValue as exc:
                    errors.append(
                        {"row": row, "field": catalog.field_name(kind, key), "detail": str(exc)}
                    )
            if kind == "bootstrap" and "parameters" not in item:
                errors.append(
                    {
                        "row": row,
                        "field": catalog.field_name(kind, "parameters"),
                        "detail": 'required: a JSON object, for example {"site": "site-1094"}',
                    }
                )
            target.append(entry)
    if errors:
        raise ImportRowsError(errors)
    _require_entries(catalog)
    return catalog


def parse_csv(raw: bytes) -> CatalogFile:
    """Header `bootstrap,parameters,token,appId,description` (optionally also expiresAt,
    maxRedemptions, revoked). A record with parameters defines or replaces its bootstrap;
    one with a token defines or replaces that token, using the record's bootstrap."""
    text = _decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError("invalid_file", "the file is empty")
        columns = _csv_columns(header)
        catalog = CatalogFile("csv")
        errors: list[dict[str, Any]] = []
        defined: dict[str, tuple[int, Any]] = {}  # bootstrap name -> (row, parameters)
        records = 0
        previous = reader.line_num
        for cells in reader:
            # A quoted cell may span lines: the record starts on the line after the last.
            row, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            records += 1
            if records > MAX_IMPORT_ROWS:
                raise _too_many(records + sum(1 for _ in reader))
            if len(cells) > len(columns):
                detail = f"{len(cells)} cells but the header names {len(columns)} columns"
                errors.append({"row": row, "field": "columns", "detail": detail})
                continue
            values = dict(zip(columns, [*cells, *[""] * (len(columns) - len(cells))], strict=True))
            errors.extend(_csv_record(catalog, defined, row, values))
    except csv.Error as exc:
        raise ImportFileError("invalid_file", f"line {reader.line_num}: {exc}") from None
    if errors:
        raise ImportRowsError(errors)
    _require_entries(catalog)
    return catalog


def _csv_columns(header: list[str]) -> list[str]:
    by_lower = {name.lower(): name for name in (*CSV_COLUMNS, *CSV_OPTIONAL_COLUMNS)}
    columns = [by_lower.get(cell.strip().lower(), cell.strip()) for cell in header]
    unknown = [c for c in columns if c not in by_lower.values()]
    if unknown:
        raise ImportFileError(
            "invalid_file",
            f"unknown column(s) {', '.join(map(repr, unknown))} in the header; expected "
            f"{','.join(CSV_COLUMNS)} (and optionally {', '.join(CSV_OPTIONAL_COLUMNS)})",
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ImportFileError("invalid_file", f"column(s) {', '.join(repeated)} appear twice")
    if "bootstrap" not in columns:
        raise ImportFileError(
            "invalid_file", f"the header needs a bootstrap column: {','.join(CSV_COLUMNS)}"
        )
    return columns


def _csv_record(
    catalog: CatalogFile, defined: dict[str, tuple[int, Any]], row: int, values: dict[str, str]
) -> list[dict[str, Any]]:
    errors = []
    name = values.get("bootstrap", "")
    parameters_text = values.get("parameters", "").strip()
    token = values.get("token", "")
    if not parameters_text and not token:
        return [
            {
                "row": row,
                "field": "parameters",
                "detail": "the row defines nothing: give parameters, a token or both",
            }
        ]
    if parameters_text:
        try:
            parameters = json_parse(parameters_text)
        except JSONTextError as exc:
            errors.append({"row": row, "field": "parameters", "detail": f"not valid JSON: {exc}"})
        else:
            earlier = defined.get(name.strip())
            # The same bootstrap repeated with the same parameters on each of its tokens'
            # rows is one definition; different parameters are refused by the service.
            if earlier is None or earlier[1] != parameters:
                defined.setdefault(name.strip(), (row, parameters))
                catalog.bootstraps.append({"row": row, "name": name, "parameters": parameters})
    if token:
        entry: dict[str, Any] = {
            "row": row,
            "name": token,
            "appId": values.get("appId", "").strip(),
            "bootstrap": name.strip(),
            "description": values.get("description", ""),
        }
        for key, convert in _CONVERTERS.items():
            try:
                entry[key] = convert(values.get(key, ""))
            except _BadValue as exc:
                errors.append({"row": row, "field": key, "detail": str(exc)})
        catalog.tokens.append(entry)
    return errors


def _require_entries(catalog: CatalogFile) -> None:
    if not catalog.bootstraps and not catalog.tokens:
        raise ImportFileError("invalid_file", "the file holds no bootstraps and no tokens")


def parse_file(raw: bytes, *, content_type: str = "", filename: str = "") -> CatalogFile:
    """JSON or CSV, told by the content type, else the file name, else the first character."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return parse_json(raw)
    if content_type in {"text/csv", "application/csv"}:
        return parse_csv(raw)
    lowered = filename.lower()
    if lowered.endswith(".json"):
        return parse_json(raw)
    if lowered.endswith(".csv"):
        return parse_csv(raw)
    return parse_json(raw) if raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else parse_csv(raw)


def run_import(*, customer: Customer, user: User | None, catalog: CatalogFile) -> dict:
    """Import a parsed file through catalog_import; row errors come back as
    ImportRowsError in the file's terms."""
    try:
        return catalog_import(
            customer=customer, user=user, bootstraps=catalog.bootstraps, tokens=catalog.tokens
        )
    except CatalogImportError as exc:
        raise ImportRowsError(
            [
                {
                    "row": e["row"],
                    "field": catalog.field_name(e["kind"], e["field"]),
                    "detail": e["detail"],
                }
                for e in exc.errors
            ]
        ) from None
    except ValidationError as exc:
        raise ImportFileError("too_many_rows", " ".join(exc.messages)) from None
