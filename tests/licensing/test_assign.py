"""POST /device/api/v1/license: the pool's rules, seen from a device."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db import transaction as django_transaction
from django.utils import timezone
from rest_framework.test import APIClient

from devices.models import DeviceKind
from gateway.services import licenses as license_flow
from licensing import services as licensing_services
from licensing.models import Assignment, Entitlement, EntitlementState, LicenseType
from reports.models import Event, History, HistoryAction, HistoryResult
from reports.services import history_values
from tests.licensing.test_pages import assign

URL = "/device/api/v1/license"
CHECKIN_URL = "/device/api/v1/checkin"


def ask(token="Acme-Direct", device="TC52_1", feature="CUCM", version="9.0.20406"):
    return APIClient().post(
        URL,
        {"token": token, "deviceId": device, "feature": feature, "appVersion": version},
        format="json",
    )


@pytest.mark.django_db
def test_assigns_from_the_entitlement_with_the_farthest_expiration(
    voice_token, make_device, make_entitlement
):
    make_device()
    make_entitlement(days=100)
    farthest = make_entitlement(days=700)
    make_entitlement(days=300)
    response = ask()
    assert response.status_code == 200
    body = response.json()
    assert body["activationId"] == farthest.activation_id
    assert (body["feature"], body["licenseType"]) == ("CUCM", "standard")
    assignment = Assignment.objects.get()
    assert (assignment.entitlement, assignment.app_version) == (farthest, "20406")
    assert History.objects.get().result == HistoryResult.OK


@pytest.mark.django_db
def test_keeps_the_license_it_holds_even_when_another_expires_later(
    voice_token, make_device, make_entitlement
):
    make_device()
    first = make_entitlement(days=100)
    assert ask().json()["activationId"] == first.activation_id
    make_entitlement(days=900)
    response = ask(feature="Asterisk")
    assert response.json()["activationId"] == first.activation_id
    assert Assignment.objects.count() == 1
    assert Assignment.objects.get().feature == "Asterisk"


@pytest.mark.django_db
def test_skips_full_expired_and_inactive_lines(voice_token, make_device, make_entitlement):
    make_device()
    make_device("OTHER")
    full = make_entitlement(total=1, days=900)
    assign(full, full.customer.device_set.get(device_id="OTHER"))
    make_entitlement(days=800, state=EntitlementState.EXPIRED)
    make_entitlement(days=-1)
    ok = make_entitlement(days=10)
    assert ask().json()["activationId"] == ok.activation_id


@pytest.mark.django_db
def test_premium_feature_takes_a_premium_license(voice_token, make_device, make_entitlement):
    make_device()
    make_entitlement(days=900)
    premium = make_entitlement(license_type=LicenseType.PREMIUM, days=50)
    body = ask(feature="CUCM Premium").json()
    assert (body["activationId"], body["licenseType"]) == (premium.activation_id, "premium")
    # Standard and Premium are held side by side.
    assert ask(feature="CUCM").json()["licenseType"] == "standard"
    assert Assignment.objects.filter(released_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_premium_is_refused_for_third_party_devices(voice_token, make_device, make_entitlement):
    make_device("Pixel7_TAIabc", kind=DeviceKind.THIRD_PARTY_ANDROID)
    make_entitlement(license_type=LicenseType.PREMIUM)
    response = ask(device="Pixel7_TAIabc", feature="Aura Premium")
    assert response.status_code == 403
    assert response.json()["error"] == "premium_not_supported"
    assert not Assignment.objects.exists()
    make_entitlement()
    assert ask(device="Pixel7_TAIabc", feature="Generic PBX").status_code == 200


@pytest.mark.django_db
def test_nothing_available_is_409_with_an_event(voice_token, make_device, make_entitlement):
    make_device()
    make_entitlement(license_type=LicenseType.PREMIUM)
    response = ask(feature="Mitel")
    assert response.status_code == 409
    assert response.json()["error"] == "no_license_available"
    assert Event.objects.get(type="NO_LICENSE_AVAILABLE").customer == voice_token.customer
    assert History.objects.get().result == HistoryResult.NO_LICENSE


@pytest.mark.django_db
def test_an_expired_license_is_replaced(voice_token, make_device, make_entitlement):
    make_device()
    old = make_entitlement(days=5)
    assert ask().json()["activationId"] == old.activation_id
    Entitlement.objects.filter(pk=old.pk).update(expiration=timezone.now() - timedelta(minutes=1))
    new = make_entitlement(days=400)
    assert ask().json()["activationId"] == new.activation_id
    assert Assignment.objects.filter(released_at__isnull=True).get().entitlement == new
    assert Assignment.objects.filter(entitlement=old).get().released_at is not None


@pytest.mark.django_db
def test_a_device_id_alone_never_reaches_another_customers_pool(
    voice_token, make_device, make_entitlement, other_customer
):
    # The device exists only at the other customer, which has licenses.
    make_device(owner=other_customer)
    make_entitlement(owner=other_customer)
    response = ask()
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_device"
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_unknown_and_revoked_tokens(voice_token, make_device, make_entitlement):
    make_device()
    make_entitlement()
    assert ask(token="nope").status_code == 404
    voice_token.revoked = True
    voice_token.save()
    assert ask().status_code == 410
    assert not Assignment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"deviceId": "X", "feature": "CUCM"}, "token"),
        ({"token": "Acme-Direct", "feature": "CUCM"}, "deviceId"),
        ({"token": "Acme-Direct", "deviceId": "X", "feature": "Skype"}, "feature"),
        ({"token": "bad token", "deviceId": "X", "feature": "CUCM"}, "token"),
    ],
)
def test_bad_input_is_400_naming_the_field(voice_token, body, field):
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")
    assert History.objects.get().result == HistoryResult.BAD_REQUEST


@pytest.mark.django_db(transaction=True)
def test_a_license_takes_two_statements_and_counts_no_rows(
    voice_token, make_device, make_entitlement, django_assert_num_queries
):
    make_device()
    make_entitlement()
    transaction = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"}
    if connection.vendor == "postgresql":
        # Token+device+live license; then one data-modifying WITH takes the seat and
        # writes the assignment and the History row, atomic on its own.
        expected, kinds = 2, ["SELECT", "WITH"]
    else:
        # SQLite has no data-modifying WITH: the seat, the assignment and the History row
        # in one transaction.
        expected, kinds = 6, ["SELECT", "UPDATE", "INSERT", "INSERT"]
    with django_assert_num_queries(expected) as captured:
        assert ask().status_code == 200
    work = [q["sql"].strip() for q in captured.captured_queries if q["sql"] not in transaction]
    assert [sql.split()[0] for sql in work] == kinds
    # Choosing a seat reads the line's counter; it never counts assignment rows.
    assert not any("COUNT(" in sql.upper() for sql in work)
    live = Assignment.objects.get(released_at__isnull=True)
    row = History.objects.get(action=HistoryAction.LICENSE)
    assert (row.result, row.customer_id, row.device_id) == (
        HistoryResult.OK,
        live.customer_id,
        "TC52_1",
    )
    # Asking again: token+device+live license, then its refresh with the History row (one
    # statement on PostgreSQL; two in one transaction on SQLite).
    postgresql = connection.vendor == "postgresql"
    with django_assert_num_queries(2 if postgresql else 5) as captured:
        assert ask().status_code == 200
    began = [q["sql"] for q in captured.captured_queries if q["sql"] in transaction]
    assert began == ([] if postgresql else ["BEGIN IMMEDIATE", "COMMIT"])
    assert (
        History.objects.filter(action=HistoryAction.LICENSE, result=HistoryResult.OK).count() == 2
    )
    assert Assignment.objects.get().last_contact > live.last_contact


@pytest.mark.django_db
def test_checkin_refreshes_device_and_licenses(voice_token, make_device, make_entitlement):
    device = make_device(last_checkin=None)
    make_entitlement()
    ask()
    response = APIClient().post(
        "/device/api/v1/checkin",
        {"token": "Acme-Direct", "deviceId": "TC52_1", "appVersion": "9.0.20500"},
        format="json",
    )
    assert response.status_code == 204
    device.refresh_from_db()
    assert device.last_checkin is not None and device.app_version == "9.0.20500"
    assert Assignment.objects.get().app_version == "20500"
    missing = APIClient().post(
        "/device/api/v1/checkin", {"token": "Acme-Direct", "deviceId": "NOPE"}, format="json"
    )
    assert missing.status_code == 404


@pytest.mark.django_db
def test_an_obsolete_device_gets_no_license_until_it_redeems_again(
    voice_token, make_device, make_entitlement
):
    make_device(state="obsolete")
    make_entitlement()
    response = ask()
    assert response.status_code == 410
    assert response.json()["error"] == "obsolete_device"
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_checkin_takes_one_statement_on_postgresql(
    voice_token, make_device, make_entitlement, django_assert_num_queries
):
    make_device()
    make_entitlement()
    ask()
    # PostgreSQL: one data-modifying WITH checks the token and refreshes the device and
    # its licenses and writes the History row. SQLite takes a statement for each.
    expected = 1 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(expected) as captured:
        response = APIClient().post(
            "/device/api/v1/checkin", {"token": "Acme-Direct", "deviceId": "TC52_1"}, format="json"
        )
    assert response.status_code == 204
    assert not any(q["sql"].startswith("BEGIN") for q in captured.captured_queries)
    row = History.objects.filter(action=HistoryAction.CHECKIN).get()
    assert (row.result, row.device_id, row.token) == (HistoryResult.OK, "TC52_1", "Acme-Direct")


# The feature names of the guide ("Assigned" table and the Feature description) with the
# license type it gives each, and the spellings clients sent before.
GUIDE_FEATURES = [
    ("Alcatel", "standard"),
    ("Asterisk", "standard"),
    ("Basic CUCM", "standard"),
    ("CME", "standard"),
    ("CUCM", "standard"),
    ("Generic PBX", "standard"),
    ("IP Office", "standard"),
    ("Local", "standard"),
    ("Mitel", "standard"),
    ("Rauland", "standard"),
    ("Aura Premium", "premium"),
    ("Cisco Premium", "premium"),
    ("CME Premium", "premium"),
    ("CUCM Premium", "premium"),
    ("Local use Standard", "standard"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("feature", "license_type"), GUIDE_FEATURES)
def test_every_guide_feature_name_gets_a_license_of_its_type(
    voice_token, make_device, make_entitlement, feature, license_type
):
    make_device()
    make_entitlement(license_type=LicenseType.STANDARD)
    make_entitlement(license_type=LicenseType.PREMIUM)
    response = ask(feature=feature)
    assert response.status_code == 200, response.json()
    assert (response.json()["feature"], response.json()["licenseType"]) == (feature, license_type)
    # Shown as the device sent it.
    assert Assignment.objects.get().feature == feature


@pytest.mark.django_db
def test_an_unknown_feature_names_the_field(voice_token, make_device, make_entitlement):
    make_device()
    make_entitlement()
    response = ask(feature="Basic Cucm")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("feature:")
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_a_license_released_while_it_is_kept_is_not_claimed(
    voice_token, make_device, make_entitlement, monkeypatch
):
    make_device()
    entitlement = make_entitlement(total=1)
    held = ask().json()
    keep = licensing_services.license_keep

    def released_first(**kwargs):
        # The release job (or obsoleting) returns the license to the pool after the
        # request read it as live, before it is kept.
        licensing_services.licenses_release(
            Assignment.objects.filter(pk=kwargs["assignment_pk"]), now=timezone.now()
        )
        return keep(**kwargs)

    monkeypatch.setattr(license_flow, "license_keep", released_first)
    response = ask()
    assert response.status_code == 200
    # The device is told about a license it really holds: a new assignment of the seat.
    live = Assignment.objects.get(released_at__isnull=True)
    assert (live.entitlement, response.json()["activationId"]) == (
        entitlement,
        held["activationId"],
    )
    assert Assignment.objects.count() == 2


@pytest.mark.django_db
def test_a_license_released_while_it_is_kept_is_not_taken_from_a_full_pool(
    voice_token, make_device, make_entitlement, monkeypatch
):
    make_device()
    make_device("OTHER")
    entitlement = make_entitlement(total=1)
    assert ask().status_code == 200
    keep = licensing_services.license_keep

    def released_and_taken_first(**kwargs):
        # Released, and the seat went to another device before this request kept it.
        licensing_services.licenses_release(
            Assignment.objects.filter(pk=kwargs["assignment_pk"]), now=timezone.now()
        )
        assert ask(device="OTHER").status_code == 200
        return keep(**kwargs)

    monkeypatch.setattr(license_flow, "license_keep", released_and_taken_first)
    response = ask()
    assert response.status_code == 409
    assert response.json()["error"] == "no_license_available"
    live = Assignment.objects.get(released_at__isnull=True)
    assert (live.device.device_id, live.entitlement) == ("OTHER", entitlement)


def check_in(token="Acme-Direct", device="TC52_1"):
    return APIClient().post(CHECKIN_URL, {"token": token, "deviceId": device}, format="json")


@pytest.mark.django_db
def test_an_expired_token_gets_no_license_and_no_check_in(
    voice_token, make_device, make_entitlement
):
    make_device()
    make_entitlement()
    assert ask().status_code == 200
    voice_token.expires_at = timezone.now() - timedelta(minutes=1)
    voice_token.save()
    for response in (ask(), check_in()):
        assert response.status_code == 410
        assert response.json()["error"] == "expired"
    refused = History.objects.filter(result=HistoryResult.EXPIRED)
    assert sorted(refused.values_list("action", flat=True)) == sorted(
        [HistoryAction.LICENSE, HistoryAction.CHECKIN]
    )
    assert refused.filter(customer=voice_token.customer).count() == 2


@pytest.mark.django_db
def test_a_used_up_token_keeps_working_for_the_devices_that_redeemed_it(
    voice_token, make_device, make_entitlement
):
    make_device()
    make_entitlement()
    voice_token.max_redemptions = 1
    voice_token.redemption_count = 1
    voice_token.expires_at = timezone.now() + timedelta(days=1)  # not yet
    voice_token.save()
    assert ask().status_code == 200
    assert check_in().status_code == 204


@pytest.mark.parametrize(
    "in_transaction",
    [
        pytest.param(False, marks=pytest.mark.django_db(transaction=True)),
        pytest.param(True, marks=pytest.mark.django_db),
    ],
)
def test_a_device_that_won_a_race_for_its_license_keeps_one_seat(
    voice_token, make_device, make_entitlement, customer, in_transaction
):
    """Two requests of one device at once: both looked up no license, the first took a
    seat, the second's insert meets the one-live-license constraint. The second answers
    with the first's license and gives its seat back (rolled back with its rows), whether
    it ran on its own or inside a caller's transaction, which stays usable."""
    device = make_device()
    line = make_entitlement(total=5)
    assert ask().status_code == 200
    history = history_values(
        customer_id=customer.pk,
        action=HistoryAction.LICENSE,
        result=HistoryResult.OK,
        token="Acme-Direct",
        device_id=device.device_id,
    )

    def second():
        return licensing_services.license_take(
            customer_id=customer.pk,
            device_pk=device.pk,
            device_id=device.device_id,
            feature="CUCM",
            now=timezone.now(),
            history=history,
        )

    if in_transaction:
        with django_transaction.atomic():
            chosen = second()
            assert Assignment.objects.filter(released_at__isnull=True).count() == 1
    else:
        chosen = second()
    assert chosen == line
    line.refresh_from_db()
    assert line.used == 1 == Assignment.objects.filter(released_at__isnull=True).count()
    rows = History.objects.filter(action=HistoryAction.LICENSE, result=HistoryResult.OK)
    assert rows.count() == 2
