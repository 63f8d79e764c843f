"""Hostile input on every JSON endpoint: a clear 4xx naming what is wrong, never a 5xx,
and nothing written from unvalidated input (History keeps a sanitised copy).

The cases are the ones found by trying (deep nesting, lone surrogates, NUL, numbers jsonb
cannot hold, oversized bodies, wrong types, unknown paths), then a seeded fuzz of at least
200 generated bodies per endpoint. Run on SQLite and, in CI, on PostgreSQL, where NUL
and out-of-range numbers used to surface as DataError.
"""

from __future__ import annotations

import json
import logging
import random

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Customer
from devices.models import Device
from licensing.models import Assignment
from provisioning.models import Bootstrap, Token
from reports.models import AppId, History, HistoryResult
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000
HOSTILE_BODIES = {
    "deep nesting": DEEP,
    "deep object": '{"a":' * 1000 + "1" + "}" * 1000,
    "lone surrogate in a value": '{"token": "\\ud800", "deviceId": "\\udfff"}',
    "lone surrogate in a key": '{"\\ud800": 1}',
    "NUL in a value": '{"token": "abc\\u0000def", "deviceId": "x\\u0000"}',
    "number out of range": '{"token": 1e999}',
    "NaN": '{"token": NaN}',
    "Infinity": '{"a": -Infinity}',
    "not UTF-8": b'{"token": "\xff\xfe"}',
    "truncated": '{"token": ',
    "a list": "[1, 2, 3]",
    "a string": '"token"',
    "null": "null",
}


@pytest.fixture
def fleet(customer):
    """A customer with a token and a device, so that only bad input can fail."""
    bootstrap = Bootstrap.objects.create(customer=customer, name="B", parameters={"a": 1})
    Token.objects.create(
        customer=customer, value="acme-token", app_id=AppId.VOICE, bootstrap=bootstrap
    )
    Device.objects.create(customer=customer, device_id="TC52_1")
    return customer


def _admin_api(user):
    api = APIClient()
    response = api.post(
        "/admin/api/v1/auth/admin", {"username": user.username, "password": PASSWORD}, format="json"
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['accessToken']}")
    return api


def _endpoints(super_admin):
    """(name, client, path) of every endpoint that takes a JSON body."""
    device = APIClient()
    admin = _admin_api(super_admin)
    return [
        ("device bootstrap", device, "/device/api/v1/bootstrap"),
        ("device license", device, "/device/api/v1/license"),
        ("device checkin", device, "/device/api/v1/checkin"),
        ("device code", device, "/device/api/v1/code"),
        ("login", APIClient(), "/admin/api/v1/auth/admin"),
        ("refresh", APIClient(), "/admin/api/v1/auth/refresh"),
        ("bootstrap save", admin, "/admin/api/v1/bootstrap?name=Fuzz"),
        ("devices merge", admin, "/admin/api/v1/devices/merge"),
        ("users add", admin, "/admin/api/v1/users"),
        ("import", admin, "/admin/api/v1/import"),
    ]


def _written():
    """What a refused request must not change."""
    return (
        Token.objects.count(),
        Bootstrap.objects.count(),
        Device.objects.count(),
        Assignment.objects.count(),
        Customer.objects.count(),
    )


def _assert_clear_refusal(response, label):
    assert 400 <= response.status_code < 500, (label, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), label
    body = response.json()
    assert isinstance(body, dict) and body, label
    if "error" in body:
        assert body.get("detail"), label


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
def test_hostile_bodies_are_refused_on_every_json_endpoint(fleet, super_admin, case):
    raw = HOSTILE_BODIES[case]
    raw = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    before = _written()
    for label, client, path in _endpoints(super_admin):
        response = client.post(path, raw, content_type="application/json")
        _assert_clear_refusal(response, f"{label}: {case}")
    assert _written() == before


def test_the_parse_error_names_the_body():
    response = APIClient().post("/device/api/v1/bootstrap", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "detail": "body: not valid JSON: nested more than 64 levels deep",
    }


