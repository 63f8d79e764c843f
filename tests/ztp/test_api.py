"""The ZTP admin API against the fake SRAPS on loopback: state, the card's actions (onboard
and change the key with the customer's own API key, rotate, repair), the phones at the
vendor; roles and another customer."""

from __future__ import annotations

import json

import pytest

from phones.files.access import file_secret
from phones.services.categories import customer_phone_defaults_create
from ztp.models import Status, ZtpAccount, ZtpPhone

from .conftest import key_of

pytestmark = pytest.mark.django_db

API = "/admin/api/v1/ztp"
MAC = "0004132A3B4C"


def key_body(fake) -> dict[str, str]:
    key = key_of(fake)
    return {"keyId": key["key_id"], "secret": key["secret"]}


def onboard(api, fake, vendor: str = "snom"):
    return api.post(f"{API}/{vendor}/onboard", key_body(fake), format="json")


def test_a_super_admin_onboards_checks_and_disables_through_the_api(
    api_client, super_admin, ready, sraps
):
    api = api_client(super_admin)
    before = api.get(API).json()
    assert {row["vendor"]: (row["status"], row["keyId"]) for row in before} == {
        "snom": (Status.NOT_CONFIGURED, ""),
        "gigaset": (Status.NOT_CONFIGURED, ""),
        "yealink": (Status.NOT_CONFIGURED, ""),
    }
    done = onboard(api, sraps)
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["changed"] is True and body["state"]["status"] == Status.CONFIGURED
    assert body["state"]["companyId"] == sraps.company
    assert body["state"]["keyId"] == sraps.key_id
    assert body["state"]["drift"] == ""
    assert "secret" not in body["state"] and sraps.secret not in done.content.decode()
    again = onboard(api, sraps).json()
    assert again["changed"] is False and "Already onboarded" in again["message"]
    assert api.post(f"{API}/snom/check").json()["state"]["checkedAt"]
    state = api.get(f"{API}/snom").json()
    assert (state["status"], state["keyId"]) == (Status.CONFIGURED, sraps.key_id)
    gone = api.post(f"{API}/snom/disable").json()
    assert (gone["state"]["status"], gone["state"]["keyId"], gone["state"]["companyId"]) == (
        Status.NOT_CONFIGURED,
        "",
        "",
    )
    assert f"Delete the key ({sraps.key_id})" in gone["message"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"keyId", "secret"}),
        ({"keyId": "KEY"}, {"secret"}),
        ({"secret": "SECRET"}, {"keyId"}),
        ({"keyId": "", "secret": "SECRET"}, {"keyId"}),
        ({"keyId": "KEY", "secret": "   "}, {"secret"}),
        ({"keyId": "k" * 201, "secret": "SECRET"}, {"keyId"}),
        ({"keyId": "KEY", "secret": "s" * 201}, {"secret"}),
        ({"keyId": 42, "secret": "SECRET"}, {"keyId"}),
        ({"keyId": "KEY", "secret": ["SECRET"]}, {"secret"}),
        ({"keyId": "KEY", "secret": None}, {"secret"}),
        ({"keyId": {"id": "KEY"}, "secret": True}, {"keyId", "secret"}),
        ({"keyId": "key with spaces", "secret": "SECRET"}, {"keyId"}),
        ({"keyId": "KEY", "secret": "sécret"}, {"secret"}),
    ],
    ids=[
        "empty",
        "no secret",
        "no key ID",
        "blank key ID",
        "blank secret",
        "key ID too long",
        "secret too long",
        "key ID a number",
        "secret a list",
        "secret null",
        "neither text",
        "space",
        "not ASCII",
    ],
)
@pytest.mark.parametrize("action", ["onboard", "key"])
def test_a_bad_key_is_a_400_naming_the_field_and_nothing_is_sent(
    api_client, super_admin, ready, sraps, action, body, fields
):
    text = json.dumps(body).replace("KEY", sraps.key_id).replace("SECRET", sraps.secret)

    answer = api_client(super_admin).post(
        f"{API}/snom/{action}", text, content_type="application/json"
    )

    assert answer.status_code == 400, answer.content
    assert set(answer.json()) == fields, answer.json()
    assert sraps.calls == []
    assert not ZtpAccount.objects.exists()


def test_nul_in_the_secret_is_refused_while_reading_the_body(api_client, super_admin, ready, sraps):
    text = json.dumps({"keyId": sraps.key_id, "secret": "a\x00b"})

    answer = api_client(super_admin).post(
        f"{API}/snom/onboard", text, content_type="application/json"
    )

    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("body: not valid JSON: secret:")
    assert sraps.calls == []


