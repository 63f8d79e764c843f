"""The desk-phone admin API: /categories, /codes, /jobs/software, /jobs/config."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from phones.models import Category, ConfigJob, ProvisioningCode, SoftwareJob
from phones.services.codes import provisioning_code_issue, rollout_create
from phones.services.jobs import software_job_create
from reports.models import Event
from tests.provisioning.factories import BootstrapFactory

pytestmark = pytest.mark.django_db

API = "/admin/api/v1"


@pytest.fixture
def category(customer):
    return Category.objects.create(customer=customer, name="Desk Phones")


def test_categories_list_add_and_delete(api_client, admin, customer, category):
    BootstrapFactory(customer=customer, name="Phone-Config")
    api = api_client(admin)
    response = api.post(
        f"{API}/categories",
        {"name": "Lobby", "isProvisioning": False, "bootstrap": "Phone-Config"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["bootstrap"] == "Phone-Config"
    page = api.get(f"{API}/categories", {"ordering": "name"}).json()
    assert [c["name"] for c in page["results"]] == ["Desk Phones", "Lobby"]
    assert [
        c["name"] for c in api.get(f"{API}/categories", {"provisioning": "false"}).json()["results"]
    ] == ["Lobby"]
    lobby = Category.objects.get(name="Lobby")
    assert api.delete(f"{API}/categories/{lobby.pk}").status_code == 204
    assert Event.objects.filter(type="CATEGORY_DELETED").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Desk Phones"}, "name"),  # taken
        ({"name": "X", "bootstrap": "Nowhere"}, "bootstrap"),
        ({"name": "X", "isProvisioning": "maybe"}, "isProvisioning"),
        ({"name": 42}, "name"),
    ],
)
def test_category_errors_name_the_field(api_client, admin, category, body, field):
    response = api_client(admin).post(f"{API}/categories", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Category.objects.count() == 1


def test_codes_issue_list_and_withdraw(api_client, admin, viewer, customer, category):
    api = api_client(admin)
    response = api.post(
        f"{API}/codes", {"category": "Desk Phones", "user": viewer.username}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["code"]) == 12 and body["code"].isdigit()
    assert (body["user"], body["state"]) == (viewer.username, "pending")
    code = ProvisioningCode.objects.get()
    assert code.expires_at - code.created < timedelta(minutes=11)
    rollout = api.post(f"{API}/codes", {"rollout": True}, format="json").json()
    assert rollout["category"] == "Desk Phones"  # the default provisioning category
    assert api.get(f"{API}/codes", {"state": "pending"}).json()["count"] == 2
    assert api.delete(f"{API}/codes/{code.pk}").status_code == 204
    assert not ProvisioningCode.objects.filter(pk=code.pk).exists()


def test_a_used_code_is_kept(api_client, admin, customer, category):
    code = provisioning_code_issue(customer=customer, user=admin, category=category)
    code.used_at = timezone.now()
    code.save()
    response = api_client(admin).delete(f"{API}/codes/{code.pk}")
    assert response.status_code == 409
    assert response.json()["error"] == "in_use"
    assert ProvisioningCode.objects.filter(pk=code.pk).exists()


def test_jobs_add_list_and_delete(api_client, admin, customer, category):
    api = api_client(admin)
    software = api.post(
        f"{API}/jobs/software",
        {"category": "Desk Phones", "firmware": {"version": "13r1 sr4"}},
        format="json",
    )
    assert software.status_code == 201, software.json()
    config = api.post(
        f"{API}/jobs/config",
        {"category": "Desk Phones", "configType": "ntp", "parameters": {"server": "ntp.acme"}},
        format="json",
    )
    assert config.status_code == 201, config.json()
    assert api.get(f"{API}/jobs/config", {"configType": "ntp"}).json()["count"] == 1
    bad = api.post(
        f"{API}/jobs/software", {"category": "Desk Phones", "firmware": []}, format="json"
    )
    assert bad.status_code == 400 and "firmware" in bad.json()
    assert api.delete(f"{API}/jobs/software/{SoftwareJob.objects.get().pk}").status_code == 204
    assert api.delete(f"{API}/jobs/config/{ConfigJob.objects.get().pk}").status_code == 204
    assert not SoftwareJob.objects.exists() and not ConfigJob.objects.exists()


def test_users_read_only_and_the_outsider_sees_nothing(
    api_client, viewer, outsider, customer, category
):
    software_job_create(customer=customer, user=None, category=category, firmware={"v": 1})
    code = provisioning_code_issue(customer=customer, user=None, category=category)
    user_api = api_client(viewer)
    assert user_api.get(f"{API}/categories").status_code == 200
    assert user_api.post(f"{API}/codes", {}, format="json").status_code == 403
    assert user_api.delete(f"{API}/codes/{code.pk}").status_code == 403
    theirs = api_client(outsider)
    for path in ["categories", "codes", "jobs/software", "jobs/config"]:
        assert theirs.get(f"{API}/{path}").json()["count"] == 0, path
    assert theirs.delete(f"{API}/codes/{code.pk}").status_code == 404
    assert theirs.delete(f"{API}/categories/{category.pk}").status_code == 404
    # Nor can they point at our category by name.
    response = theirs.post(f"{API}/codes", {"category": "Desk Phones"}, format="json")
    assert response.status_code == 400 and "category" in response.json()
    assert ProvisioningCode.objects.count() == 1


def test_a_user_reads_only_their_own_codes_through_the_api_as_in_the_portal(
    api_client, portal_client, users, customer, category
):
    """One scoping rule for the API and the portal: a User follows the codes issued for
    them; Admins, Super-Admins and staff follow every code of the customer. Another
    user's pending rollout code is a credential a User must not read."""
    viewer = users["viewer"]
    own = provisioning_code_issue(customer=customer, user=None, category=category, for_user=viewer)
    rollout_create(customer=customer, user=None, category=category, users=[users["admin"], viewer])
    anyone = provisioning_code_issue(customer=customer, user=None, category=category)
    mine = {own.pk, *ProvisioningCode.objects.filter(user=viewer).values_list("pk", flat=True)}
    every = set(ProvisioningCode.objects.values_list("pk", flat=True))
    expected = {
        "viewer": mine,
        "admin": every,
        "super_admin": every,
        "staff": every,
    }
    for role, codes in expected.items():
        api = api_client(users[role])
        query = {"customer": customer.slug} if role == "staff" else {}
        listed = {row["id"] for row in api.get(f"{API}/codes", query).json()["results"]}
        assert listed == codes, role
        client = portal_client(users[role])
        shown = {
            pk for pk in every if client.get(f"/admin/phones/codes/{pk}/status").status_code == 200
        }
        assert shown == codes, role
    assert anyone.pk not in expected["viewer"]
