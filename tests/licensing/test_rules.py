"""Release rules, expiration notices and the back-end sync."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import Role
from accounts.permissions import Area
from gateway.services.devices import device_obsolete
from gateway.services.licenses import license_request
from licensing.backend import BackendUnavailable
from licensing.fake_backend import FakeEntitlementBackend, entry
from licensing.models import Assignment, Entitlement, EntitlementState, ExpiryNotice, LicenseType
from licensing.services import (
    entitlements_expire,
    expiry_phrase,
    license_keep,
    standard_licenses_release,
)
from licensing.sync import entitlements_sync
from reports.models import Event, event_area
from tests.factories import UserFactory


def grant(device_id, feature="CUCM"):
    outcome = license_request(token="Acme-Direct", device_id=device_id, feature=feature)
    assert outcome.ok, outcome
    return outcome


@pytest.mark.django_db
def test_standard_released_after_30_silent_days_premium_never(
    voice_token, make_device, make_entitlement
):
    start = timezone.now()
    with freeze_time(start):
        silent = make_device("SILENT")
        active = make_device("ACTIVE")
        make_entitlement()
        make_entitlement(license_type=LicenseType.PREMIUM)
        grant("SILENT")
        grant("SILENT", "CUCM Premium")
        grant("ACTIVE")
    with freeze_time(start + timedelta(days=29)):
        active.last_checkin = timezone.now()
        active.save()
        assert standard_licenses_release() == 0
    with freeze_time(start + timedelta(days=31)):
        assert standard_licenses_release() == 1
        assert standard_licenses_release() == 0  # idempotent
    live = Assignment.objects.filter(released_at__isnull=True)
    assert {(a.device.device_id, a.license_type) for a in live} == {
        ("SILENT", LicenseType.PREMIUM),
        ("ACTIVE", LicenseType.STANDARD),
    }
    assert Event.objects.filter(type="LICENSE_RELEASE").latest("pk").data == {"released": 0}
    assert silent.assignments.filter(released_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_keeping_a_released_license_changes_nothing(voice_token, make_device, make_entitlement):
    start = timezone.now()
    with freeze_time(start):
        make_device()
        make_entitlement()
        grant("TC52_1")
    assignment = Assignment.objects.get()
    later = start + timedelta(hours=1)
    assert license_keep(
        assignment_pk=assignment.pk, feature="Asterisk", app_version="9.0.20500", now=later
    )
    standard_licenses_release(now=later + timedelta(days=31))
    assert not license_keep(
        assignment_pk=assignment.pk, feature="Mitel", app_version="9.0.20600", now=later
    )
    assignment.refresh_from_db()
    assert assignment.released_at is not None
    assert (assignment.feature, assignment.app_version, assignment.last_contact) == (
        "Asterisk",
        "20500",
        later,
    )


@pytest.mark.django_db
def test_obsoleting_a_device_releases_everything_it_holds(
    voice_token, make_device, make_entitlement, super_admin
):
    device = make_device()
    make_entitlement(total=1)
    make_entitlement(total=1, license_type=LicenseType.PREMIUM)
    grant("TC52_1")
    grant("TC52_1", "Aura Premium")
    device_obsolete(device=device, user=super_admin)
    assert not Assignment.objects.filter(released_at__isnull=True).exists()
    # What became of the licenses is told where license information belongs: the devices
    # area's Event (read by Admins and Users) says nothing of them.
    obsoleted = Event.objects.get(type="DEVICE_OBSOLETED")
    assert obsoleted.data == {} and "license" not in obsoleted.info.lower()
    released = Event.objects.get(type="DEVICE_LICENSES_RELEASED")
    assert (released.data, released.username) == ({"deviceId": "TC52_1", "released": 2}, "sam")
    assert event_area(released.type) == Area.LICENSES
    # The seats are free for another device.
    make_device("TC52_2")
    grant("TC52_2")


@pytest.mark.django_db
def test_only_roles_that_see_licenses_read_what_an_obsolete_device_released(
    voice_token, make_device, make_entitlement, users, customer, api_client
):
    device = make_device()
    make_entitlement(total=1)
    grant("TC52_1")
    device_obsolete(device=device, user=users["super_admin"])
    # Obsoleting it again gives back nothing more and says nothing more.
    device_obsolete(device=device, user=users["super_admin"])
    for role, sees in [("super_admin", True), ("admin", False), ("viewer", False)]:
        events = api_client(users[role]).get("/admin/api/v1/events").json()["results"]
        text = json.dumps(events)
        assert ("DEVICE_OBSOLETED" in text) is True, role
        assert ("DEVICE_LICENSES_RELEASED" in text) is sees, role
        assert ("released" in text) is sees, role
    assert Event.objects.filter(type="DEVICE_LICENSES_RELEASED").count() == 1
    assert Event.objects.filter(type="DEVICE_OBSOLETED").count() == 1


@pytest.mark.django_db
def test_expiry_marks_expired_and_notices_once_per_step(customer, make_entitlement, settings):
    UserFactory(customer=customer, role=Role.SUPER_ADMIN, email="boss@acme.example")
    UserFactory(customer=customer, role=Role.ADMIN, email="not-me@acme.example")
    start = timezone.now()
    with freeze_time(start):
        line = make_entitlement(days=40)
    for day, expected_step in [(10, 30), (11, None), (33, 7), (33, None), (39, 1), (40, 0)]:
        with freeze_time(start + timedelta(days=day, minutes=1)):
            before = len(mail.outbox)
            entitlements_expire()
            sent = len(mail.outbox) - before
            assert sent == (0 if expected_step is None else 1), day
    steps = set(ExpiryNotice.objects.values_list("days_before", flat=True))
    assert steps == {30, 7, 1, 0}
    assert Event.objects.filter(type="LICENSE_EXPIRY_NOTICE").count() == 4
    assert set(mail.outbox[0].to) == {customer.contact_email, "boss@acme.example"}
    line.refresh_from_db()
    assert line.state == EntitlementState.EXPIRED


@pytest.mark.django_db
def test_a_late_first_run_sends_only_the_most_urgent_notice(customer, make_entitlement):
    make_entitlement(days=3)
    entitlements_expire()
    assert len(mail.outbox) == 1
    assert "expire on" in mail.outbox[0].subject
    assert set(ExpiryNotice.objects.values_list("days_before", flat=True)) == {30, 7}
    entitlements_expire()
    assert len(mail.outbox) == 1


@pytest.fixture
def backend(settings, customer):
    with FakeEntitlementBackend(accounts=[customer.slug]) as fake:
        settings.LICENSE_BACKEND = "http"
        settings.LICENSE_BACKEND_URL = fake.url
        settings.LICENSE_BACKEND_TOKEN = fake.token
        yield fake


@pytest.mark.django_db
def test_full_sync_upserts_by_activation_id_and_expires_missing_lines(
    backend, customer, make_entitlement
):
    kept = make_entitlement(activation_id="AID-KEEP", total=5)
    gone = make_entitlement(activation_id="AID-GONE")
    backend.set_entitlements(
        customer.slug,
        [
            entry("AID-KEEP", quantity=20, term="5 Year Term"),
            entry("AID-NEW", license_type="premium", quantity=3),
        ],
    )
    counts = entitlements_sync(customer=customer)
    assert counts == {"reported": 2, "upserted": 2, "expired": 1}
    kept.refresh_from_db()
    gone.refresh_from_db()
    assert (kept.total, kept.term, kept.state) == (20, "5 Year Term", EntitlementState.ACTIVE)
    assert kept.verified_at is not None
    assert gone.state == EntitlementState.EXPIRED  # kept, never deleted
    new = Entitlement.objects.get(activation_id="AID-NEW")
    assert (new.customer, new.license_type, new.total) == (customer, LicenseType.PREMIUM, 3)


@pytest.mark.django_db
def test_hourly_check_changes_nothing_but_verification(backend, customer, make_entitlement):
    line = make_entitlement(activation_id="AID-1", total=5)
    backend.set_entitlements(customer.slug, [entry("AID-1", quantity=99), entry("AID-2")])
    assert entitlements_sync(customer=customer, full=False) == {"reported": 2, "verified": 1}
    line.refresh_from_db()
    assert line.total == 5 and line.verified_at is not None
    assert not Entitlement.objects.filter(activation_id="AID-2").exists()
    assert Event.objects.get(type="LICENSE_SYNC_GET").severity == "INFO"


@pytest.mark.django_db
def test_failing_back_end_writes_an_error_and_changes_nothing(backend, customer, make_entitlement):
    line = make_entitlement(activation_id="AID-1")
    backend.down = True
    with pytest.raises(BackendUnavailable):
        entitlements_sync(customer=customer)
    line.refresh_from_db()
    assert line.state == EntitlementState.ACTIVE
    assert Event.objects.get(type="LICENSE_SYNC_GET").severity == "ERROR"


@pytest.mark.django_db
def test_sync_never_takes_another_customers_activation_id(
    backend, customer, other_customer, make_entitlement
):
    theirs = make_entitlement(activation_id="AID-THEIRS", owner=other_customer, total=4)
    backend.set_entitlements(customer.slug, [entry("AID-THEIRS", quantity=50)])
    entitlements_sync(customer=customer)
    theirs.refresh_from_db()
    assert (theirs.customer, theirs.total) == (other_customer, 4)
    assert Event.objects.get(type="LICENSE_SYNC").severity == "ERROR"


@pytest.mark.django_db
def test_a_notice_says_how_many_days_are_left(customer, make_entitlement):
    start = timezone.now().replace(hour=12, minute=0)
    with freeze_time(start):
        line = make_entitlement(days=20)
        entitlements_expire()
    date = timezone.localtime(line.expiration).strftime("%Y-%m-%d")
    subject = mail.outbox[0].subject
    assert subject.endswith(f"expire on {date}, in 20 days"), subject
    assert f"expire on {date}, in 20 days." in mail.outbox[0].body
    event = Event.objects.get(type="LICENSE_EXPIRY_NOTICE")
    assert event.info.endswith(f"expire on {date}, in 20 days")


@pytest.mark.parametrize(
    ("hours_left", "phrase"),
    [
        (24 * 3, "expire on 2026-12-03, in 3 days"),
        (24, "expire on 2026-12-01, tomorrow"),
        (5, "expire today at 17:00"),
        (-2, "expired today"),
        (-50, "expired on 2026-11-28"),
    ],
)
def test_expiry_phrase(settings, hours_left, phrase):
    settings.TIME_ZONE = "UTC"
    now = timezone.make_aware(timezone.datetime(2026, 11, 30, 12, 0))
    assert expiry_phrase(now + timedelta(hours=hours_left), now) == phrase


@pytest.mark.django_db
def test_seat_counters_follow_releases_and_syncs(
    backend, voice_token, customer, make_device, make_entitlement, super_admin
):
    """`used` is what the pool decides with; it must equal the live assignments after
    every way a license comes and goes."""
    from tests.licensing.test_concurrency import assert_counters_match

    start = timezone.now()
    with freeze_time(start):
        line = make_entitlement(activation_id="AID-KEEP", total=5)
        premium = make_entitlement(activation_id="AID-PREM", license_type=LicenseType.PREMIUM)
        for n in range(4):
            make_device(f"TC52_{n}")
            grant(f"TC52_{n}")
        grant("TC52_0", "CUCM Premium")
    line.refresh_from_db()
    assert line.used == 4
    assert_counters_match()
    device_obsolete(
        device=line.assignments.get(device__device_id="TC52_0").device, user=super_admin
    )
    assert_counters_match()
    with freeze_time(start + timedelta(days=31)):
        assert standard_licenses_release() == 3
    assert_counters_match()
    backend.set_entitlements(
        customer.slug, [entry("AID-KEEP", quantity=2), entry("AID-PREM", license_type="premium")]
    )
    entitlements_sync(customer=customer)
    assert_counters_match()
    assert Entitlement.objects.get(pk=premium.pk).used == 0


@pytest.mark.django_db
def test_the_upgrade_moves_released_counts_out_of_old_device_events(customer, super_admin):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("reports.migrations.0008_device_licenses_released_event")
    old = Event.objects.create(
        customer=customer,
        user=super_admin,
        username="sam",
        type="DEVICE_OBSOLETED",
        info="Device TC52_9 marked obsolete; 3 license(s) released",
        data={"released": 3},
    )
    none = Event.objects.create(
        customer=customer,
        type="DEVICE_OBSOLETED",
        info="Device TC52_8 marked obsolete; 0 license(s) released",
        data={"released": 0},
    )
    migration.split_obsoleted_events(apps, None)
    old.refresh_from_db()
    none.refresh_from_db()
    assert (old.info, old.data) == ("Device TC52_9 marked obsolete", {})
    assert (none.info, none.data) == ("Device TC52_8 marked obsolete", {})
    moved = Event.objects.get(type="DEVICE_LICENSES_RELEASED")
    assert (moved.data, moved.area, moved.username, moved.created) == (
        {"deviceId": "TC52_9", "released": 3},
        Area.LICENSES,
        "sam",
        old.created,
    )
