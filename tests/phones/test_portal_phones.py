"""The desk phone pages: Categories, Update jobs, Add a phone (with its live status),
Register phones (the rollout wizard and its CSV), Automatic provisioning, and the desk
phone section of the device page."""

import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from devices.models import Device, DeviceKind
from gateway.services.phones import PhoneReport, auto_register, code_redeem
from phones.files.access import files_base_url
from phones.models import (
    AutoProvisioning,
    Category,
    ConfigJob,
    JobDelivery,
    ProvisioningCode,
    Rollout,
    SoftwareJob,
)
from phones.services.auto import auto_provisioning_enable
from phones.services.categories import category_save
from phones.services.codes import provisioning_code_issue, rollout_create
from phones.services.jobs import config_job_create, software_job_create
from reports.models import Event
from tests.devices.factories import DeviceFactory
from tests.factories import UserFactory
from tests.provisioning.factories import BootstrapFactory

CATEGORIES = reverse("phones:category_list")
CATEGORY_ADD = reverse("phones:category_add")
JOBS = reverse("phones:job_list")
SOFTWARE_ADD = reverse("phones:job_software_add")
CONFIG_ADD = reverse("phones:job_config_add")
PHONE_ADD = reverse("phones:phone_add")
ROLLOUTS = reverse("phones:rollout_list")
ROLLOUT_CHECK = reverse("phones:rollout_check")
ROLLOUT_OPTIONS = reverse("phones:rollout_options")
ROLLOUT_USERS = reverse("phones:rollout_users")
AUTO = reverse("phones:auto_provisioning")
AUTO_ENABLE = reverse("phones:auto_enable")
AUTO_LINE = reverse("phones:auto_line")
AUTO_DISABLE = reverse("phones:auto_disable")
MAC = "00:90:33:1A:2B:3C"


def url(name, obj):
    return reverse(f"phones:{name}", args=[obj.pk])


def category_of(customer, name="Desk Phones", **fields) -> Category:
    category, _ = category_save(customer=customer, user=None, name=name, **fields)
    return category


