"""The audit log is complete and role-aware: the one EventType enum, every change to a
portal user (portal, API, Django admin), password resets, staff acting; events about
licenses and portal users shown only to roles that may view those areas, on the page,
in the CSV and through the API alike."""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Role, User
from accounts.permissions import Area
from reports.models import EVENT_AREAS, Event, EventActor, EventType, event_area
from reports.services import event_log
from tests.factories import PASSWORD, UserFactory

EVENTS = reverse("reports:event_list")
EVENTS_API = "/admin/api/v1/events"
ROOT = Path(__file__).resolve().parents[2]


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# --- The one enum ----------------------------------------------------------------------


def test_every_area_entry_is_a_type_and_an_area():
    assert set(EVENT_AREAS) <= set(EventType.values)
    assert set(EVENT_AREAS.values()) <= set(Area.values)
    assert event_area(EventType.LICENSE_SYNC_GET) == Area.LICENSES
    assert event_area(EventType.USER_ADDED) == Area.USERS
    assert event_area(EventType.STAFF_ACTING) == ""


@pytest.mark.django_db
def test_event_log_takes_only_the_documented_types(customer):
    with pytest.raises(ValueError, match="not a valid EventType"):
        event_log(customer=customer, user=None, type="MADE_UP", info="x")
    event = event_log(customer=customer, user=None, type=EventType.LICENSE_SYNC, info="x")
    assert (event.type, event.area) == ("LICENSE_SYNC", "licenses")