def test_history_keeps_a_sanitised_copy_of_a_refused_request(fleet):
    response = APIClient().post(
        "/device/api/v1/bootstrap",
        {"token": "acme-token", "deviceId": 123, "appId": AppId.VOICE},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "deviceId: must be text (a JSON string)"
    row = History.objects.get()
    assert (row.result, row.token, row.device_id) == (HistoryResult.BAD_REQUEST, "acme-token", "")
    # A body that cannot be read leaves a row with nothing of it.
    APIClient().post(
        "/device/api/v1/license", HOSTILE_BODIES["NUL in a value"], content_type="application/json"
    )
    assert History.objects.latest("pk").token == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [("deviceId", 123), ("token", ["acme-token"]), ("appVersion", {"v": 1}), ("model", True)],
)
def test_a_non_string_where_the_schema_says_string_is_refused(fleet, field, value):
    body = {"token": "acme-token", "deviceId": "TC52_1", "appId": AppId.VOICE, field: value}
    response = APIClient().post("/device/api/v1/bootstrap", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")
    assert not Device.objects.exclude(device_id="TC52_1").exists()


def test_an_oversized_body_is_413_json(settings, super_admin):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"token": "x" * 2000})
    for label, client, path in _endpoints(super_admin):
        if label == "import":
            continue  # takes files up to its own, larger limit
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 413, (label, response.content[:200])
        assert response.json()["error"] == "too_large", label
    form = APIClient().post("/admin/api/v1/auth/admin", {"username": "x" * 2000, "password": "y"})
    assert form.status_code == 413
    assert form.json()["error"] == "too_large"


@pytest.mark.parametrize(
    "path",
    ["/admin/api/v1/devices/a%00b", "/admin/api/v1/tokens?q=a%00b", "/admin/tokens/?q=%00"],
)
def test_nul_in_the_address_is_400(super_admin, portal_client, path):
    if path.startswith("/admin/api/"):
        response = _admin_api(super_admin).get(path)
        assert response.json()["error"] == "bad_request"
    else:
        response = portal_client(super_admin).get(path)
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/device/api/v1/nope", "/device/", "/admin/api/v1/nope"])
def test_unknown_api_paths_are_404_json(path):
    response = APIClient().get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_portal_bootstrap_form_refuses_what_jsonb_cannot_hold(super_admin, portal_client):
    client = portal_client(super_admin)
    for text, problem in [
        ('{"a": 1e999}', "out of range"),
        ('{"a": NaN}', "not a JSON value"),
        ('{"a": "\\u0000"}', "NUL"),
        ('{"a": "\\ud800"}', "lone surrogate"),
        ("[" * 200 + "]" * 200, "nested more than 64"),
    ]:
        response = client.post(
            reverse("provisioning:bootstrap_add"), {"name": "Fuzz", "parameters": text}
        )
        assert response.status_code == 200, text
        assert problem in str(response.context["form"].errors["parameters"]), text
    assert not Bootstrap.objects.filter(name="Fuzz").exists()


# --- Seeded fuzz -------------------------------------------------------------------------

FUZZ_CASES = 200


def _fuzz_value(rng: random.Random, depth: int = 0):
    kind = rng.choice(
        ["text", "huge text", "surrogate", "nul", "int", "huge int", "float", "bool", "null"]
        + (["list", "object"] if depth < 4 else [])
    )
    if kind == "text":
        return "".join(rng.choice("aZ09-_ üé/\\\"'") for _ in range(rng.randint(0, 20)))
    if kind == "huge text":
        return "x" * rng.choice([65, 129, 10_000])
    if kind == "surrogate":
        return "\ud800" + "tail"
    if kind == "nul":
        return "a\x00b"
    if kind == "int":
        return rng.randint(-(2**31), 2**31)
    if kind == "huge int":
        return rng.choice([2**63, -(2**63) - 1, 10**400])
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e308, 5e-324])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [_fuzz_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice(["token", "deviceId", "appId", "feature", "name", "x"]): _fuzz_value(
            rng, depth + 1
        )
        for _ in range(rng.randint(0, 4))
    }


