"""The entitlement back end adapters: the HTTP source against the fake over real HTTP on
loopback, the file source against files in tmp_path, and the choice by settings."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from licensing.backend import (
    BackendRejected,
    BackendUnavailable,
    EntitlementBackendError,
    FileEntitlementSource,
    HttpEntitlementSource,
    RemoteEntitlement,
    entitlement_source,
)
from licensing.fake_backend import FakeEntitlementBackend, demo_entitlements

STANDARD = {
    "activationId": "A-0001",
    "licenseType": "standard",
    "term": "1 Year Term",
    "quantity": 20,
    "expiration": "2027-02-06T05:29:59Z",
}
PREMIUM = {
    "activationId": "A-0002",
    "licenseType": "premium",
    "term": "Trial",
    "quantity": 0,
    "expiration": "2026-03-01T10:00:00+02:00",
}
PARSED = [
    RemoteEntitlement(
        activation_id="A-0001",
        license_type="standard",
        term="1 Year Term",
        quantity=20,
        expiration=datetime(2027, 2, 6, 5, 29, 59, tzinfo=UTC),
    ),
    RemoteEntitlement(
        activation_id="A-0002",
        license_type="premium",
        term="Trial",
        quantity=0,
        expiration=datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC),
    ),
]

# (field, bad value or MISSING, what the message says after "<where>.<field> ")
MISSING = object()
BAD_FIELDS = [
    ("activationId", MISSING, "is missing"),
    ("activationId", "", "must not be blank"),
    ("activationId", "   ", "must not be blank"),
    ("activationId", " A-0009", "must not start or end with spaces"),
    ("activationId", 9, "must be text, got 9"),
    ("activationId", "A" * 65, "must be at most 64 characters, got 65"),
    ("licenseType", MISSING, "is missing"),
    ("licenseType", "gold", "must be 'standard' or 'premium', got 'gold'"),
    ("licenseType", "Standard", "must be 'standard' or 'premium', got 'Standard'"),
    ("term", MISSING, "is missing"),
    ("term", 5, "must be text, got 5"),
    ("term", "T" * 65, "must be at most 64 characters"),
    ("quantity", MISSING, "is missing"),
    ("quantity", -1, "must be between 0 and 2147483647, got -1"),
    ("quantity", 2**31, "must be between 0 and 2147483647, got 2147483648"),
    ("quantity", "20", "must be a whole number, got '20'"),
    ("quantity", 2.5, "must be a whole number, got 2.5"),
    ("quantity", True, "must be a whole number, got True"),
    ("quantity", None, "must be a whole number, got None"),
    ("expiration", MISSING, "is missing"),
    ("expiration", "2027-02-06T05:29:59", "must include a time zone"),
    ("expiration", "2027-02-06", "must include a time zone"),
    ("expiration", "next year", "must be an ISO 8601 date and time, got 'next year'"),
    ("expiration", 1801286999, "must be ISO 8601 text, got 1801286999"),
    ("expiration", "9999-12-31T23:00:00-05:00", "is out of range"),
]
BAD_FIELD_IDS = [
    f"{field}-{'missing' if value is MISSING else repr(value)}"[:40]
    for field, value, _ in BAD_FIELDS
]


def broken(field: str, value: object) -> dict:
    entry = {**PREMIUM, "activationId": "A-0009"}
    if value is MISSING:
        del entry[field]
    else:
        entry[field] = value
    return entry


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # httpx honours proxy variables even for 127.0.0.1; these requests must stay local.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def fake() -> Iterator[FakeEntitlementBackend]:
    with FakeEntitlementBackend() as backend:
        backend.set_entitlements("acme", [STANDARD, PREMIUM])
        yield backend


@pytest.fixture
def source(fake) -> HttpEntitlementSource:
    return HttpEntitlementSource(fake.url, fake.token, timeout=5)


# --- HTTP ---------------------------------------------------------------------------------


def test_fetch_parses_every_field(fake, source):
    assert source.fetch("acme") == PARSED
    assert fake.requests == [("GET", "/api/v1/accounts/acme/entitlements")]


def test_expirations_are_aware_and_in_utc(source):
    expirations = [entitlement.expiration for entitlement in source.fetch("acme")]

    assert all(moment.tzinfo is UTC for moment in expirations)


def test_an_account_without_entitlements_is_an_empty_list(fake, source):
    fake.set_entitlements("globex", [])

    assert source.fetch("globex") == []


def test_unknown_fields_are_ignored(fake, source):
    fake.set_entitlements("acme", [{**STANDARD, "sku": "TC-VOICE-1Y", "seats": None}])

    assert source.fetch("acme") == PARSED[:1]


def test_unknown_account_is_rejected(fake, source):
    with pytest.raises(BackendRejected, match="unknown account") as caught:
        source.fetch("initech")

    assert caught.value.status == 404
    assert "account 'initech' not found" in str(caught.value)


def test_wrong_token_is_rejected_naming_the_setting_not_the_token(fake):
    with pytest.raises(BackendRejected, match="check LICENSE_BACKEND_TOKEN") as caught:
        HttpEntitlementSource(fake.url, "not-the-token").fetch("acme")

    assert caught.value.status == 401
    assert "not-the-token" not in str(caught.value)
    assert fake.token not in str(caught.value)


def test_back_end_down_is_unavailable(fake, source):
    fake.down = True

    with pytest.raises(BackendUnavailable, match="answered 503") as caught:
        source.fetch("acme")

    assert caught.value.status == 503


def test_broken_json_is_unavailable(fake, source):
    fake.malformed = True

    with pytest.raises(BackendUnavailable, match="is malformed: it is not JSON"):
        source.fetch("acme")


@pytest.mark.parametrize(("field", "value", "problem"), BAD_FIELDS, ids=BAD_FIELD_IDS)
def test_one_malformed_entry_fails_the_whole_answer(fake, source, field, value, problem):
    fake.set_entitlements("acme", [STANDARD, broken(field, value)])

    with pytest.raises(BackendUnavailable) as caught:
        source.fetch("acme")

    message = str(caught.value)
    assert "answer to GET " in message
    assert f"is malformed: entitlements[1].{field} {problem}" in message


def test_an_entry_that_is_not_an_object_is_malformed(fake, source):
    fake.set_entitlements("acme", [STANDARD, ["A-0003"]])

    with pytest.raises(BackendUnavailable, match=r"entitlements\[1\] must be an object"):
        source.fetch("acme")


def test_a_duplicate_activation_id_names_both_entries(fake, source):
    fake.set_entitlements("acme", [STANDARD, PREMIUM, {**PREMIUM, "term": "1 Year Term"}])

    with pytest.raises(BackendUnavailable) as caught:
        source.fetch("acme")

    assert "entitlements[2].activationId 'A-0002' is a duplicate of entitlements[1]" in str(
        caught.value
    )


def test_nothing_listening_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is free again and nothing listens on it.

    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        HttpEntitlementSource(f"http://127.0.0.1:{port}", "token").fetch("acme")


def test_a_slow_back_end_times_out_as_unavailable(fake):
    fake.delay = 2.0
    started = time.monotonic()

    with pytest.raises(BackendUnavailable, match=r"within 0\.2 s"):
        HttpEntitlementSource(fake.url, fake.token, timeout=0.2).fetch("acme")

    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("account", "path"),
    [
        ("acme/east", "/api/v1/accounts/acme%2Feast/entitlements"),
        ("a?b#c%d", "/api/v1/accounts/a%3Fb%23c%25d/entitlements"),
        ("..", "/api/v1/accounts/%2E%2E/entitlements"),
        ("Zoë AG", "/api/v1/accounts/Zo%C3%AB%20AG/entitlements"),
    ],
)
def test_the_account_is_quoted_into_one_path_segment(fake, source, account, path):
    fake.set_entitlements(account, [STANDARD])

    assert source.fetch(account) == PARSED[:1]
    assert fake.requests == [("GET", path)]


def test_a_blank_account_is_rejected_without_a_request(fake, source):
    with pytest.raises(BackendRejected, match="an account is needed"):
        source.fetch("")

    assert fake.requests == []


def test_a_trailing_slash_on_the_base_url_is_ignored(fake):
    HttpEntitlementSource(fake.url + "/", fake.token).fetch("acme")

    assert fake.requests == [("GET", "/api/v1/accounts/acme/entitlements")]


def test_repr_does_not_show_the_token(fake, source):
    assert fake.token not in repr(source)


# --- answers the fake never gives: a stub server that returns one canned answer ---------


@contextmanager
def canned(status: int, body: bytes, headers: dict[str, str] | None = None) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>It works!</html>", "it is not JSON"),
        (b"[]", "expected an object with an entitlements list"),
        (b'{"account": "acme"}', "expected an object with an entitlements list"),
        (b'{"account": "acme", "entitlements": {}}', "expected an object with an entitlements"),
        (b'{"entitlements": []}', "account is None, expected 'acme'"),
        (b'{"account": "globex", "entitlements": []}', "account is 'globex', expected 'acme'"),
    ],
    ids=["html", "list", "no-entitlements", "entitlements-object", "no-account", "other-account"],
)
def test_an_answer_of_the_wrong_shape_is_unavailable(body, problem):
    with canned(200, body) as url, pytest.raises(BackendUnavailable) as caught:
        HttpEntitlementSource(url, "token").fetch("acme")

    assert f"is malformed: {problem}" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (429, b'{"error": "slow down"}', BackendUnavailable, "answered 429 .*: slow down"),
        (500, b"<h1>Internal\n Server Error</h1>", BackendUnavailable, "<h1>Internal Server"),
        (502, b"", BackendUnavailable, "answered 502 to GET"),
        (400, b'{"detail": "bad account"}', BackendRejected, "answered 400 .*: bad account"),
        (403, b"", BackendRejected, "answered 403 .*check LICENSE_BACKEND_TOKEN"),
    ],
)
def test_status_codes_sort_into_retry_or_not(status, body, error, text):
    with canned(status, body) as url, pytest.raises(error, match=text) as caught:
        HttpEntitlementSource(url, "token").fetch("acme")

    assert caught.value.status == status


def test_a_redirect_is_rejected_naming_the_setting():
    location = "https://licenses.example.com/api/v1/accounts/acme/entitlements"
    with (
        canned(301, b"", {"Location": location}) as url,
        pytest.raises(BackendRejected, match=r"redirected to .*check LICENSE_BACKEND_URL"),
    ):
        HttpEntitlementSource(url, "token").fetch("acme")


def test_errors_share_one_base_class():
    assert issubclass(BackendUnavailable, EntitlementBackendError)
    assert issubclass(BackendRejected, EntitlementBackendError)


# --- the file source ---------------------------------------------------------------------

CSV_HEADER = "account,activationId,licenseType,term,quantity,expiration"
CSV_ROWS = [
    "acme,A-0001,standard,1 Year Term,20,2027-02-06T05:29:59Z",
    "globex,G-0001,premium,5 Year Term,3,2030-01-01T00:00:00Z",
    "acme,A-0002,premium,Trial,0,2026-03-01T10:00:00+02:00",
]


def write_csv(tmp_path: Path, *rows: str, header: str = CSV_HEADER) -> FileEntitlementSource:
    path = tmp_path / "licenses.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return FileEntitlementSource(path)


def write_json(tmp_path: Path, data: object) -> FileEntitlementSource:
    path = tmp_path / "licenses.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return FileEntitlementSource(path)


def test_csv_file(tmp_path):
    source = write_csv(tmp_path, *CSV_ROWS)

    assert source.fetch("acme") == PARSED
    assert source.fetch("globex") == [
        RemoteEntitlement(
            activation_id="G-0001",
            license_type="premium",
            term="5 Year Term",
            quantity=3,
            expiration=datetime(2030, 1, 1, tzinfo=UTC),
        )
    ]


def test_csv_as_a_spreadsheet_saves_it(tmp_path):
    # A byte-order mark, CRLF line ends, padded and quoted cells, columns in another order,
    # blank lines: all fine.
    path = tmp_path / "Licenses.CSV"
    path.write_bytes(
        "\ufeffactivationId, account ,licenseType,term,quantity,expiration\r\n"
        '\r\n A-0001 ,acme,standard,"1 Year Term", 20 ,2027-02-06T05:29:59Z\r\n'
        ",,,,,\r\n".encode()
    )

    assert FileEntitlementSource(path).fetch("acme") == PARSED[:1]


def test_json_file(tmp_path):
    source = write_json(tmp_path, {"acme": [STANDARD, PREMIUM], "globex": []})

    assert source.fetch("acme") == PARSED
    assert source.fetch("globex") == []


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_an_account_missing_from_the_file_has_no_entitlements(tmp_path, kind):
    source = write_csv(tmp_path, *CSV_ROWS) if kind == "csv" else write_json(tmp_path, {})

    assert source.fetch("initech") == []


def test_the_file_is_read_again_on_every_fetch(tmp_path):
    source = write_csv(tmp_path, CSV_ROWS[0])
    assert len(source.fetch("acme")) == 1

    write_csv(tmp_path, *CSV_ROWS)

    assert source.fetch("acme") == PARSED


CSV_BAD_CELLS = [
    ("activationId", "", "must not be blank"),
    ("activationId", "A" * 65, "must be at most 64 characters"),
    ("licenseType", "gold", "must be 'standard' or 'premium', got 'gold'"),
    ("term", "T" * 65, "must be at most 64 characters"),
    ("quantity", "", "must be a whole number, got ''"),
    ("quantity", "ten", "must be a whole number, got 'ten'"),
    ("quantity", "2.5", "must be a whole number, got '2.5'"),
    ("quantity", "-1", "must be between 0 and 2147483647, got -1"),
    ("expiration", "2027-02-06T05:29:59", "must include a time zone"),
    ("expiration", "06/02/2027", "must be an ISO 8601 date and time, got '06/02/2027'"),
]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    CSV_BAD_CELLS,
    ids=[f"{field}-{value!r}"[:30] for field, value, _ in CSV_BAD_CELLS],
)
def test_a_bad_csv_cell_names_the_line_and_field(tmp_path, field, value, problem):
    cells = dict(zip(CSV_HEADER.split(","), CSV_ROWS[2].split(","), strict=True))
    cells[field] = value
    source = write_csv(tmp_path, CSV_ROWS[0], CSV_ROWS[1], ",".join(cells.values()))

    # The whole file is checked, whichever account is asked for.
    with pytest.raises(BackendRejected) as caught:
        source.fetch("globex")

    message = str(caught.value)
    assert message.startswith(f"entitlement file {source.path}: line 4: {field} {problem}")


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (
            [CSV_ROWS[0], CSV_ROWS[0].replace("acme", "globex")],
            "line 3: activationId 'A-0001' is a duplicate of line 2",
        ),
        ([CSV_ROWS[0], ",A-0002,premium,Trial,0,2026-03-01T10:00:00Z"], "line 3: account"),
        ([CSV_ROWS[0], "acme,A-0002,premium,Trial,0"], "line 3: has 5 cells, the header has 6"),
        ([CSV_ROWS[0] + ",extra"], "line 2: has 7 cells, the header has 6"),
        (['acme,"A-0001,standard'], "line 2: unexpected end of data"),
    ],
    ids=["duplicate", "blank-account", "short-row", "long-row", "open-quote"],
)
def test_a_bad_csv_row_names_the_line(tmp_path, rows, problem):
    source = write_csv(tmp_path, *rows)

    with pytest.raises(BackendRejected, match="line") as caught:
        source.fetch("acme")

    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "header",
    [
        "account,activationId,licenseType,term,quantity",
        "account,activationId,licenseType,term,quantity,expiration,notes",
        "account,activation_id,licenseType,term,quantity,expiration",
        "account,account,licenseType,term,quantity,expiration",
    ],
    ids=["missing-column", "extra-column", "misspelt-column", "repeated-column"],
)
def test_a_bad_csv_header_is_rejected(tmp_path, header):
    source = write_csv(tmp_path, CSV_ROWS[0], header=header)

    with pytest.raises(BackendRejected, match=f"line 1: expected the header {CSV_HEADER}"):
        source.fetch("acme")


def test_an_empty_csv_file_is_rejected(tmp_path):
    path = tmp_path / "licenses.csv"
    path.write_text("\n\n")

    with pytest.raises(BackendRejected, match="empty; expected the header"):
        FileEntitlementSource(path).fetch("acme")


@pytest.mark.parametrize(("field", "value", "problem"), BAD_FIELDS, ids=BAD_FIELD_IDS)
def test_a_bad_json_entry_names_the_account_index_and_field(tmp_path, field, value, problem):
    source = write_json(tmp_path, {"globex": [], "acme": [STANDARD, broken(field, value)]})

    with pytest.raises(BackendRejected) as caught:
        source.fetch("globex")

    assert f": ['acme'][1].{field} {problem}" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ('{"acme": [', "not valid JSON (Expecting value (line 1, column 11))"),
        (
            '{"acme": [{"total": ' + "9" * 5000 + "}]}",
            "not valid JSON (acme[0].total: a whole number of 5,000 digits (at most 1,000))",
        ),
        ("[]", 'expected an object like {"<account>": [entitlements]}'),
        ({"acme": {"A-0001": STANDARD}}, "['acme'] must be a list of entitlements"),
        ({" ": []}, "an account name is blank"),
        ({"acme": ["A-0001"]}, "['acme'][0] must be an object, got 'A-0001'"),
        (
            {"acme": [STANDARD], "globex": [STANDARD]},
            "['globex'][0].activationId 'A-0001' is a duplicate of ['acme'][0]",
        ),
        ('{"acme": [], "globex": [], "acme": []}', "the key 'acme' appears twice"),
    ],
    ids=[
        "truncated",
        "long-integer",
        "list",
        "object",
        "blank",
        "string",
        "duplicate-id",
        "duplicate-account",
    ],
)
def test_a_bad_json_file_is_rejected(tmp_path, data, problem):
    source = write_json(tmp_path, data)

    with pytest.raises(BackendRejected) as caught:
        source.fetch("acme")

    assert str(caught.value) == f"entitlement file {source.path}: {problem}"


@pytest.mark.parametrize("name", ["licenses.csv", "licenses.json"])
def test_a_missing_file_is_unavailable(tmp_path, name):
    source = FileEntitlementSource(tmp_path / name)

    with pytest.raises(BackendUnavailable, match=f"{name} cannot be read: No such file"):
        source.fetch("acme")


def test_a_directory_is_unavailable(tmp_path):
    (tmp_path / "licenses.csv").mkdir()

    with pytest.raises(BackendUnavailable, match="cannot be read"):
        FileEntitlementSource(tmp_path / "licenses.csv").fetch("acme")


def test_a_file_that_is_not_utf8_is_rejected(tmp_path):
    path = tmp_path / "licenses.csv"
    path.write_bytes(
        f"{CSV_HEADER}\nacme,A-0001,standard,Ann\xe9e,1,2027-01-01Z\n".encode("latin-1")
    )

    with pytest.raises(BackendRejected, match="not UTF-8 text"):
        FileEntitlementSource(path).fetch("acme")


def test_a_file_of_another_kind_is_rejected(tmp_path):
    with pytest.raises(BackendRejected, match=r"expected a \.csv or \.json file"):
        FileEntitlementSource(tmp_path / "licenses.xlsx")


def test_a_blank_account_is_rejected_by_the_file_source_too(tmp_path):
    with pytest.raises(BackendRejected, match="an account is needed"):
        write_csv(tmp_path, *CSV_ROWS).fetch("")


# --- the choice by settings ------------------------------------------------------------


def test_no_back_end_configured_is_none(settings):
    settings.LICENSE_BACKEND = ""

    assert entitlement_source() is None


def test_http_back_end_from_settings(settings, fake):
    settings.LICENSE_BACKEND = "http"
    settings.LICENSE_BACKEND_URL = fake.url
    settings.LICENSE_BACKEND_TOKEN = fake.token

    source = entitlement_source()

    assert isinstance(source, HttpEntitlementSource)
    assert source.timeout == 10.0
    assert source.fetch("acme") == PARSED


def test_file_back_end_from_settings(settings, tmp_path):
    settings.LICENSE_BACKEND = "file"
    settings.LICENSE_BACKEND_FILE = str(write_csv(tmp_path, *CSV_ROWS).path)

    source = entitlement_source()

    assert isinstance(source, FileEntitlementSource)
    assert source.fetch("acme") == PARSED


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"LICENSE_BACKEND": "http", "LICENSE_BACKEND_TOKEN": "t"},
            "LICENSE_BACKEND_URL: required when LICENSE_BACKEND is http",
        ),
        (
            {"LICENSE_BACKEND": "http", "LICENSE_BACKEND_URL": "https://lic.example.com"},
            "LICENSE_BACKEND_TOKEN: required when LICENSE_BACKEND is http",
        ),
        (
            {"LICENSE_BACKEND": "file"},
            "LICENSE_BACKEND_FILE: required when LICENSE_BACKEND is file",
        ),
        ({"LICENSE_BACKEND": "ldap"}, "LICENSE_BACKEND: expected '', 'http' or 'file', got 'ldap'"),
    ],
    ids=["http-without-url", "http-without-token", "file-without-path", "unknown"],
)
def test_incomplete_settings_are_rejected(settings, values, message):
    settings.LICENSE_BACKEND_URL = settings.LICENSE_BACKEND_TOKEN = ""
    settings.LICENSE_BACKEND_FILE = ""
    for name, value in values.items():
        setattr(settings, name, value)

    with pytest.raises(BackendRejected) as caught:
        entitlement_source()

    assert str(caught.value) == message


# --- the demo's fake ---------------------------------------------------------------------


def test_demo_entitlements_are_valid(tmp_path):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    source = write_json(tmp_path, {"demo": demo_entitlements("demo", now=now)})

    lines = source.fetch("demo")

    assert [(e.license_type, e.quantity, e.term, (e.expiration - now).days) for e in lines] == [
        ("standard", 20, "1 Year Term", 200),
        ("premium", 5, "Trial", 20),
        ("standard", 10, "5 Year Term", 400),
    ]


def test_run_fake_entitlements_command_prints_the_settings(monkeypatch):
    started = {}

    def wait(backend):
        # Instead of serving until Ctrl-C, fetch once through the printed settings.
        started["lines"] = HttpEntitlementSource(backend.url, backend.token).fetch("demo")
        raise KeyboardInterrupt

    monkeypatch.setattr(FakeEntitlementBackend, "wait", wait)
    out = StringIO()

    call_command(
        "run_fake_entitlements", "--port", "0", "--token", "demo-token", "--seed", stdout=out
    )

    output = out.getvalue()
    assert "export LICENSE_BACKEND=http" in output
    assert "export LICENSE_BACKEND_TOKEN=demo-token" in output
    assert "export LICENSE_BACKEND_URL=http://127.0.0.1:" in output
    assert "account demo: 3 entitlement(s)" in output
    assert len(started["lines"]) == 3