def _event_log_types(path: Path) -> list[tuple[int, ast.expr]]:
    """(line, the `type=` argument) of each event_log(...) call in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "event_log":
            found += [(node.lineno, k.value) for k in node.keywords if k.arg == "type"]
    return found


def test_no_event_log_call_spells_its_type_as_text():
    # A member of EventType, or a variable holding one (event_log checks it at run time);
    # never a string. ztp builds its types from its actions (ZTP_<ACTION>) and is not
    # checked here yet.
    offenders = []
    for app in ("accounts", "devices", "licensing", "provisioning", "reports"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, value in _event_log_types(path):
                text = isinstance(value, ast.Constant | ast.JoinedStr)
                member = isinstance(value, ast.Attribute) and (
                    ast.unparse(value.value) == "EventType" and value.attr in EventType.names
                )
                if text or (isinstance(value, ast.Attribute) and not member):
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {ast.unparse(value)}")
    assert not offenders, "\n".join(offenders)


# --- Role-aware ------------------------------------------------------------------------


@pytest.fixture
def mixed_log(customer):
    event_log(
        customer=customer,
        user=None,
        type=EventType.LICENSE_EXPIRY_NOTICE,
        info="Standard license ***e295 (1 Year Term) expires on 2026-04-01",
    )
    event_log(customer=customer, user=None, type=EventType.LICENSE_SYNC, info="AID-SECRET synced")
    event_log(customer=customer, user=None, type=EventType.USER_ADDED, info="Portal user bob added")
    event_log(customer=customer, user=None, type=EventType.TOKEN_ADDED, info="Token t-1 added")
    event_log(customer=customer, user=None, type=EventType.STAFF_ACTING, info="Support acts")


SEEN = {
    "super_admin": {"***e295", "AID-SECRET", "bob", "t-1", "Support acts"},
    "staff": {"***e295", "AID-SECRET", "bob", "t-1", "Support acts"},
    "admin": {"t-1", "Support acts"},
    "viewer": {"t-1", "Support acts"},
}
MARKERS = {"***e295", "AID-SECRET", "bob", "t-1", "Support acts"}


@pytest.mark.django_db
@pytest.mark.parametrize("who", list(SEEN))
def test_license_and_user_events_only_for_roles_that_may_view_them(
    mixed_log, users, who, portal_client, api_client, customer
):
    user = users[who]
    query = {"customer": customer.slug} if who == "staff" else {}
    page = portal_client(user).get(EVENTS, query).content.decode()
    exported = " ".join(
        row["Info"] for row in csv_rows(portal_client(user).get(EVENTS, {**query, "format": "csv"}))
    )
    api = api_client(user).get(EVENTS_API, query)
    assert api.status_code == 200
    listed = " ".join(row["info"] for row in api.json()["results"])
    for shown in (page, exported, listed):
        assert {m for m in MARKERS if m in shown} == SEEN[who]
    # Filtering by a hidden type finds nothing either.
    hidden = portal_client(user).get(EVENTS, {**query, "type": "LICENSE_SYNC"})
    assert ("AID-SECRET" in hidden.content.decode()) == ("AID-SECRET" in SEEN[who])


@pytest.mark.django_db
def test_a_users_cursor_cannot_reach_a_hidden_event(mixed_log, portal_client, viewer):
    hidden = Event.objects.get(type="LICENSE_SYNC").pk
    body = portal_client(viewer).get(EVENTS, {"cursor": f"n{hidden}"}).content.decode()
    assert "has been deleted" in body and "AID-SECRET" not in body


# --- Portal users: portal, API, Django admin -------------------------------------------


def _events(kind) -> list[Event]:
    return list(Event.objects.filter(type=kind).order_by("pk"))


@pytest.mark.django_db
def test_portal_user_changes_in_the_portal_are_logged(portal_client, super_admin, viewer, customer):
    client = portal_client(super_admin)
    client.post(
        reverse("accounts:user_add"),
        {
            "username": "newbie",
            "name": "New Bie",
            "email": "newbie@acme.example",
            "role": Role.ADMIN,
            "password": "Str0ng-enough-pass",
            "password_confirm": "Str0ng-enough-pass",
        },
    )
    (added,) = _events(EventType.USER_ADDED)
    assert (added.customer, added.user, added.area) == (customer, super_admin, "users")
    assert added.info == "Portal user newbie added as Admin by sam"
    assert "Str0ng" not in str(added.data)
    assert EventActor.objects.filter(customer=customer, username="newbie").exists()

    edit = reverse("accounts:user_edit", args=[viewer.pk])
    client.post(
        edit, {"name": "Vic", "email": "vic@new.io", "role": Role.ADMIN, "version": viewer.version}
    )
    (role,) = _events(EventType.USER_ROLE_CHANGED)
    assert role.info.startswith("Role of portal user vic changed from User to Admin by sam")
    assert role.data["changes"]["role"] == ["user", "admin"]
    assert role.data["changes"]["email"] == ["vic@example.com", "vic@new.io"]

    viewer.refresh_from_db()  # each save is a new version; the form sends the one it showed
    client.post(
        edit,
        {
            "name": "Vic",
            "email": "vic@new.io",
            "role": Role.ADMIN,
            "password": "An0ther-strong-pass",
            "password_confirm": "An0ther-strong-pass",
            "version": viewer.version,
        },
    )
    (updated,) = _events(EventType.USER_UPDATED)
    assert updated.info == "Portal user vic changed by sam: password"
    assert updated.data["changes"] == {"password": ["", "changed"]}
    # Saving without a change logs nothing.
    viewer.refresh_from_db()
    client.post(
        edit, {"name": "Vic", "email": "vic@new.io", "role": Role.ADMIN, "version": viewer.version}
    )
    assert len(_events(EventType.USER_UPDATED)) == 1

    client.post(reverse("accounts:user_delete", args=[viewer.pk]))
    (deleted,) = _events(EventType.USER_DELETED)
    assert deleted.info == "Portal user vic (Admin) deleted by sam"


@pytest.mark.django_db
def test_portal_user_changes_through_the_api_are_logged(api_client, super_admin, customer):
    api = api_client(super_admin)
    created = api.post(
        "/admin/api/v1/users",
        {
            "username": "apiuser",
            "email": "api@acme.example",
            "role": "user",
            "password": "Str0ng-enough-pass",
        },
        format="json",
    )
    assert created.status_code == 201
    assert _events(EventType.USER_ADDED)[0].info == "Portal user apiuser added as User by sam"
    pk = created.json()["id"]
    changed = api.put(
        f"/admin/api/v1/users/{pk}",
        {"username": "apiuser", "email": "api@acme.example", "role": "admin"},
        format="json",
    )
    assert changed.status_code == 200
    assert _events(EventType.USER_ROLE_CHANGED)[0].user == super_admin
    assert api.delete(f"/admin/api/v1/users/{pk}").status_code == 204
    assert _events(EventType.USER_DELETED)[0].info == "Portal user apiuser (Admin) deleted by sam"


@pytest.mark.django_db
def test_portal_user_changes_in_django_admin_are_logged(client, staff, customer, viewer):
    client.force_login(staff)
    add = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "adminmade",
            "email": "made@acme.example",
            "name": "Made",
            "customer": customer.pk,
            "role": Role.USER,
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert add.status_code == 302
    assert _events(EventType.USER_ADDED)[0].info == "Portal user adminmade added as User by support"
    change = client.post(
        reverse("admin:accounts_user_change", args=[viewer.pk]),
        {"role": Role.ADMIN, "name": viewer.name, "email": viewer.email},
    )
    assert change.status_code == 302
    assert _events(EventType.USER_ROLE_CHANGED)[0].user == staff
    password = client.post(
        reverse("admin:auth_user_password_change", args=[viewer.pk]),
        {"password1": "N3w-long-passphrase", "password2": "N3w-long-passphrase"},
    )
    assert password.status_code == 302
    (updated,) = _events(EventType.USER_UPDATED)
    assert (updated.user, updated.data["changes"]) == (staff, {"password": ["", "changed"]})
    delete = client.post(reverse("admin:accounts_user_delete", args=[viewer.pk]), {"post": "yes"})
    assert delete.status_code == 302
    assert _events(EventType.USER_DELETED)[0].user == staff


@pytest.mark.django_db
def test_a_command_adding_a_user_is_logged_without_a_person(customer):
    from django.core.management import call_command

    call_command(
        "createportaluser",
        "cli",
        customer=customer.slug,
        role="user",
        email="cli@acme.example",
        password="Str0ng-enough-pass",
        stdout=io.StringIO(),
    )
    (added,) = _events(EventType.USER_ADDED)
    assert (added.user, added.username, added.info) == (None, "", "Portal user cli added as User")


@pytest.mark.django_db
def test_password_resets_are_logged_without_saying_who_exists(client, viewer):
    client.post(reverse("accounts:password_reset"), {"email": viewer.email})
    (asked,) = _events(EventType.PASSWORD_RESET_REQUESTED)
    assert (asked.customer, asked.user, asked.area) == (viewer.customer, None, "users")
    assert asked.info == "Password reset requested for vic from 127.0.0.1"
    client.post(reverse("accounts:password_reset"), {"email": "nobody@nowhere.io"})
    assert len(_events(EventType.PASSWORD_RESET_REQUESTED)) == 1

    link = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "N3w-pass-phrase", "new_password2": "N3w-pass-phrase"})
    (done,) = _events(EventType.PASSWORD_RESET_COMPLETED)
    assert done.info == "Password of vic reset with the emailed link"


@pytest.mark.django_db
def test_staff_acting_is_logged_and_lists_them_in_the_user_filter(client, staff, customer):
    client.force_login(staff)
    client.post(reverse("accounts:customer_switch"), {"customer": customer.pk})
    (acting,) = _events(EventType.STAFF_ACTING)
    assert acting.user == staff
    assert EventActor.objects.filter(customer=customer, username="support").exists()


@pytest.mark.django_db
def test_user_events_are_hidden_from_admins(portal_client, super_admin, admin, customer):
    other = UserFactory(customer=customer, role=Role.USER, username="zed")
    portal_client(super_admin).post(reverse("accounts:user_delete", args=[other.pk]))
    assert not User.objects.filter(username="zed").exists()
    assert "zed" in portal_client(super_admin).get(EVENTS).content.decode()
    assert "zed" not in portal_client(admin).get(EVENTS).content.decode()
