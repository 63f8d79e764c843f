"""Bulk import of bootstraps and tokens: `POST /admin/api/v1/import` (JSON, CSV body, CSV
upload) and `manage.py import_tokens`. All or nothing: one bad row writes nothing."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from provisioning import importing
from provisioning.models import Bootstrap, Token
from provisioning.services.catalog import CATALOG_IMPORT_MAX_ROWS, catalog_import
from reports.models import AppId, Event
from tests.provisioning.factories import BootstrapFactory, TokenFactory

pytestmark = pytest.mark.django_db

URL = "/admin/api/v1/import"
HEADER = "bootstrap,parameters,token,appId,description\n"


def send_json(api, data):
    return api.post(URL, json.dumps(data), content_type="application/json")


def send_csv(api, text):
    return api.post(URL, text.encode(), content_type="text/csv")


def csv_row(site: int, token: str | None = None, app="WFC_PRO_ANDROID", params=None) -> str:
    parameters = json.dumps(params if params is not None else {"site": f"site-{site}"})
    quoted = '"' + parameters.replace('"', '""') + '"'
    return f"Site-{site},{quoted},{token or f'tok-{site:03}'},{app},Phones of site {site}\n"


def snapshot(customer=None):
    """What an import may change: the rows and the Event log."""
    return (
        sorted(Bootstrap.objects.values_list("customer_id", "name", "version")),
        sorted(Token.objects.values_list("customer_id", "value", "version", "bootstrap_id")),
        Event.objects.count(),
    )


# --- JSON ---------------------------------------------------------------------------------


def test_json_import_adds_and_replaces(admin, customer, api_client):
    existing = BootstrapFactory(customer=customer, name="Site-1", parameters={"old": True})
    TokenFactory(customer=customer, value="tok-1", bootstrap=existing)
    data = {
        "bootstraps": [
            {"name": "Site-1", "parameters": {"site": "site-1"}},
            {"name": "Site-2", "parameters": {"site": "site-2"}},
        ],
        "tokens": [
            {"name": "TOK-1", "appId": "WFC_PRO_ANDROID", "bootstrap": "Site-1"},
            {
                "name": "tok-002",
                "appId": "WFC_VOICE_ANDROID",
                "bootstrap": "Site-2",
                "description": "second",
                "expiresAt": "2031-05-01T00:00:00+02:00",
                "maxRedemptions": 10,
                "revoked": False,
            },
        ],
    }

    response = send_json(api_client(admin), data)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "bootstraps": {"added": 1, "replaced": 1},
        "tokens": {"added": 1, "replaced": 1},
    }
    tokens = {t.value: t for t in Token.objects.for_customer(customer).select_related("bootstrap")}
    assert set(tokens) == {"TOK-1", "tok-002"}
    assert tokens["TOK-1"].app_id == AppId.PTT_PRO
    assert tokens["TOK-1"].version == 2
    assert tokens["tok-002"].bootstrap.parameters == {"site": "site-2"}
    assert tokens["tok-002"].max_redemptions == 10
    assert tokens["tok-002"].expires_at.isoformat() == "2031-04-30T22:00:00+00:00"
    assert Bootstrap.objects.for_customer(customer).get(name="Site-1").version == 2
    types = sorted(Event.objects.for_customer(customer).values_list("type", flat=True))
    assert types == [
        "BOOTSTRAP_ADDED",
        "BOOTSTRAP_UPDATED",
        "CATALOG_IMPORTED",
        "TOKEN_ADDED",
        "TOKEN_UPDATED",
    ]
    assert set(Event.objects.values_list("username", flat=True)) == {admin.username}


def test_tokens_may_use_bootstraps_the_customer_already_has(admin, customer, api_client):
    BootstrapFactory(customer=customer, name="Existing")
    data = {"tokens": [{"name": "token-1", "appId": "WFC_PRO_IOS", "bootstrap": "Existing"}]}
    response = send_json(api_client(admin), data)
    assert response.status_code == 200
    assert response.json()["tokens"] == {"added": 1, "replaced": 0}


def test_one_bad_row_writes_nothing_and_reports_every_bad_row(admin, customer, api_client):
    BootstrapFactory(customer=customer, name="Keep", parameters={"v": 1})
    before = snapshot()
    data = {
        "bootstraps": [
            {"name": "Good", "parameters": {"site": "good"}},
            {"name": "Keep", "parameters": {"v": 2}},
            {"name": "Listy", "parameters": ["not", "an", "object"]},
        ],
        "tokens": [
            {"name": "okay-1", "appId": "WFC_PRO_ANDROID", "bootstrap": "Good"},
            {"name": "bad token", "appId": "WFC_NOPE", "bootstrap": "Good"},
            {"name": "okay-2", "appId": "WFC_PRO_ANDROID", "bootstrap": "Nowhere"},
        ],
    }

    response = send_json(api_client(admin), data)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_rows"
    assert {(r["row"], r["field"]) for r in body["rows"]} == {
        (3, "bootstraps.parameters"),
        (2, "tokens.name"),
        (2, "tokens.appId"),
        (3, "tokens.bootstrap"),
    }
    assert all(r["detail"] for r in body["rows"])
    assert snapshot() == before
    assert Bootstrap.objects.get(name="Keep").parameters == {"v": 1}


def test_json_type_errors_are_row_errors(admin, api_client):
    data = {
        "bootstraps": [{"name": "B", "parameters": {}, "colour": "red"}, {"name": "C"}],
        "tokens": [
            {
                "name": "token-1",
                "appId": "WFC_PRO_ANDROID",
                "bootstrap": "B",
                "expiresAt": "soon",
                "maxRedemptions": "lots",
                "revoked": "perhaps",
            },
            "not an object",
        ],
    }
    response = send_json(api_client(admin), data)
    assert response.status_code == 400
    assert {(r["row"], r["field"]) for r in response.json()["rows"]} == {
        (1, "bootstraps.colour"),
        (2, "bootstraps.parameters"),
        (1, "tokens.expiresAt"),
        (1, "tokens.maxRedemptions"),
        (1, "tokens.revoked"),
        (2, "tokens"),
    }
    assert not Bootstrap.objects.exists()


@pytest.mark.parametrize(
    "body",
    ["{not json", "[]", '{"bootstrap": []}', '{"tokens": {}}', "{}", '{"tokens": [{"x": NaN}]}'],
)
def test_malformed_json_is_400_invalid_file(body, admin, api_client):
    response = api_client(admin).post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_file", "invalid_rows"}
    assert not Token.objects.exists()


def test_duplicate_token_within_the_file_is_refused(admin, customer, api_client):
    BootstrapFactory(customer=customer, name="B")
    data = {
        "tokens": [
            {"name": "Dup-01", "appId": "WFC_PRO_ANDROID", "bootstrap": "B"},
            {"name": "dup-01", "appId": "WFC_PRO_ANDROID", "bootstrap": "B"},
        ]
    }
    response = send_json(api_client(admin), data)
    assert response.status_code == 400
    [error] = response.json()["rows"]
    assert (error["row"], error["field"]) == (2, "tokens.name")
    assert "row 1" in error["detail"]
    assert not Token.objects.exists()


def test_token_held_by_another_customer_is_a_row_error(admin, customer, other_customer, api_client):
    TokenFactory(customer=other_customer, value="taken-1")
    data = {
        "bootstraps": [{"name": "B", "parameters": {}}],
        "tokens": [{"name": "TAKEN-1", "appId": "WFC_PRO_ANDROID", "bootstrap": "B"}],
    }
    response = send_json(api_client(admin), data)
    assert response.status_code == 400
    [error] = response.json()["rows"]
    assert error["field"] == "tokens.name"
    assert "already in use" in error["detail"]
    assert other_customer.name not in response.content.decode()
    assert not Bootstrap.objects.for_customer(customer).exists()


# --- CSV ------------------------------------------------------------------------------------


def test_csv_body_imports_hundreds_of_sites(admin, customer, api_client):
    text = HEADER + "".join(csv_row(n) for n in range(1, 201))
    response = send_csv(api_client(admin), text)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "bootstraps": {"added": 200, "replaced": 0},
        "tokens": {"added": 200, "replaced": 0},
    }
    token = Token.objects.for_customer(customer).select_related("bootstrap").get(value="tok-077")
    assert token.bootstrap.name == "Site-77"
    assert token.bootstrap.parameters == {"site": "site-77"}
    assert token.description == "Phones of site 77"


def test_csv_upload_with_bom_and_shared_bootstrap_rows(admin, customer, api_client):
    text = (
        HEADER
        + 'Floor,"{""site"": ""f""}",floor-1,WFC_PRO_ANDROID,\n'
        + 'Floor,"{""site"": ""f""}",floor-2,WFC_VOICE_ANDROID,\n'  # same definition again
        + "Floor,,floor-3,WFC_PRO_IOS,no parameters: uses the bootstrap\n"
        + '\nLobby,"{""site"": ""l""}",,,\n'  # a blank line, then a bootstrap without token
    )
    upload = SimpleUploadedFile(
        "sites.csv", b"\xef\xbb\xbf" + text.encode(), "application/vnd.ms-excel"
    )

    response = api_client(admin).post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "bootstraps": {"added": 2, "replaced": 0},
        "tokens": {"added": 3, "replaced": 0},
    }
    assert set(Token.objects.for_customer(customer).values_list("bootstrap__name", flat=True)) == {
        "Floor"
    }


def test_json_upload(admin, customer, api_client):
    data = {"bootstraps": [{"name": "B", "parameters": {"a": 1}}]}
    upload = SimpleUploadedFile("catalog.json", json.dumps(data).encode(), "application/json")
    response = api_client(admin).post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 200
    assert Bootstrap.objects.for_customer(customer).get().parameters == {"a": 1}


def test_csv_errors_name_the_line_and_column_and_write_nothing(admin, customer, api_client):
    before = snapshot()
    text = (
        HEADER
        + csv_row(1)
        + 'Site-2,"{""site"": ",tok-002,WFC_PRO_ANDROID,\n'  # line 3: broken JSON
        + csv_row(4, token="has space")  # line 4
        + csv_row(5, app="WFC_NOPE")  # line 5
        + csv_row(6, token="TOK-001")  # line 6: tok-001 again, another case
        + csv_row(1, token="tok-007", params={"site": "changed"})  # line 7: Site-1 redefined
        + ",,tok-008,WFC_PRO_ANDROID,\n"  # line 8: no bootstrap
        + "Site-9,,,,\n"  # line 9: defines nothing
    )
    response = send_csv(api_client(admin), text)

    assert response.status_code == 400
    rows = response.json()["rows"]
    assert [(r["row"], r["field"]) for r in rows] == [
        (3, "parameters"),
        (9, "parameters"),
    ], "format errors come first; nothing else is checked until they are fixed"

    # With the format fixed, the rules are checked for every row.
    text = text.replace('"{""site"": ",', '"{}",').replace("Site-9,,,,\n", "")
    rows = send_csv(api_client(admin), text).json()["rows"]
    assert {(r["row"], r["field"]) for r in rows} == {
        (4, "token"),
        (5, "appId"),
        (6, "token"),
        (7, "bootstrap"),
        (8, "bootstrap"),
    }
    assert snapshot() == before


def test_csv_header_must_name_known_columns(admin, api_client):
    response = send_csv(api_client(admin), "bootstrap,params,token\nB,{},t\n")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_file"
    assert "params" in response.json()["detail"]


def test_csv_optional_columns(admin, customer, api_client):
    text = (
        "bootstrap,parameters,token,appId,description,expiresAt,maxRedemptions,revoked\n"
        'B,"{}",token-1,WFC_PRO_ANDROID,,2030-01-01T00:00:00Z,5,true\n'
    )
    assert send_csv(api_client(admin), text).status_code == 200
    token = Token.objects.for_customer(customer).get()
    assert (token.max_redemptions, token.revoked) == (5, True)


def test_not_utf8_is_400(admin, api_client):
    response = send_csv(api_client(admin), "")
    assert response.status_code == 400
    response = api_client(admin).post(
        URL, HEADER.encode() + b"B,{},t\xff,x,\n", content_type="text/csv"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_file"


# --- Limits -----------------------------------------------------------------------------


def test_too_many_rows_is_400(admin, api_client, monkeypatch):
    monkeypatch.setattr(importing, "MAX_IMPORT_ROWS", 3)
    response = send_csv(api_client(admin), HEADER + "".join(csv_row(n) for n in range(4)))
    assert response.status_code == 400
    assert response.json()["error"] == "too_many_rows"
    assert not Bootstrap.objects.exists()


def test_too_large_is_413(admin, api_client, monkeypatch):
    monkeypatch.setattr(importing, "MAX_IMPORT_BYTES", 1000)
    response = send_csv(api_client(admin), HEADER + "".join(csv_row(n) for n in range(40)))
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not Bootstrap.objects.exists()


def test_the_service_caps_each_list(customer):
    entries = [{"name": f"b{n}", "parameters": {}} for n in range(CATALOG_IMPORT_MAX_ROWS + 1)]
    with pytest.raises(ValidationError):
        catalog_import(customer=customer, user=None, bootstraps=entries, tokens=[])


def test_query_count_grows_by_a_bounded_amount_per_row(
    admin, api_client, django_assert_max_num_queries
):
    text = HEADER + "".join(csv_row(n) for n in range(50))
    # Per row, bootstrap_save (8) and token_save (8): their savepoints, the row lock, the
    # clash check, the insert and the Event. Plus login, customer, the bootstrap prefetch
    # and the summary Event. Looking each token's bootstrap up by name again would add 50.
    with django_assert_max_num_queries(50 * 16 + 10):
        response = send_csv(api_client(admin), text)
    assert response.status_code == 200


# --- Who may import ---------------------------------------------------------------------


def test_user_role_may_not_import(viewer, api_client):
    response = send_json(api_client(viewer), {"bootstraps": [{"name": "B", "parameters": {}}]})
    assert response.status_code == 403
    assert not Bootstrap.objects.exists()


def test_anonymous_gets_401_and_get_is_405(admin, api_client):
    assert send_json(api_client(), {"bootstraps": []}).status_code == 401
    assert api_client(admin).get(URL).status_code == 405


def test_outsider_imports_into_their_own_customer_only(
    outsider, customer, other_customer, api_client
):
    BootstrapFactory(customer=customer, name="Shared-Name", parameters={"acme": True})
    data = {
        "bootstraps": [{"name": "Shared-Name", "parameters": {"globex": True}}],
        "tokens": [{"name": "gtok-1", "appId": "WFC_PRO_ANDROID", "bootstrap": "Shared-Name"}],
    }
    response = send_json(api_client(outsider), data)
    assert response.json() == {
        "bootstraps": {"added": 1, "replaced": 0},
        "tokens": {"added": 1, "replaced": 0},
    }
    assert Bootstrap.objects.for_customer(customer).get().parameters == {"acme": True}
    assert Token.objects.get(value="gtok-1").customer == other_customer


def test_staff_import_for_the_customer_they_name(staff, customer, api_client):
    data = {"bootstraps": [{"name": "B", "parameters": {}}]}
    response = api_client(staff).post(
        URL + "?customer=acme", json.dumps(data), content_type="application/json"
    )
    assert response.status_code == 200
    assert Bootstrap.objects.for_customer(customer).exists()


# --- manage.py import_tokens ------------------------------------------------------------


def run(*args):
    out = io.StringIO()
    call_command("import_tokens", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_imports_a_csv_file(tmp_path, admin, customer):
    path = tmp_path / "sites.csv"
    path.write_text(HEADER + csv_row(1) + csv_row(2))

    out = run(str(path), "--customer", "acme", "--user", admin.username)

    assert "bootstraps 2 added" in out
    assert "tokens 2 added" in out
    assert Token.objects.for_customer(customer).count() == 2
    assert set(Event.objects.values_list("username", flat=True)) == {admin.username}


def test_command_imports_a_json_file(tmp_path, customer):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"bootstraps": [{"name": "B", "parameters": {"a": 1}}]}))
    assert "bootstraps 1 added" in run(str(path), "--customer", "acme")
    assert Bootstrap.objects.for_customer(customer).get().parameters == {"a": 1}


def test_command_names_the_bad_rows_and_writes_nothing(tmp_path, customer):
    path = tmp_path / "sites.csv"
    path.write_text(HEADER + csv_row(1) + csv_row(2, app="WFC_NOPE") + csv_row(3, token="tok-1"))

    with pytest.raises(CommandError) as error:
        run(str(path), "--customer", "acme")

    message = str(error.value)
    assert "row 3, appId:" in message
    assert "row 4, token:" in message
    assert not Bootstrap.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--customer", "nobody"], "--customer"),
        (["--customer", "acme", "--user", "otto"], "--user"),
        (["--customer", "acme", "--user", "ghost"], "--user"),
    ],
)
def test_command_refuses_bad_options(args, named, tmp_path, customer, outsider):
    path = tmp_path / "sites.csv"
    path.write_text(HEADER + csv_row(1))
    with pytest.raises(CommandError, match=named):
        run(str(path), *args)
    assert not Bootstrap.objects.exists()


def test_command_reports_an_unreadable_file(tmp_path, customer):
    with pytest.raises(CommandError, match="file:"):
        run(str(tmp_path / "missing.csv"), "--customer", "acme")
    path = tmp_path / "x.json"
    path.write_text("{oops")
    with pytest.raises(CommandError, match="file: not valid JSON"):
        run(str(path), "--customer", "acme")