def _fuzz_body(rng: random.Random) -> bytes:
    fields = [
        "token",
        "deviceId",
        "appId",
        "feature",
        "appVersion",
        "model",
        "os",
        "username",
        "password",
        "refreshToken",
        "provider",
        "email",
        "role",
        "bootstraps",
        "tokens",
        "code",
        "mac",
        "localIp",
    ]
    body = {name: _fuzz_value(rng) for name in rng.sample(fields, rng.randint(0, len(fields)))}
    if rng.random() < 0.2:
        body["token"] = "acme-token"
    text = json.dumps(body, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.1:
        text = "[" * rng.randint(60, 3000) + text + "]" * rng.randint(0, 3000)
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("endpoint", range(10))
def test_seeded_fuzz_never_answers_5xx(fleet, super_admin, endpoint):
    label, client, path = _endpoints(super_admin)[endpoint]
    rng = random.Random(f"fuzz-{label}")
    before_customers = Customer.objects.count()
    for case in range(FUZZ_CASES):
        raw = _fuzz_body(rng)
        response = client.post(path, raw, content_type="application/json")
        assert response.status_code < 500, (label, case, raw[:200], response.content[:300])
    assert Customer.objects.count() == before_customers


# --- Integers longer than the interpreter converts ---------------------------------------

# Python refuses to convert more than 4,300 digits (sys.get_int_max_str_digits) with a bare
# ValueError, which json.loads lets through.
LONG_INTEGER = "9" * 5000


def _json_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the API schema that takes a JSON body: a new
    endpoint is covered by the tests below without being listed."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


# Path parameters that name no object: a vendor, a desk phone's MAC, a line.
PATH_VALUES = {"{vendor}": "snom", "{deviceId}": "000413ABCDEF", "{position}": "1"}


def _concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    return path


def test_every_json_operation_of_the_schema_is_fuzzed_here():
    covered = {(method, path) for method, path in _json_operations()}
    assert ("POST", "/device/api/v1/code") in covered
    assert ("PUT", "/admin/api/v1/users/{id}") in covered
    # The ZTP actions that take the customer's API key.
    assert ("POST", "/admin/api/v1/ztp/{vendor}/onboard") in covered
    assert ("POST", "/admin/api/v1/ztp/{vendor}/key") in covered
    assert len(covered) >= 15, covered


@pytest.mark.parametrize(("method", "path"), _json_operations())
@pytest.mark.parametrize(
    "body",
    [
        f'{{"token": {LONG_INTEGER}, "deviceId": "TC52_1"}}',
        f"[{LONG_INTEGER}]",
        LONG_INTEGER,
        f'{{"a": {{"b": [1, -{LONG_INTEGER}]}}}}',
    ],
    ids=["in an object", "in a list", "alone", "nested, negative"],
)
def test_a_long_integer_is_a_400_naming_where_it_is(
    fleet, super_admin, viewer, caplog, method, path, body
):
    client = APIClient() if path.startswith(("/device/", "/admin/api/v1/auth/")) else None
    client = client or _admin_api(super_admin)
    url = _concrete(path.replace("{id}", str(viewer.pk)))
    if path == "/admin/api/v1/bootstrap":
        url += "?name=Fuzz"
    before = _written()
    response = client.generic(method, url, body, content_type="application/json")
    assert response.status_code == 400, (method, path, response.content[:300])
    text = json.dumps(response.json())
    assert "5,000 digits" in text, text
    if body.startswith('{"token"'):
        assert "token:" in text, text
    elif body.startswith("["):
        assert "[0]:" in text, text
    elif body.startswith('{"a"'):
        assert "a.b[1]:" in text, text
    assert _written() == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_long_integers_are_counted_by_the_device_limits(fleet, settings):
    settings.DEVICE_RATE_PER_IP = "5/min"
    body = f'{{"token": {LONG_INTEGER}}}'
    answers = [
        APIClient()
        .post("/device/api/v1/bootstrap", body, content_type="application/json")
        .status_code
        for _ in range(7)
    ]
    assert answers == [400] * 5 + [429] * 2
    assert History.objects.filter(result=HistoryResult.RATE_LIMITED).count() == 2


# --- The ZTP API key -----------------------------------------------------------------------

HOSTILE_KEY_VALUES = {
    "huge": '"' + "k" * 10_000 + '"',
    "just too long": '"' + "k" * 201 + '"',
    "NUL": '"key\\u0000id"',
    "lone surrogate": '"\\ud800"',
    "a number": "42",
    "a 5000-digit integer": LONG_INTEGER,
    "a float out of range": "1e999",
    "true": "true",
    "null": "null",
    "a list": '["key"]',
    "an object": '{"id": "key"}',
    "blank": '"   "',
    "spaces": '"key id"',
    "not ASCII": '"cl\u00e9"',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_KEY_VALUES))
