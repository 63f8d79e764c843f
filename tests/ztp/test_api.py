"""The ZTP admin API against the fake SRAPS on loopback: state, the card's actions, the
phones at the vendor; roles and another customer."""

from __future__ import annotations

import pytest

from ztp.models import Status, ZtpPhone

pytestmark = pytest.mark.django_db

API = "/admin/api/v1/ztp"
MAC = "0004132A3B4C"


def test_a_super_admin_onboards_checks_and_disables_through_the_api(
    api_client, super_admin, ready, sraps
):
    api = api_client(super_admin)
    before = api.get(API).json()
    assert {row["vendor"]: row["status"] for row in before} == {
        "snom": Status.NOT_CONFIGURED,
        "yealink": Status.NOT_CONFIGURED,
    }
    done = api.post(f"{API}/snom/onboard")
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["changed"] is True and body["state"]["status"] == Status.CONFIGURED
    assert body["state"]["companyId"] in sraps.companies
    again = api.post(f"{API}/snom/onboard").json()
    assert again["changed"] is False and "Already onboarded" in again["message"]
    assert api.post(f"{API}/snom/check").json()["state"]["checkedAt"]
    assert api.get(f"{API}/snom").json()["status"] == Status.CONFIGURED
    assert api.post(f"{API}/snom/disable").json()["state"]["status"] == Status.NOT_CONFIGURED


def test_phones_are_registered_listed_imported_and_removed(api_client, super_admin, ready, sraps):
    api = api_client(super_admin)
    api.post(f"{API}/snom/onboard")
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


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("snom/phones", {"mac": 42}, "mac"),
        ("snom/phones", {}, "mac"),
        ("snom/phones/import", {"macs": ["000413000001"]}, "macs"),
        ("snom/phones/import", {"macs": ""}, "macs"),
    ],
)
def test_bad_input_names_the_field(api_client, super_admin, ready, sraps, path, body, field):
    api = api_client(super_admin)
    api.post(f"{API}/snom/onboard")
    answer = api.post(f"{API}/{path}", body, format="json")
    assert answer.status_code == 400 and field in answer.json()
    assert not ZtpPhone.objects.exists()


def test_an_action_before_onboarding_says_what_to_do(api_client, super_admin, ready, sraps):
    answer = api_client(super_admin).post(f"{API}/snom/phones", {"mac": MAC}, format="json")
    assert 400 <= answer.status_code < 500
    assert answer.json()["detail"]


def test_admins_and_users_may_not_drive_ztp(api_client, admin, viewer, ready, sraps):
    for user in (admin, viewer):
        api = api_client(user)
        assert api.get(API).status_code == 404
        assert api.post(f"{API}/snom/onboard").status_code == 404
    assert not sraps.companies


def test_another_customers_phones_are_not_reachable(
    api_client, super_admin, outsider, ready, sraps
):
    api_client(super_admin).post(f"{API}/snom/onboard")
    api_client(super_admin).post(f"{API}/snom/phones", {"mac": MAC}, format="json")
    theirs = api_client(outsider)
    assert theirs.get(f"{API}/snom/phones").json()["results"] == []
    assert theirs.delete(f"{API}/snom/phones/{MAC}").status_code == 404
    assert theirs.get(f"{API}/snom").json()["status"] == Status.NOT_CONFIGURED
    assert ZtpPhone.objects.filter(mac=MAC).exists()