def text_of(response) -> str:
    """What a reader sees: the markup without tags, entities decoded, spaces collapsed."""
    markup = response.content.decode()
    markup = re.sub(r"<(script|style)\b.*?</\1>", "", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def redeem(code: str, mac: str = MAC, model: str = "IP112"):
    return code_redeem(
        code=code, phone=PhoneReport(mac=mac, model=model), base_url="http://testserver"
    )


@pytest.fixture
def category(customer):
    return category_of(customer)


# --- Categories --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["super_admin", "admin", "viewer", "staff"])
def test_categories_list_for_every_role(portal_client, users, customer, other_customer, who):
    category_of(customer, "Ours")
    category_of(other_customer, "Theirs")
    response = portal_client(users[who]).get(CATEGORIES)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ours" in body
    assert "Theirs" not in body
    # Users see the categories; changing them is for Super-Admins, Admins and staff.
    changes = who != "viewer"
    assert (CATEGORY_ADD in body) is changes
    assert ("/edit" in body) is changes


@pytest.mark.django_db
def test_outsider_sees_only_their_own_categories(portal_client, outsider, customer, category):
    body = portal_client(outsider).get(CATEGORIES).content.decode()
    assert "Desk Phones" not in body
    assert "No categories match" in body
    for name in ("category_edit", "category_delete"):
        assert portal_client(outsider).get(url(name, category)).status_code == 404


@pytest.mark.django_db
def test_categories_list_counts_devices_jobs_and_pending_codes(
    portal_client, admin, customer, django_assert_max_num_queries
):
    def make(n):
        for i in range(n):
            category = category_of(customer, f"Cat-{len(Category.objects.all()):03}")
            DeviceFactory(customer=customer, category=category.name)
            software_job_create(customer=customer, user=None, category=category, firmware={"v": i})
            config_job_create(
                customer=customer,
                user=None,
                category=category,
                config_type="ntp",
                parameters={},
            )
            provisioning_code_issue(customer=customer, user=None, category=category)

    client = portal_client(admin)
    make(2)
    client.get(CATEGORIES)  # warm up (content types, sessions)
    with django_assert_max_num_queries(30) as few:
        client.get(CATEGORIES)
    make(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(CATEGORIES)
    rows = response.context["object_list"]
    assert len(rows) == 22
    assert {(c.device_count, c.job_count, c.pending_count) for c in rows} == {(1, 2, 1)}
    row = text_of(response).split("Cat-001", 1)[1]
    assert row.split()[:5] == ["Yes", "—", "1", "2", "1"]


@pytest.mark.django_db
def test_categories_search_filter_and_sort(portal_client, viewer, customer):
    category_of(customer, "Lobby", description="front desk")
    category_of(customer, "Warehouse", is_provisioning=False)
    category_of(customer, "Admin phones")
    client = portal_client(viewer)
    names = lambda response: [c.name for c in response.context["object_list"]]  # noqa: E731
    assert names(client.get(CATEGORIES, {"q": "front"})) == ["Lobby"]
    assert names(client.get(CATEGORIES, {"provisioning": "false"})) == ["Warehouse"]
    assert names(client.get(CATEGORIES, {"ordering": "-name"})) == [
        "Warehouse",
        "Lobby",
        "Admin phones",
    ]
    response = client.get(CATEGORIES, {"q": "nothing-like-this"})
    assert "Nothing matches this search" in response.content.decode()


@pytest.mark.django_db
def test_add_category_with_a_bootstrap(portal_client, admin, customer, other_customer):
    bootstrap = BootstrapFactory(customer=customer, name="Lobby config")
    theirs = BootstrapFactory(customer=other_customer, name="Not yours")
    client = portal_client(admin)
    page = client.get(CATEGORY_ADD).content.decode()
    assert "Lobby config" in page
    assert "Not yours" not in page
    # Another customer's bootstrap is not a choice.
    response = client.post(
        CATEGORY_ADD, {"name": "Lobby", "is_provisioning": "on", "bootstrap": theirs.pk}
    )
    assert "bootstrap" in response.context["form"].errors
    response = client.post(
        CATEGORY_ADD,
        {"name": "Lobby", "is_provisioning": "on", "bootstrap": bootstrap.pk, "description": "x"},
        follow=True,
    )
    assert "Category Lobby added." in messages_of(response)
    category = Category.objects.get(customer=customer, name="Lobby")
    assert (category.is_provisioning, category.bootstrap, category.version) == (
        True,
        bootstrap,
        1,
    )
    assert Event.objects.filter(customer=customer, type="CATEGORY_ADDED").count() == 1
    # The name is unique per customer; the service's refusal shows on the field.
    response = client.post(CATEGORY_ADD, {"name": "Lobby"})
    assert "already exists" in str(response.context["form"].errors["name"])


@pytest.mark.django_db
def test_viewer_may_not_add_or_edit_categories(portal_client, viewer, category):
    client = portal_client(viewer)
    assert client.get(CATEGORY_ADD).status_code == 403
    assert client.post(CATEGORY_ADD, {"name": "Mine"}).status_code == 403
    assert client.post(url("category_edit", category), {"name": "X", "version": 1}).status_code == (
        403
    )
    assert client.post(url("category_delete", category), {"version": 1}).status_code == 403
    assert Category.objects.filter(name="Desk Phones").exists()


@pytest.mark.django_db
def test_edit_category_renames_its_devices_and_checks_the_version(
    portal_client, admin, super_admin, customer, category
):
    device = DeviceFactory(customer=customer, category="Desk Phones")
    edit = url("category_edit", category)
    assert 'name="version" value="1"' in portal_client(admin).get(edit).content.decode()
    response = portal_client(admin).post(
        edit, {"name": "Office phones", "is_provisioning": "on", "version": 1}, follow=True
    )
    assert "Category Office phones saved." in messages_of(response)
    category.refresh_from_db()
    device.refresh_from_db()
    assert (category.name, category.version, device.category) == (
        "Office phones",
        2,
        "Office phones",
    )
    # Someone who loaded version 1 and saves now would undo the rename: refused.
    response = portal_client(super_admin).post(
        edit, {"name": "Stale", "is_provisioning": "on", "version": 1}
    )
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert "Reload the current version" in response.content.decode()
    category.refresh_from_db()
    assert category.name == "Office phones"
    # Without a version, nothing is saved either.
    response = portal_client(admin).post(edit, {"name": "No version"})
    assert "version" in response.context["form"].errors


@pytest.mark.django_db
def test_delete_category_with_confirmation(portal_client, admin, customer, category):
    software_job_create(customer=customer, user=None, category=category, firmware={})
    delete = url("category_delete", category)
    page = portal_client(admin).get(delete)
    assert 'name="version" value="1"' in page.content.decode()
    assert "will be deleted with it" in page.content.decode()
    response = portal_client(admin).post(delete, {"version": 1}, follow=True)
    assert "Category Desk Phones deleted." in messages_of(response)
    assert not Category.objects.filter(pk=category.pk).exists()
    assert not SoftwareJob.objects.exists()


@pytest.mark.django_db
def test_delete_category_stale_version_and_in_use(portal_client, admin, customer, category):
    delete = url("category_delete", category)
    response = portal_client(admin).post(delete, {"version": 7}, follow=True)
    assert any("changed by someone else" in m for m in messages_of(response))
    assert response.context["object"].version == 1  # back on the confirmation, current
    assert portal_client(admin).post(delete, {}, follow=True).status_code == 200
    assert Category.objects.filter(pk=category.pk).exists()

    provisioning_code_issue(customer=customer, user=None, category=category)
    page = portal_client(admin).get(delete).content.decode()
    assert "1 pending code" in page
    # The refusal does not offer the refused action.
    assert ">Delete</button>" not in page and "Back to categories" in page
    response = portal_client(admin).post(delete, {"version": 1}, follow=True)
    assert any("pending code" in m for m in messages_of(response))
    assert Category.objects.filter(pk=category.pk).exists()


# --- Update jobs -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["super_admin", "admin", "viewer", "staff"])
def test_jobs_page_for_every_role(portal_client, users, customer, category, who):
    software_job_create(
        customer=customer, user=None, category=category, firmware={"version": "13r1"}
    )
    response = portal_client(users[who]).get(JOBS)
    assert response.status_code == 200
    body = response.content.decode()
    assert "13r1" in body
    assert (SOFTWARE_ADD in body) is (who != "viewer")


@pytest.mark.django_db
def test_add_software_job(portal_client, admin, customer, category, other_customer):
    theirs = category_of(other_customer, "Theirs")
    client = portal_client(admin)
    # Not JSON, not an object, not our category: each named on its field.
    response = client.post(SOFTWARE_ADD, {"category": category.pk, "firmware": "{nope"})
    assert "not valid JSON" in str(response.context["form"].errors["firmware"])
    response = client.post(SOFTWARE_ADD, {"category": category.pk, "firmware": "[1]"})
    assert "JSON object" in str(response.context["form"].errors["firmware"])
    response = client.post(SOFTWARE_ADD, {"category": theirs.pk, "firmware": "{}"})
    assert "category" in response.context["form"].errors
    response = client.post(
        SOFTWARE_ADD,
        {"category": category.pk, "firmware": '{"version": "13r1 sr13"}', "description": "May"},
        follow=True,
    )
    job = SoftwareJob.objects.get()
    assert (job.customer, job.category, job.firmware, job.created_by) == (
        customer,
        category,
        {"version": "13r1 sr13"},
        admin,
    )
    assert f"Software job {job.pk} for category Desk Phones added." in messages_of(response)
    assert response.context["kind"] == "software"


@pytest.mark.django_db
def test_add_config_job(portal_client, admin, customer, category):
    client = portal_client(admin)
    response = client.post(
        CONFIG_ADD, {"category": category.pk, "config_type": " ", "parameters": "{}"}
    )
    assert "config_type" in response.context["form"].errors
    response = client.post(
        CONFIG_ADD, {"category": category.pk, "config_type": "ntp", "parameters": "{x"}
    )
    assert "not valid JSON" in str(response.context["form"].errors["parameters"])
    response = client.post(
        CONFIG_ADD,
        {"category": category.pk, "config_type": "ntp", "parameters": '{"server": "ntp.acme"}'},
        follow=True,
    )
    job = ConfigJob.objects.get()
    assert (job.config_type, job.parameters) == ("ntp", {"server": "ntp.acme"})
    assert response.context["kind"] == "config"
    assert "ntp.acme" in response.content.decode()


@pytest.mark.django_db
def test_viewer_may_not_add_or_delete_jobs(portal_client, viewer, customer, category):
    job = software_job_create(customer=customer, user=None, category=category, firmware={})
    client = portal_client(viewer)
    assert client.get(SOFTWARE_ADD).status_code == 403
    assert client.post(CONFIG_ADD, {}).status_code == 403
    assert client.post(url("job_software_delete", job)).status_code == 403
    assert SoftwareJob.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db
def test_delete_jobs_with_confirmation(portal_client, admin, outsider, customer, category):
    software = software_job_create(
        customer=customer, user=None, category=category, firmware={"v": 1}
    )
    config = config_job_create(
        customer=customer, user=None, category=category, config_type="ntp", parameters={}
    )
    client = portal_client(admin)
    page = client.get(url("job_software_delete", software)).content.decode()
    assert "Delete this software job of category" in page
    # A config job's pk on the software path is another table's row: not found.
    assert (
        client.get(reverse("phones:job_software_delete", args=[config.pk + 100])).status_code == 404
    )
    response = client.post(url("job_config_delete", config), follow=True)
    assert f"Job {config.pk} (Desk Phones) deleted." in messages_of(response)
    assert not ConfigJob.objects.exists()
    assert portal_client(outsider).post(url("job_software_delete", software)).status_code == 404
    assert SoftwareJob.objects.filter(pk=software.pk).exists()


@pytest.mark.django_db
def test_jobs_tabs_filters_current_badge_and_query_count(
    portal_client, viewer, customer, django_assert_max_num_queries
):
    lobby = category_of(customer, "Lobby")
    hall = category_of(customer, "Hall")
    older = software_job_create(customer=customer, user=None, category=lobby, firmware={"v": "old"})
    newer = software_job_create(customer=customer, user=None, category=lobby, firmware={"v": "new"})
    ntp = config_job_create(
        customer=customer, user=None, category=hall, config_type="ntp", parameters={"s": 1}
    )
    config_job_create(
        customer=customer, user=None, category=hall, config_type="language", parameters={}
    )
    client = portal_client(viewer)

    response = client.get(JOBS)
    assert [j.pk for j in response.context["object_list"]] == [newer.pk, older.pk]  # newest first
    assert response.context["current_ids"] == {newer.pk}
    assert (response.context["software_total"], response.context["config_total"]) == (2, 2)

    response = client.get(JOBS, {"kind": "config", "configType": "ntp"})
    assert [j.pk for j in response.context["object_list"]] == [ntp.pk]
    assert response.context["current_ids"] == {ntp.pk}
    assert list(client.get(JOBS, {"category": "Hall"}).context["object_list"]) == []
    assert [j.pk for j in client.get(JOBS, {"q": "old"}).context["object_list"]] == [older.pk]

    # Constant queries: session, user, customer, two totals, category names, count, page,
    # current jobs; however many rows.
    with django_assert_max_num_queries(12) as few:
        client.get(JOBS)
    for i in range(30):
        software_job_create(
            customer=customer,
            user=viewer,
            category=category_of(customer, f"C{i}"),
            firmware={"v": i},
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(JOBS)
    assert len(response.context["object_list"]) == 25


# --- Add a phone -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["super_admin", "admin", "viewer"])
def test_every_role_gets_a_ten_minute_code_for_themselves(
    portal_client, users, customer, category, who
):
    user = users[who]
    client = portal_client(user)
    page = client.get(PHONE_ADD)
    assert page.status_code == 200
    # One provisioning category: chosen already.
    assert f'name="category" value="{category.pk}"' in page.content.decode()
    before = timezone.now()
    response = client.post(PHONE_ADD, {"category": category.pk})
    code = ProvisioningCode.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("phone_code", code)
    assert (code.customer, code.category, code.user, code.rollout) == (
        customer,
        category,
        user,
        None,
    )
    assert re.fullmatch(r"\d{12}", code.code)
    assert (
        timedelta(minutes=9, seconds=59)
        <= code.expires_at - before
        <= timedelta(minutes=10, seconds=5)
    )

    page = client.get(url("phone_code", code))
    body = page.content.decode()
    # Large digits in groups of four, with no space between them: a copy gives 12 digits.
    groups = (
        f"<span>{code.code[:4]}</span><span>{code.code[4:8]}</span><span>{code.code[8:]}</span>"
    )
    assert groups in body
    assert f'data-copy="code-{code.pk}"' in body
    assert "js/phone_code.js" in body
    assert "Pending" in body
    assert "no-store" in page["Cache-Control"]
    # The user's recent codes list it.
    assert code.code in client.get(PHONE_ADD).content.decode()


@pytest.mark.django_db
def test_status_turns_registered_after_redemption(portal_client, viewer, customer, category):
    client = portal_client(viewer)
    client.post(PHONE_ADD, {"category": category.pk})
    code = ProvisioningCode.objects.get()
    status_url = url("code_status", code)
    status = client.get(status_url).json()
    assert status["state"] == "pending"
    assert status["stateLabel"] == "Pending"
    assert 590 <= status["secondsLeft"] <= 600
    assert status["device"] is None

    redeem(code.code)
    status = client.get(status_url).json()
    device = Device.objects.get(customer=customer)
    assert status["state"] == "registered"
    assert status["secondsLeft"] == 0
    assert status["device"] == {
        "mac": MAC,
        "model": "IP112",
        "url": reverse("gateway:device_detail", args=[device.pk]),
    }
    page = client.get(url("phone_code", code)).content.decode()
    assert "Registered" in page
    assert MAC in page
    recent = client.get(PHONE_ADD).content.decode()
    assert MAC in recent


@pytest.mark.django_db
def test_expired_code_says_so(portal_client, viewer, customer, category):
    code = provisioning_code_issue(
        customer=customer, user=viewer, category=category, for_user=viewer
    )
    ProvisioningCode.objects.filter(pk=code.pk).update(expires_at=timezone.now())
    status = portal_client(viewer).get(url("code_status", code)).json()
    assert (status["state"], status["secondsLeft"]) == ("expired", 0)


@pytest.mark.django_db
def test_a_user_cannot_follow_another_users_code(
    portal_client, viewer, admin, super_admin, staff, outsider, customer, category
):
    colleague = UserFactory(customer=customer, role=Role.USER, username="colleague")
    code = provisioning_code_issue(
        customer=customer, user=colleague, category=category, for_user=colleague
    )
    for name in ("code_status", "phone_code"):
        assert portal_client(viewer).get(url(name, code)).status_code == 404
        assert portal_client(outsider).get(url(name, code)).status_code == 404
        # Super-Admins, Admins and staff help with any of the customer's codes.
        for helper in (admin, super_admin, staff):
            assert portal_client(helper).get(url(name, code)).status_code == 200
    # Nor does the User's list show it.
    assert code.code not in portal_client(viewer).get(PHONE_ADD).content.decode()


@pytest.mark.django_db
def test_choosing_among_several_categories(portal_client, viewer, customer, other_customer):
    first = category_of(customer, "Lobby")
    second = category_of(customer, "Office")
    category_of(customer, "Storage", is_provisioning=False)
    theirs = category_of(other_customer, "Theirs")
    client = portal_client(viewer)
    page = client.get(PHONE_ADD).content.decode()
    assert "<select" in page
    assert "Storage" not in page  # not a provisioning category
    # The default category (the first made) is chosen already.
    assert f'<option value="{first.pk}" selected>' in page
    response = client.post(PHONE_ADD, {"category": theirs.pk})
    assert "category" in response.context["form"].errors
    client.post(PHONE_ADD, {"category": second.pk})
    assert ProvisioningCode.objects.get().category == second


@pytest.mark.django_db
def test_no_provisioning_category_yet(portal_client, viewer, admin):
    assert "Ask an administrator" in portal_client(viewer).get(PHONE_ADD).content.decode()
    page = portal_client(admin).get(PHONE_ADD).content.decode()
    assert CATEGORY_ADD in page


@pytest.mark.django_db
def test_staff_get_a_code_for_nobody(portal_client, staff, customer, category):
    response = portal_client(staff).post(PHONE_ADD, {"category": category.pk})
    code = ProvisioningCode.objects.get()
    assert response["Location"] == url("phone_code", code)
    assert (code.customer, code.user) == (customer, None)
    assert code.code in portal_client(staff).get(PHONE_ADD).content.decode()


# --- Register phones ---------------------------------------------------------------------


@pytest.mark.django_db
def test_rollout_pages_are_for_super_admins_and_admins(
    portal_client, viewer, outsider, customer, category
):
    rollout = rollout_create(customer=customer, user=None, category=category, users=[viewer])
    for page in (ROLLOUTS, ROLLOUT_CHECK, ROLLOUT_OPTIONS, ROLLOUT_USERS):
        assert portal_client(viewer).get(page).status_code == 403
    for name in ("rollout_detail", "rollout_status", "rollout_csv"):
        assert portal_client(viewer).get(url(name, rollout)).status_code == 403
        assert portal_client(outsider).get(url(name, rollout)).status_code == 404


@pytest.mark.django_db
def test_step_1_is_a_checklist(portal_client, admin, customer, settings):
    settings.PUBLIC_URL = ""
    page = portal_client(admin).get(ROLLOUT_CHECK)
    text = text_of(page)
    assert "PUBLIC_URL is not set" in text
    assert files_base_url(customer=customer, base_url="http://testserver") in text
    assert "None yet" in text  # no provisioning category
    assert ROLLOUT_OPTIONS not in page.content.decode()

    category_of(customer, "Lobby")
    settings.PUBLIC_URL = "https://pm.example.com"
    page = portal_client(admin).get(ROLLOUT_CHECK)
    text = text_of(page)
    assert "PUBLIC_URL is set" in text
    assert files_base_url(customer=customer, base_url="https://pm.example.com") in text
    assert "1 to choose from: Lobby." in text
    assert ROLLOUT_OPTIONS in page.content.decode()


@pytest.mark.django_db
def test_step_2_shows_a_dropdown_only_for_several_categories(portal_client, admin, customer):
    lobby = category_of(customer, "Lobby")
    page = portal_client(admin).get(ROLLOUT_OPTIONS).content.decode()
    assert f'<input type="hidden" name="category" value="{lobby.pk}">' in page
    assert 'name="app_id"' in page
    category_of(customer, "Office")
    page = portal_client(admin).get(ROLLOUT_OPTIONS).content.decode()
    assert '<select name="category"' in page


def make_users(customer, usernames, **fields) -> list[User]:
    """Portal users without a password hash each (hashing is slow and not what is tested)."""
    User.objects.bulk_create(
        [
            User(
                customer=customer,
                role=Role.USER,
                username=name,
                name=f"Person {name}",
                email=f"{name}@example.com",
                password="!",
                **fields,
            )
            for name in usernames
        ]
    )
    return list(User.objects.filter(username__in=usernames).order_by("username"))


@pytest.fixture
def staff_list(customer):
    """25 more active portal users (north-00 … north-11, south-12 … south-24), one inactive."""
    people = make_users(customer, [f"{'north' if i < 12 else 'south'}-{i:02}" for i in range(25)])
    make_users(customer, ["north-gone"], is_active=False)
    return people


@pytest.mark.django_db
def test_step_3_lists_active_users_of_the_customer(
    portal_client, admin, customer, category, staff_list, outsider
):
    client = portal_client(admin)
    response = client.get(ROLLOUT_USERS, {"category": category.pk})
    names = {u.username for u in response.context["object_list"]}
    assert "north-gone" not in names
    assert "otto" not in names
    assert response.context["page_obj"].paginator.count == 26  # 25 and ada herself
    response = client.get(ROLLOUT_USERS, {"category": category.pk, "q": "north"})
    assert response.context["page_obj"].paginator.count == 12
    # Without a category the step sends the user back.
    assert "Choose a category first" in client.get(ROLLOUT_USERS).content.decode()


@pytest.mark.django_db
def test_rollout_for_selected_users_across_pages(
    portal_client, admin, customer, category, staff_list
):
    client = portal_client(admin)
    client.get(ROLLOUT_USERS, {"category": category.pk})
    base = {"category": category.pk, "app_id": "WFC_VOICE_ANDROID", "q": "", "shown_q": ""}
    # Tick two on page 1, then search: the ticks travel along as hidden fields.
    first, second = staff_list[0], staff_list[1]
    response = client.post(
        ROLLOUT_USERS, {**base, "users": [first.pk, second.pk], "go": "search", "q": "south"}
    )
    assert response.context["selected_count"] == 2
    assert set(response.context["carried"]) == {first.pk, second.pk}
    body = response.content.decode()
    assert f'<input type="hidden" name="users" value="{first.pk}">' in body
    third = staff_list[20]
    response = client.post(
        ROLLOUT_USERS,
        {
            **base,
            "q": "south",
            "shown_q": "south",
            "users": [first.pk, second.pk, third.pk],
            "go": "create",
        },
        follow=True,
    )
    rollout = Rollout.objects.get()
    assert response.redirect_chain[-1][0] == url("rollout_detail", rollout)
    assert "3 provisioning code(s) created, valid for 7 days." in messages_of(response)
    codes = rollout.codes.all()
    assert {c.user for c in codes} == {first, second, third}
    assert (rollout.category, rollout.app_id, rollout.created_by) == (
        category,
        "WFC_VOICE_ANDROID",
        admin,
    )
    for code in codes:
        assert timedelta(days=6, hours=23) < code.expires_at - timezone.now() <= timedelta(days=7)


@pytest.mark.django_db
def test_rollout_for_all_users_matching_the_search(
    portal_client, admin, customer, category, staff_list, other_customer
):
    UserFactory(customer=other_customer, username="north-elsewhere")
    client = portal_client(admin)
    data = {"category": category.pk, "app_id": "", "q": "north", "shown_q": "north", "all": "1"}
    # "All matching" sends the search, not the IDs; page 1 shows 12 of them.
    response = client.post(ROLLOUT_USERS, {**data, "go": "search"})
    assert response.context["selected_count"] == 12
    assert 'type="hidden" name="users"' not in response.content.decode()
    # A search typed but not yet shown is not what "all" means: refused.
    response = client.post(ROLLOUT_USERS, {**data, "q": "south", "go": "create"})
    assert "The search changed" in response.content.decode()
    assert not Rollout.objects.exists()
    client.post(ROLLOUT_USERS, {**data, "go": "create"})
    rollout = Rollout.objects.get()
    assert sorted(c.user.username for c in rollout.codes.all()) == [
        f"north-{i:02}" for i in range(12)
    ]


@pytest.mark.django_db
def test_rollout_without_users_is_refused(portal_client, admin, category):
    response = portal_client(admin).post(
        ROLLOUT_USERS, {"category": category.pk, "q": "", "shown_q": "", "go": "create"}
    )
    assert response.status_code == 200
    assert "choose at least one portal user" in response.content.decode()
    assert not Rollout.objects.exists()


@pytest.mark.django_db
def test_rollout_for_ten_thousand_users_sends_the_search(
    portal_client, admin, customer, category, django_assert_max_num_queries
):
    User.objects.bulk_create(
        [
            User(
                customer=customer, role=Role.USER, username=f"crowd-{i:05}", email=f"c{i}@x.example"
            )
            for i in range(10_000)
        ]
    )
    client = portal_client(admin)
    response = client.get(ROLLOUT_USERS, {"category": category.pk, "q": "crowd"})
    # A page of 50 boxes, not 10,000.
    assert response.content.decode().count('name="users"') == 50
    response = client.post(
        ROLLOUT_USERS,
        {"category": category.pk, "q": "crowd", "shown_q": "crowd", "all": "1", "go": "create"},
    )
    assert response.status_code == 302
    assert Rollout.objects.get().codes.count() == 10_000


@pytest.fixture
def rollout(customer, category, staff_list):
    return rollout_create(customer=customer, user=None, category=category, users=staff_list[:12])


@pytest.mark.django_db
def test_step_4_lists_codes_with_state_search_sort_and_paging(
    portal_client, admin, customer, rollout, django_assert_max_num_queries
):
    codes = {c.user.username: c for c in rollout.codes.select_related("user")}
    redeem(codes["north-03"].code)
    ProvisioningCode.objects.filter(pk=codes["north-05"].pk).update(expires_at=timezone.now())
    client = portal_client(admin)
    detail = url("rollout_detail", rollout)
    response = client.get(detail)
    assert response.context["totals"] == {"total": 12, "registered": 1, "expired": 1, "pending": 10}
    rows = response.context["object_list"]
    assert [c.user.username for c in rows] == [f"north-{i:02}" for i in range(12)]
    text = text_of(response)
    assert f"north-03 {rows[3].user.name} {codes['north-03'].code} Registered" in text
    assert "Expired" in text and "Pending" in text
    assert MAC in text
    assert 'data-rollout-status="' in response.content.decode()

    assert [
        c.user.username for c in client.get(detail, {"state": "registered"}).context["object_list"]
    ] == ["north-03"]
    assert [
        c.user.username
        for c in client.get(detail, {"q": codes["north-07"].code}).context["object_list"]
    ] == ["north-07"]
    by_state = client.get(detail, {"ordering": "-state"}).context["object_list"]
    assert [c.user.username for c in by_state[:2]] == ["north-05", "north-03"]
    assert len(client.get(detail, {"pageSize": 5, "page": 3}).context["object_list"]) == 2

    with django_assert_max_num_queries(10) as few:
        client.get(detail)
    more = rollout_create(
        customer=customer,
        user=None,
        category=rollout.category,
        users=make_users(customer, [f"z-{i:02}" for i in range(40)]),
    )
    for code in more.codes.all()[:10]:
        redeem(code.code, mac=f"00:90:33:00:00:{code.pk % 100:02}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url("rollout_detail", more))
    assert len(response.context["object_list"]) == 25


@pytest.mark.django_db
def test_rollout_status_json(portal_client, admin, customer, rollout):
    codes = list(rollout.codes.order_by("pk"))
    redeem(codes[0].code)
    answer = (
        portal_client(admin)
        .get(url("rollout_status", rollout), {"ids": f"{codes[0].pk},{codes[1].pk},x,999999"})
        .json()
    )
    states = {c["id"]: c["state"] for c in answer["codes"]}
    assert states == {codes[0].pk: "registered", codes[1].pk: "pending"}
    assert answer["totals"] == {"total": 12, "registered": 1, "expired": 0, "pending": 11}
    # Codes of another rollout are not answered through this one.
    other = rollout_create(
        customer=customer, user=None, category=rollout.category, users=[customer.users.first()]
    )
    foreign = other.codes.get()
    answer = portal_client(admin).get(url("rollout_status", rollout), {"ids": foreign.pk}).json()
    assert answer["codes"] == []


@pytest.mark.django_db
def test_rollout_csv(portal_client, admin, customer, category):
    sly = UserFactory(customer=customer, username="sly", name='=HYPERLINK("http://x")')
    plain = UserFactory(customer=customer, username="pat", name="Pat Müller")
    rollout = rollout_create(customer=customer, user=None, category=category, users=[sly, plain])
    redeem(rollout.codes.get(user=plain).code)
    response = portal_client(admin).get(url("rollout_csv", rollout))
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="rollout-{rollout.pk}-codes.csv"' in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert rows[0] == ["user", "name", "code", "state", "expires"]
    by_user = {row[0]: row for row in rows[1:]}
    assert set(by_user) == {"sly", "pat"}
    assert by_user["pat"][1:4] == ["Pat Müller", rollout.codes.get(user=plain).code, "Registered"]
    assert by_user["sly"][3] == "Pending"
    # A formula is defused: spreadsheets show it as text.
    assert by_user["sly"][1] == '\'=HYPERLINK("http://x")'
    assert re.fullmatch(r"\d{12}", by_user["sly"][2])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", by_user["sly"][4])
    # The page's search applies to the download.
    response = portal_client(admin).get(url("rollout_csv", rollout), {"state": "registered"})
    content = b"".join(response.streaming_content).decode("utf-8")
    assert len(content.strip().splitlines()) == 2


@pytest.mark.django_db
def test_past_rollouts_list(
    portal_client, admin, customer, rollout, other_customer, django_assert_max_num_queries
):
    redeem(rollout.codes.first().code)
    client = portal_client(admin)
    response = client.get(ROLLOUTS)
    text = text_of(response)
    assert "1 / 12" in text
    assert url("rollout_detail", rollout) in response.content.decode()
    theirs = category_of(other_customer, "Theirs")
    rollout_create(
        customer=other_customer,
        user=None,
        category=theirs,
        users=[UserFactory(customer=other_customer)],
    )
    assert len(client.get(ROLLOUTS).context["object_list"]) == 1
    # Session, user, customer, count, page with its counts: five, whatever the rows.
    with django_assert_max_num_queries(5) as few:
        client.get(ROLLOUTS)
    for _ in range(5):
        rollout_create(customer=customer, user=admin, category=rollout.category, users=[admin])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(ROLLOUTS).context["object_list"]) == 6


# --- Automatic provisioning --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["super_admin", "admin", "viewer", "staff"])
def test_auto_provisioning_status_for_every_role(portal_client, users, who):
    response = portal_client(users[who]).get(AUTO)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Disabled" in body
    assert "/device/api/v1/auto?domain=acme" in body
    assert (AUTO_ENABLE in body) is (who != "viewer")


@pytest.mark.django_db
def test_viewer_may_not_change_auto_provisioning(portal_client, viewer, category):
    client = portal_client(viewer)
    for page in (AUTO_ENABLE, AUTO_LINE, AUTO_DISABLE):
        assert client.get(page).status_code == 403
        assert client.post(page, {"token": "abcdefgh1", "category": category.pk}).status_code == 403
    assert not AutoProvisioning.objects.exists()


@pytest.mark.django_db
def test_token_is_shown_once_and_never_again(portal_client, admin, customer, category, settings):
    settings.PUBLIC_URL = "https://pm.example.com"
    client = portal_client(admin)
    response = client.post(AUTO_ENABLE, {"token": ""})
    assert response.status_code == 200
    token = response.context["token"]
    assert len(token) >= 20
    body = response.content.decode()
    assert token in body
    assert "shown only this once" in body
    assert "no-store" in response["Cache-Control"]
    [(listed, full_url, line)] = response.context["lines"]
    assert listed == category
    assert full_url.startswith("https://pm.example.com/device/api/v1/auto?domain=acme&token=")
    assert line.startswith("config change SYSCLIENT /sysadmin https%3A%2F%2Fpm.example.com")
    assert 'data-copy="line-1"' in body

    setup = AutoProvisioning.objects.get(customer=customer)
    assert setup.enabled
    assert token not in setup.token_hash
    # Afterwards only its last characters are shown, anywhere.
    for page in (AUTO, AUTO_ENABLE, AUTO_DISABLE, AUTO_LINE):
        body = client.get(page).content.decode()
        assert token not in body, page
        assert token[:-4] not in body, page
    assert f"…{token[-4:]}" in client.get(AUTO).content.decode()
    assert Event.objects.filter(customer=customer, type="AUTO_PROVISIONING_TOKEN_SET").exists()


@pytest.mark.django_db
def test_configuration_line_for_the_guides_example(portal_client, admin, customer):
    category = category_of(customer, "acme IP Phone")
    client = portal_client(admin)
    # The guide's own example token is too weak to guess-proof a public domain.
    weak = client.post(AUTO_ENABLE, {"token": "abcdef#XYZ"})
    assert "token" in weak.context["form"].errors
    assert not AutoProvisioning.objects.filter(customer=customer).exists()
    response = client.post(AUTO_ENABLE, {"token": "Abcdef#XYZ-2026-guide"})
    assert response.context["token"] == "Abcdef#XYZ-2026-guide"
    [(_category, full_url, line)] = response.context["lines"]

    def check(full_url, line):
        prefix = "config change SYSCLIENT /sysadmin "
        assert line.startswith(prefix)
        encoded = line[len(prefix) :]
        # The whole URL is encoded once more: no character of it is left to misread.
        assert re.fullmatch(r"[A-Za-z0-9%._~-]+", encoded)
        decoded = unquote(encoded)
        assert decoded == full_url
        assert "token=Abcdef%23XYZ-2026-guide" in decoded
        assert "category=acme%20IP%20Phone" in decoded
        query = parse_qs(urlsplit(decoded).query)
        assert query == {
            "domain": ["acme"],
            "token": ["Abcdef#XYZ-2026-guide"],
            "category": ["acme IP Phone"],
        }

    check(full_url, line)
    assert line in response.content.decode()

    # Later, the administrator pastes the token to get the line again; nothing is stored.
    stored = AutoProvisioning.objects.values().get(customer=customer)
    response = client.post(AUTO_LINE, {"token": "Abcdef#XYZ-2026-guide", "category": category.pk})
    assert response.status_code == 200
    check(response.context["full_url"], response.context["line"])
    assert response.context["line"] == line
    assert AutoProvisioning.objects.values().get(customer=customer) == stored
    assert "no-store" in response["Cache-Control"]

    # A token that is not the current one would only make lines phones are refused with.
    response = client.post(AUTO_LINE, {"token": "abcdef#XYy", "category": category.pk})
    assert "not the current token" in str(response.context["form"].errors["token"])
    assert "line" not in response.context


@pytest.mark.django_db
def test_enable_refuses_a_bad_token_and_rotates(portal_client, admin, customer, category):
    client = portal_client(admin)
    response = client.post(AUTO_ENABLE, {"token": "short"})
    assert "token" in response.context["form"].errors
    assert not AutoProvisioning.objects.exists()
    client.post(AUTO_ENABLE, {"token": "First-Token-2026-pL4q#en-1"})
    page = client.get(AUTO_ENABLE).content.decode()
    assert "Rotate the security token" in page
    assert "…en-1" in page
    client.post(AUTO_ENABLE, {"token": "Second-Token-2026-pL4q#en-2"})
    assert AutoProvisioning.objects.get().token_hint == "en-2"


@pytest.mark.django_db
def test_disable_with_confirmation(portal_client, admin, customer, category):
    client = portal_client(admin)
    client.post(AUTO_ENABLE, {"token": "Secret-Token-2026-pL4q#9"})
    assert "stops working at once" in client.get(AUTO_DISABLE).content.decode()
    response = client.post(AUTO_DISABLE, follow=True)
    assert "Automatic provisioning disabled; its token no longer works." in messages_of(response)
    setup = AutoProvisioning.objects.get()
    assert (setup.enabled, setup.token_hash, setup.token_hint) == (False, "", "")
    assert "Disabled" in response.content.decode()


@pytest.mark.django_db
def test_outsider_sees_only_their_own_auto_provisioning(portal_client, admin, outsider):
    portal_client(admin).post(AUTO_ENABLE, {"token": "acme-secret-1"})
    body = portal_client(outsider).get(AUTO).content.decode()
    assert "domain=globex" in body
    assert "domain=acme" not in body
    assert "Disabled" in body


# --- The device page ---------------------------------------------------------------------


@pytest.mark.django_db
def test_desk_phone_page_shows_its_reports_and_latest_jobs(
    portal_client, viewer, customer, category, django_assert_max_num_queries
):
    def jobs(n):
        software_job_create(
            customer=customer, user=None, category=category, firmware={"version": f"sw-{n}"}
        )
        for kind in ("ntp", "language"):
            config_job_create(
                customer=customer,
                user=None,
                category=category,
                config_type=kind,
                parameters={"n": f"{kind}-{n}"},
            )

    jobs(1)
    code = provisioning_code_issue(customer=customer, user=None, category=category)
    code_redeem(
        code=code.code,
        phone=PhoneReport(
            mac=MAC, model="IP112", firmware="13r1 sr13", bootcode="13r1 bc", local_ip="10.0.0.7"
        ),
        base_url="http://testserver",
    )
    device = Device.objects.get()
    assert device.kind == DeviceKind.DESK_PHONE
    client = portal_client(viewer)
    detail = reverse("gateway:device_detail", args=[device.pk])
    with django_assert_max_num_queries(20) as few:
        response = client.get(detail)
    text = text_of(response)
    for shown in (MAC, "13r1 sr13", "13r1 bc", "10.0.0.7", code.code, "First connected"):
        assert shown in text, shown
    assert [d.software_job is not None for d in response.context["jobs_received"]] == [
        True,
        False,
        False,
    ]

    # The phone registers again several times, with newer jobs each time.
    for n in range(2, 6):
        jobs(n)
        auto_provisioning_enable(customer=customer, user=None, token="Phone-Token-2026-aQ7x#1")
        auto_register(
            domain="acme",
            token="Phone-Token-2026-aQ7x#1",
            category=category.name,
            phone=PhoneReport(mac=MAC, model="IP112"),
            base_url="http://testserver",
        )
    assert JobDelivery.objects.count() == 15
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(detail)
    received = response.context["jobs_received"]
    assert [(d.config_job.config_type if d.config_job else "software") for d in received] == [
        "software",
        "language",
        "ntp",
    ]
    text = text_of(response)
    assert "sw-5" in text and "ntp-5" in text and "language-5" in text
    assert "sw-4" not in text


@pytest.mark.django_db
def test_other_devices_have_no_desk_phone_section(portal_client, viewer, customer):
    device = DeviceFactory(customer=customer)
    response = portal_client(viewer).get(reverse("gateway:device_detail", args=[device.pk]))
    assert response.context["jobs_received"] is None
    assert "Jobs last received" not in response.content.decode()


# --- The menu ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "entries"),
    [
        (
            "super_admin",
            {"Add a phone", "Register phones", "Automatic provisioning", "Phone files"},
        ),
        ("admin", {"Add a phone", "Register phones", "Automatic provisioning", "Phone files"}),
        ("viewer", {"Add a phone", "Automatic provisioning", "Phone files"}),
    ],
)
def test_menu_entries_by_role(portal_client, users, who, entries):
    response = portal_client(users[who]).get(PHONE_ADD)
    menu = {g["title"]: g for g in response.context["menu"]}
    assert {e["label"] for e in menu["Phones"]["entries"]} == entries
    assert [e["label"] for e in menu["Phones"]["entries"] if e["active"]] == ["Add a phone"]
    system = {e["label"] for e in menu["System"]["entries"]}
    assert {"Categories", "Update jobs"} <= system


@pytest.mark.django_db
def test_menu_marks_the_section_of_nested_pages(portal_client, admin, customer, category):
    job = software_job_create(customer=customer, user=None, category=category, firmware={})
    response = portal_client(admin).get(url("job_software_delete", job))
    active = [e["label"] for g in response.context["menu"] for e in g["entries"] if e["active"]]
    assert active == ["Update jobs"]
    response = portal_client(admin).get(AUTO_ENABLE)
    active = [e["label"] for g in response.context["menu"] for e in g["entries"] if e["active"]]
    assert active == ["Automatic provisioning"]