@pytest.mark.parametrize("field", ["keyId", "secret"])
@pytest.mark.parametrize("action", ["onboard", "key"])
def test_hostile_api_keys_are_refused_naming_the_field(
    fleet, super_admin, settings, action, field, case
):
    from ztp.models import ZtpAccount

    # Nothing answers there: a value that got through would fail on the network, not here.
    settings.ZTP_VENDORS = {
        "snom": {"url": "http://127.0.0.1:9/api/v1"},
        "gigaset": {"url": "http://127.0.0.1:9/api/v1"},
        "yealink": {"url": "http://127.0.0.1:9"},
    }
    value = HOSTILE_KEY_VALUES[case]
    other = "secret" if field == "keyId" else "keyId"
    raw = f'{{"{field}": {value}, "{other}": "fine-value"}}'.encode("utf-8", "surrogatepass")
    before = _written()

    response = _admin_api(super_admin).post(
        f"/admin/api/v1/ztp/snom/{action}", raw, content_type="application/json"
    )

    _assert_clear_refusal(response, f"{action} {field}: {case}")
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    if case != "a float out of range":  # the parser's message says what, not where
        assert field in body or f"{field}:" in body.get("detail", ""), body
    assert _written() == before
    assert not ZtpAccount.objects.exists()


# --- ordering= -----------------------------------------------------------------------------


def _ordered_lists() -> list[tuple[str, list[str]]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, parameter["schema"]["items"]["enum"])
        for path, operations in schema["paths"].items()
        for parameter in operations.get("get", {}).get("parameters", [])
        if parameter["name"] == "ordering" and parameter["schema"].get("type") == "array"
    )


@pytest.mark.parametrize(("path", "columns"), _ordered_lists())
def test_ordering_takes_what_the_schema_says_and_refuses_empty_columns(
    fleet, super_admin, path, columns
):
    """`ordering` is one or more of the schema's columns: an empty column, `ordering=`
    alone included, is not one of them, so it is refused; leaving it out is the list's own
    order."""
    assert "" not in columns, path
    path = _concrete(path)
    api = _admin_api(super_admin)
    assert api.get(path, {"page": 1}).status_code == 200, path
    assert api.get(path, {"ordering": columns[0], "page": 1}).status_code == 200, path
    for bad in ["", f",{columns[0]}", f"{columns[0]},", f"{columns[0]},,{columns[-1]}", "nope"]:
        response = api.get(path, {"ordering": bad, "page": 1})
        assert response.status_code == 400, (path, bad)
        assert "ordering" in response.json(), (path, bad)


def test_ordering_schema_needs_a_column(fleet):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    orderings = [
        parameter["schema"]
        for operations in schema["paths"].values()
        for parameter in operations.get("get", {}).get("parameters", [])
        if parameter["name"] == "ordering" and parameter["schema"].get("type") == "array"
    ]
    assert orderings and all(o.get("minItems") == 1 for o in orderings)


# --- If-Match ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ['"3"', "3", "*", ' "3"\t', 'W/"3"', '"0"0', '"3"x', "x3", "**", '"3", "4"', "3 3", "\t"],
)
def test_the_schema_pattern_of_if_match_takes_what_the_server_takes(customer, admin, header):
    """Whatever the schema's pattern (searched, as JSON Schema does) lets through is not a
    400 from the server, and whatever it refuses is."""
    import re

    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/admin/api/v1/bootstrap"]["post"]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "If-Match"]
    schema_takes = re.search(parameter["schema"]["pattern"], header) is not None
    Bootstrap.objects.create(customer=customer, name="b1", parameters={"v": 1})
    response = _admin_api(admin).post(
        "/admin/api/v1/bootstrap?name=b1",
        '{"v": 2}',
        content_type="application/json",
        headers={"If-Match": header},
    )
    assert (response.status_code != 400) == schema_takes, (header, response.content[:200])
