"""Automatic PTT Pro site provisioning, the guide's conflict cases, and the sweeps."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone
from freezegun import freeze_time
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from devices import sites, tasks
from devices.models import Device, Site, SiteStatus
from devices.ptt import PttClient, PttUnavailable
from devices.sites import device_site_provision, inactive_site_devices_sweep, sites_sync
from gateway.services.licenses import device_checkin
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId, Event
from tests.devices.factories import DeviceFactory, SiteFactory

DEVICE = "TC52_18304522512397"


@pytest.fixture
def site_tokens(ptt, customer, admin):
    """Tokens of the server's two sites (synced) and of a site it does not have."""
    sites_sync(customer=customer)
    ptt.requests.clear()
    for site in ["North", "South", "Nowhere"]:
        bootstrap_save(customer=customer, user=admin, name=site, parameters={"site": site})
        token_save(
            customer=customer,
            user=admin,
            value=f"tok-{site}",
            app_id=AppId.PTT_PRO,
            bootstrap=site,
        )


def redeem(token, *, version="3.3.10200", device=DEVICE, app=AppId.PTT_PRO):
    return APIClient().post(
        "/device/api/v1/bootstrap",
        {"token": token, "deviceId": device, "appId": app, "appVersion": version},
        format="json",
    )


def redeem_and_run(token, capture, **kwargs):
    with capture(execute=True):
        response = redeem(token, **kwargs)
    assert response.status_code == 200
    return Device.objects.select_related("site", "provisioned_site").get(
        device_id=kwargs.get("device", DEVICE)
    )