def test_a_key_the_vendor_refuses_is_a_400_and_nothing_is_kept(
    api_client, super_admin, ready, sraps
):
    answer = api_client(super_admin).post(
        f"{API}/snom/onboard", {"keyId": sraps.key_id, "secret": "wrong"}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "key_refused"
    assert "does not accept this API key: check its ID and secret" in answer.json()["detail"]
    account = ZtpAccount.objects.get()
    assert (account.status, account.secrets, account.key_id) == (Status.ERROR, "", "")


def test_the_key_is_changed_for_one_of_the_same_company(api_client, super_admin, ready, sraps):
    api = api_client(super_admin)
    onboard(api, sraps)
    old_key = sraps.key_id
    new_key, new_secret = sraps.add_key(sraps.company)

    done = api.post(f"{API}/snom/key", {"keyId": new_key, "secret": new_secret}, format="json")

    assert done.status_code == 200, done.json()
    assert done.json()["state"]["keyId"] == new_key
    assert done.json()["state"]["companyId"] == sraps.company
    assert f"Delete the previous key ({old_key})" in done.json()["message"]
    sraps.delete_key(old_key)  # as the message says; the new key alone works now
    checked = api.post(f"{API}/snom/check")
    assert checked.status_code == 200, checked.json()
    other_key, other_secret = sraps.add_key(sraps.add_company("Elsewhere"))
    refused = api.post(
        f"{API}/snom/key", {"keyId": other_key, "secret": other_secret}, format="json"
    )
    assert refused.status_code == 409
    assert "make the new key in the same company" in refused.json()["detail"]
    assert api.get(f"{API}/snom").json()["keyId"] == new_key


def test_the_key_cannot_be_changed_before_onboarding(api_client, super_admin, ready, sraps):
    answer = api_client(super_admin).post(f"{API}/snom/key", key_body(sraps), format="json")

    assert answer.status_code == 404
    assert "Onboard it before you change its API key" in answer.json()["detail"]
    assert sraps.calls == []


def test_rotate_gives_a_new_phone_file_url_and_keeps_the_key(api_client, super_admin, ready, sraps):
    api = api_client(super_admin)
    onboard(api, sraps)
    api.post(f"{API}/snom/phones", {"mac": MAC}, format="json")
    old_url = sraps.url_of(MAC)
    secret = file_secret(ready)

    done = api.post(f"{API}/snom/rotate")

    assert done.status_code == 200, done.json()
    assert "a new phone file URL is registered" in done.json()["message"]
    assert done.json()["state"]["keyId"] == sraps.key_id
    assert file_secret(ready) != secret
    # SRAPS keeps the URL on each phone: every registered phone has the new one.
    assert sraps.url_of(MAC) not in (None, old_url)
    assert file_secret(ready) in sraps.url_of(MAC)


def test_check_finds_a_drift_and_repair_mends_it(api_client, super_admin, ready, sraps):
    api = api_client(super_admin)
    onboard(api, sraps)
    api.post(f"{API}/snom/phones", {"mac": MAC}, format="json")
    sraps.remove_endpoint(MAC)

    checked = api.post(f"{API}/snom/check").json()

    assert checked["state"]["status"] == Status.ERROR
    assert "1 phone(s) registered here are gone at Snom SRAPS" in checked["state"]["drift"]
    repaired = api.post(f"{API}/snom/repair")
    assert repaired.status_code == 200, repaired.json()
    assert repaired.json()["state"]["drift"] == ""
    assert repaired.json()["state"]["status"] == Status.CONFIGURED
    assert MAC.lower() in sraps.endpoints


@pytest.mark.parametrize("action", ["check", "rotate", "repair"])
def test_an_action_before_onboarding_is_404_saying_what_to_do(
    api_client, super_admin, ready, sraps, action
):
    answer = api_client(super_admin).post(f"{API}/snom/{action}")

    assert answer.status_code == 404
    assert answer.json()["error"] == "not_onboarded"
    assert "Onboard it before you" in answer.json()["detail"]
    assert sraps.calls == []


def test_phones_are_registered_listed_imported_and_removed(api_client, super_admin, ready, sraps):
    api = api_client(super_admin)
    onboard(api, sraps)
    made = api.post(f"{API}/snom/phones", {"mac": "00:04:13:2a:3b:4c"}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["mac"] == MAC
    assert MAC.lower() in sraps.endpoints
    result = api.post(
        f"{API}/snom/phones/import",
        {"macs": "mac\n00:04:13:00:00:01\nnot-a-mac\n000413000002\n"},
        format="json",
    ).json()
    assert result["registered"] == ["000413000001", "000413000002"]
    assert len(result["failed"]) == 1 and result["failed"][0].startswith("line 3")
    page = api.get(f"{API}/snom/phones", {"ordering": "mac"}).json()
    assert [p["mac"] for p in page["results"]] == ["000413000001", "000413000002", MAC]
    assert api.delete(f"{API}/snom/phones/{MAC}").status_code == 204
    assert MAC.lower() not in sraps.endpoints
    assert api.delete(f"{API}/snom/phones/{MAC}").status_code == 404

    removed = api.post(
        f"{API}/snom/phones/remove", {"macs": "000413000001\n000413000003\n"}, format="json"
    )
    assert removed.status_code == 200, removed.json()
    assert removed.json() == {
        "removed": ["000413000001"],
        "failed": ["line 2: 00:04:13:00:00:03: not registered here"],
        "stopped": "",
    }
    assert "000413000001" not in sraps.endpoints
    assert [p["mac"] for p in api.get(f"{API}/snom/phones").json()["results"]] == ["000413000002"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("snom/phones", {"mac": 42}, "mac"),
        ("snom/phones", {}, "mac"),
        ("snom/phones/import", {"macs": ["000413000001"]}, "macs"),
        ("snom/phones/import", {"macs": ""}, "macs"),
        ("snom/phones/import", {"macs": "\r"}, "macs"),
        ("snom/phones/import", {"macs": "mac\n"}, "macs"),
        ("snom/phones/remove", {"macs": 5}, "macs"),
        ("snom/phones/remove", {"macs": "\n".join(["000413000001"] * 201)}, "macs"),
    ],
)
def test_bad_input_names_the_field(api_client, super_admin, ready, sraps, path, body, field):
    api = api_client(super_admin)
    onboard(api, sraps)
    answer = api.post(f"{API}/{path}", body, format="json")
    assert answer.status_code == 400 and field in answer.json()
    assert not ZtpPhone.objects.exists()


def test_a_phone_before_onboarding_says_what_to_do(api_client, super_admin, ready, sraps):
    answer = api_client(super_admin).post(f"{API}/snom/phones", {"mac": MAC}, format="json")
    assert 400 <= answer.status_code < 500
    assert answer.json()["detail"]


def test_admins_and_users_may_not_drive_ztp(api_client, admin, viewer, ready, sraps):
    for user in (admin, viewer):
        api = api_client(user)
        assert api.get(API).status_code == 404
        assert onboard(api, sraps).status_code == 404
        assert api.post(f"{API}/snom/key", key_body(sraps), format="json").status_code == 404
        for action in ("rotate", "disable", "check", "repair"):
            assert api.post(f"{API}/snom/{action}").status_code == 404
    assert sraps.calls == []
    assert not ZtpAccount.objects.exists()


def test_another_customers_super_admin_cannot_reach_this_customers_state(
    api_client, super_admin, outsider, ready, sraps
):
    customer_phone_defaults_create(customer=outsider.customer)
    api_client(super_admin).post(f"{API}/snom/onboard", key_body(sraps), format="json")
    api_client(super_admin).post(f"{API}/snom/phones", {"mac": MAC}, format="json")
    ours = ZtpAccount.objects.get()
    theirs = api_client(outsider)

    state = theirs.get(f"{API}/snom").json()
    assert (state["status"], state["keyId"], state["companyId"]) == (
        Status.NOT_CONFIGURED,
        "",
        "",
    )
    assert sraps.company not in theirs.get(API).content.decode()
    assert theirs.get(f"{API}/snom/phones").json()["results"] == []
    assert theirs.delete(f"{API}/snom/phones/{MAC}").status_code == 404
    # Their actions are on their own customer, which is not onboarded.
    for action in ("rotate", "repair", "check"):
        assert theirs.post(f"{API}/snom/{action}").status_code == 404
    assert theirs.post(f"{API}/snom/disable").json()["changed"] is False
    assert theirs.post(f"{API}/snom/key", key_body(sraps), format="json").status_code == 404
    # The same key is this customer's company: another customer may not share it.
    shared = theirs.post(f"{API}/snom/onboard", key_body(sraps), format="json")
    assert shared.status_code == 409
    assert "make a company of its own for this customer" in shared.json()["detail"]
    assert "Acme" not in shared.json()["detail"]  # which customer is not theirs to know
    after = ZtpAccount.objects.get(pk=ours.pk)
    assert (after.status, after.key_id, after.secrets) == (
        Status.CONFIGURED,
        ours.key_id,
        ours.secrets,
    )
    assert ZtpPhone.objects.filter(mac=MAC).exists()
    assert MAC.lower() in sraps.endpoints