@pytest.mark.django_db
def test_site_token_provisions_the_device_into_the_site(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    device = redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    assert ptt.rows == {DEVICE: ("North", "provisioning")}
    assert (device.site.name, device.site_status, device.provisioned_site.name) == (
        "North",
        SiteStatus.PROVISIONED,
        "North",
    )
    assert device.site_assigned_at is not None


@pytest.mark.django_db
def test_token_of_another_site_moves_the_device(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    device = redeem_and_run("tok-South", django_capture_on_commit_callbacks)
    assert ptt.rows == {DEVICE: ("South", "provisioning")}
    assert device.site.name == "South"
    assert device.site_status == SiteStatus.PROVISIONED


@pytest.mark.django_db
def test_redeeming_the_same_site_again_calls_nobody(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    seen = len(ptt.requests)
    with django_capture_on_commit_callbacks() as callbacks:
        assert redeem("tok-North").status_code == 200
    assert callbacks == []
    assert len(ptt.requests) == seen


@pytest.mark.django_db
def test_manual_row_in_the_same_site_counts_as_provisioned(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    ptt.add_manual_device(DEVICE, "North")
    device = redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    assert device.site_status == SiteStatus.PROVISIONED
    assert device.site_row_manual
    assert ptt.rows == {DEVICE: ("North", "manual")}


@pytest.mark.django_db
def test_manual_row_in_another_site_is_a_conflict_shown_on_the_device(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    ptt.add_manual_device(DEVICE, "South")
    device = redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    assert device.site_status == SiteStatus.CONFLICT
    assert "entered by hand in site South" in device.site_error
    assert ptt.rows == {DEVICE: ("South", "manual")}  # untouched
    event = Event.objects.get(type="SITE_PROVISIONING_FAILED")
    assert DEVICE in event.info


@pytest.mark.django_db
def test_unknown_site_fails_on_the_device_and_makes_up_no_site(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    device = redeem_and_run("tok-Nowhere", django_capture_on_commit_callbacks)
    assert (device.site, device.site_status) == (None, SiteStatus.FAILED)
    assert device.site_error.startswith("Unknown site 'Nowhere'")
    assert not Site.objects.filter(name="Nowhere").exists()
    assert sorted(Site.objects.values_list("name", flat=True)) == ["North", "South"]
    assert ptt.rows == {}
    assert ptt.requests == []  # nothing to ask the server


@pytest.mark.django_db
def test_site_the_server_no_longer_has_fails_with_its_reason(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    ptt.remove_department("South")  # gone from the server since the last sync
    device = redeem_and_run("tok-South", django_capture_on_commit_callbacks)
    assert device.site_status == SiteStatus.FAILED
    assert device.site_error.startswith("PTT Pro:")
    assert ptt.rows == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app", "version"), [(AppId.PTT_PRO, "3.3.10196"), (AppId.PTT_PRO_IOS, "1.0.11085")]
)
def test_older_ptt_pro_is_recorded_but_not_provisioned(
    ptt, site_tokens, customer, admin, django_capture_on_commit_callbacks, app, version
):
    if app == AppId.PTT_PRO_IOS:
        token_save(customer=customer, user=admin, value="tok-ios", app_id=app, bootstrap="North")
    with django_capture_on_commit_callbacks() as callbacks:
        response = redeem(
            "tok-ios" if app == AppId.PTT_PRO_IOS else "tok-North", version=version, app=app
        )
    assert response.status_code == 200
    device = Device.objects.get()
    assert (device.site, device.site_status, device.app_version) == (None, "", version)
    assert callbacks == []


@pytest.mark.django_db
def test_outage_never_fails_the_redemption_and_nothing_is_lost(
    ptt, site_tokens, django_capture_on_commit_callbacks, monkeypatch
):
    # The broker is down too: queueing fails, the redemption still succeeds.
    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.provision_device_site, "delay", broker_down)
    ptt.down = True
    with django_capture_on_commit_callbacks(execute=True):
        assert redeem("tok-North").status_code == 200
    device = Device.objects.get()
    assert device.site_status == SiteStatus.PENDING
    with pytest.raises(PttUnavailable):
        device_site_provision(device_pk=device.pk)
    device.refresh_from_db()
    assert device.site_status == SiteStatus.PENDING

    ptt.down = False
    assert device_site_provision(device_pk=device.pk) == "provisioned"
    assert ptt.rows == {DEVICE: ("North", "provisioning")}


@pytest.mark.django_db
def test_task_gives_up_for_now_then_the_retry_sweep_finishes_the_job(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    ptt.down = True
    with django_capture_on_commit_callbacks():  # queued, not run
        assert redeem("tok-North").status_code == 200
    device = Device.objects.get()
    task = tasks.provision_device_site
    result = task.apply(args=[device.pk], retries=task.max_retries)
    assert result.get() == "gave up for now"
    device.refresh_from_db()
    assert device.site_status == SiteStatus.PENDING
    assert device.site_error.startswith("PTT Pro unreachable, will retry")

    ptt.down = False
    with freeze_time(timezone.now() + timedelta(minutes=20)):
        assert tasks.retry_pending_site_provisioning() == 1
    device.refresh_from_db()
    assert (device.site_status, device.site_error) == (SiteStatus.PROVISIONED, "")
    assert ptt.rows == {DEVICE: ("North", "provisioning")}


@pytest.mark.django_db
def test_sweep_removes_inactive_auto_provisioned_devices_only(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    ptt.add_manual_device("MANUAL_1", "North")
    start = timezone.now()
    with freeze_time(start):
        redeem_and_run("tok-North", django_capture_on_commit_callbacks)
        redeem_and_run("tok-North", django_capture_on_commit_callbacks, device="MANUAL_1")
    with freeze_time(start + timedelta(days=25)):
        redeem_and_run("tok-South", django_capture_on_commit_callbacks, device="FRESH_1")

    with freeze_time(start + timedelta(days=31)):
        counts = inactive_site_devices_sweep()
    assert counts == {"candidates": 1, "removed": 1, "kept": 0, "failed": 0}
    assert set(ptt.rows) == {"MANUAL_1", "FRESH_1"}
    old = Device.objects.get(device_id=DEVICE)
    assert (old.site, old.site_status) == (None, SiteStatus.NONE)
    assert Device.objects.get(device_id="MANUAL_1").site.name == "North"
    event = Event.objects.filter(type="SITE_SWEEP").latest("pk")
    assert event.data == counts

    with freeze_time(start + timedelta(days=31)):
        assert inactive_site_devices_sweep()["removed"] == 0  # idempotent


@pytest.mark.django_db
def test_sweep_keeps_devices_the_server_could_not_remove(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with freeze_time(start):
        redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    ptt.down = True
    with freeze_time(start + timedelta(days=31)):
        assert inactive_site_devices_sweep() == {
            "candidates": 1,
            "removed": 0,
            "kept": 0,
            "failed": 1,
        }
    assert Device.objects.get().site_status == SiteStatus.PROVISIONED


@pytest.mark.django_db
def test_sites_sync_copies_departments_and_reports_failures(ptt, customer):
    assert sites_sync(customer=customer) == 2
    assert set(Site.objects.for_customer(customer).values_list("name", "server_name")) == {
        ("North", "ptt1"),
        ("South", "ptt1"),
    }
    ptt.down = True
    with pytest.raises(PttUnavailable):
        sites_sync(customer=customer)
    assert Event.objects.filter(type="SITE_SYNC", severity="ERROR").count() == 1
    assert Site.objects.count() == 2


@pytest.mark.django_db
def test_sweep_leaves_a_row_an_administrator_entered_again_by_hand(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with freeze_time(start):
        redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    ptt.add_manual_device(DEVICE, "North")  # taken over by hand after we provisioned it
    with freeze_time(start + timedelta(days=31)):
        inactive_site_devices_sweep()
    assert ptt.rows == {DEVICE: ("North", "manual")}


@pytest.mark.django_db
def test_sites_sync_tolerates_a_name_listed_twice(ptt, customer):
    ptt.add_department("North ")  # the fake keys by exact name; ours cut and compare
    long_name = "x" * 200
    ptt.add_department(long_name)
    ptt.add_department(long_name + "y")
    assert sites_sync(customer=customer) == 4
    assert Site.objects.filter(name="x" * 128).count() == 1


@pytest.mark.django_db
def test_a_run_overtaken_by_a_move_goes_round_again_for_the_new_site(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    # The worst order once no lock serialises the runs: the device moves to South, and
    # South's run finishes, while North's run is about to PUT. North's PUT lands last.
    with django_capture_on_commit_callbacks():  # North's task: queued, run by hand below
        assert redeem("tok-North").status_code == 200
    device = Device.objects.get()
    put = PttClient.put_device
    moved = []

    def put_device(client, device_id, site):
        if site == "North" and not moved:
            moved.append(site)
            redeem_and_run("tok-South", django_capture_on_commit_callbacks)
            assert ptt.rows == {DEVICE: ("South", "provisioning")}
        put(client, device_id, site)

    monkeypatch.setattr(PttClient, "put_device", put_device)
    assert device_site_provision(device_pk=device.pk) == "provisioned"
    assert ptt.rows == {DEVICE: ("South", "provisioning")}
    device = Device.objects.select_related("site", "provisioned_site").get()
    assert (device.site.name, device.site_status, device.provisioned_site.name) == (
        "South",
        SiteStatus.PROVISIONED,
        "South",
    )
    # North's run put the device back where South's run had put it.
    assert [site for method, site in ptt.requests if method == "PUT"] == [
        f"/api/v1/devices/{DEVICE}"
    ] * 3


@pytest.mark.django_db
def test_a_run_overtaken_by_a_move_it_did_not_act_on_leaves_it_to_the_new_run(
    ptt, site_tokens, django_capture_on_commit_callbacks, monkeypatch
):
    # North's run finds a hand-entered row (a conflict, no change on the server) while the
    # device moves to South: nothing is recorded, and South's queued task does the work.
    ptt.add_manual_device(DEVICE, "South")
    with django_capture_on_commit_callbacks():
        assert redeem("tok-North").status_code == 200
    device = Device.objects.get()
    get = PttClient.get_device

    def get_device(client, device_id):
        with django_capture_on_commit_callbacks() as queued:
            assert redeem("tok-South").status_code == 200
        assert len(queued) == 1
        return get(client, device_id)

    monkeypatch.setattr(PttClient, "get_device", get_device)
    assert device_site_provision(device_pk=device.pk) == sites.SUPERSEDED
    device.refresh_from_db()
    assert (device.site.name, device.site_status) == ("South", SiteStatus.PENDING)
    assert not Event.objects.filter(type="SITE_PROVISIONING_FAILED").exists()


@pytest.mark.django_db
def test_sweep_keeps_a_device_that_checks_in_while_it_runs(
    ptt, site_tokens, eager_tasks, django_capture_on_commit_callbacks, monkeypatch, customer
):
    start = timezone.now()
    with freeze_time(start):
        redeem_and_run("tok-North", django_capture_on_commit_callbacks)
    remove = sites._remove_our_row

    def checked_in_first(client, device_id):
        # The device checks in after the sweep read it as inactive.
        assert device_checkin(token="tok-North", device_id=device_id).ok
        remove(client, device_id)

    monkeypatch.setattr(sites, "_remove_our_row", checked_in_first)
    with freeze_time(start + timedelta(days=31)):
        counts = inactive_site_devices_sweep()
    assert counts == {"candidates": 1, "removed": 0, "kept": 1, "failed": 0}
    assert Event.objects.filter(type="SITE_SWEEP").latest("pk").data == counts
    device = Device.objects.select_related("site").get()
    assert (device.site.name, device.site_status, device.provisioned_site) == (
        "North",
        SiteStatus.PENDING,
        None,
    )
    assert ptt.rows == {}  # its row was removed before it checked in

    # Due at once: the next retry sweep provisions it again.
    with freeze_time(start + timedelta(days=31, minutes=10)):
        assert tasks.retry_pending_site_provisioning() == 1
    device.refresh_from_db()
    assert (device.site_status, device.provisioned_site_id) == (
        SiteStatus.PROVISIONED,
        device.site_id,
    )
    assert ptt.rows == {DEVICE: ("North", "provisioning")}


@pytest.mark.django_db
def test_retry_sweep_leaves_a_device_in_back_off_to_its_retry(
    ptt, site_tokens, django_capture_on_commit_callbacks, monkeypatch
):
    ptt.down = True
    task = tasks.provision_device_site
    start = timezone.now()
    with freeze_time(start):
        with django_capture_on_commit_callbacks():  # queued, run by hand below
            assert redeem("tok-North").status_code == 200
        device = Device.objects.get()
        # The retry is scheduled, not run: in eager mode Celery would run it at once.
        monkeypatch.setattr(
            task, "retry", lambda exc=None, countdown=None, **kw: Retry(exc=exc, when=countdown)
        )
        # Fifth try failed: the next one is in 30 s * 2**4 = 8 minutes.
        with pytest.raises(Retry) as retry:
            task.apply(args=[device.pk], retries=4)
        assert retry.value.when == 8 * 60
    queued = []
    monkeypatch.setattr(task, "delay", queued.append)

    # Pending for 20 minutes, but its retry is not overdue (8 minutes + 15 of margin).
    with freeze_time(start + timedelta(minutes=20)):
        assert tasks.retry_pending_site_provisioning() == 0
    # The retry never came (worker lost it): queued again, once.
    with freeze_time(start + timedelta(minutes=24)):
        assert tasks.retry_pending_site_provisioning() == 1
    with freeze_time(start + timedelta(minutes=34)):
        assert tasks.retry_pending_site_provisioning() == 0
    assert queued == [device.pk]


@pytest.mark.django_db
def test_retry_sweep_queues_a_device_whose_task_was_never_queued(
    ptt, site_tokens, django_capture_on_commit_callbacks, monkeypatch, customer
):
    with django_capture_on_commit_callbacks():  # the broker lost it
        assert redeem("tok-North").status_code == 200
    lost = Device.objects.get()
    # A device left pending before site_retry_at existed: its last change counts.
    old = DeviceFactory(
        customer=customer, site=SiteFactory(customer=customer), site_status=SiteStatus.PENDING
    )
    Device.objects.filter(pk=old.pk).update(updated=timezone.now() - timedelta(minutes=16))
    queued = []
    monkeypatch.setattr(tasks.provision_device_site, "delay", queued.append)
    assert tasks.retry_pending_site_provisioning() == 1
    assert queued == [old.pk]
    assert tasks.retry_pending_site_provisioning() == 0  # its new task has 15 minutes
    with freeze_time(timezone.now() + timedelta(minutes=16)):
        # The redeemed device's task is overdue, and so is the one queued for the old row.
        assert tasks.retry_pending_site_provisioning() == 2
    assert queued == [old.pk, lost.pk, old.pk]
