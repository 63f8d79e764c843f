"""Many devices asking for licenses at the same moment never over-allocate the pool.

PostgreSQL only: SQLite has no row locks (it serialises whole transactions), so the race
the locks prevent cannot happen there. CI runs the suite on PostgreSQL.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from licensing.models import Assignment, Entitlement

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-lock races need PostgreSQL"
)

DEVICES = 200
SEATS = 50
WORKERS = 50  # PostgreSQL allows 100 connections by default; the test server keeps some


@pytest.mark.django_db(transaction=True)
def test_200_devices_racing_for_50_seats(voice_token, make_device, make_entitlement):
    for n in range(DEVICES):
        make_device(f"TC52_{n:04}")
    entitlement = make_entitlement(total=SEATS)
    start = threading.Barrier(WORKERS)

    def request(n: int) -> tuple[int, str]:
        try:
            if n < WORKERS:
                start.wait()  # the first wave leaves together
            response = APIClient().post(
                "/device/api/v1/license",
                {"token": "Acme-Direct", "deviceId": f"TC52_{n:04}", "feature": "CUCM"},
                format="json",
            )
            return response.status_code, response.json().get("activationId", "")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(request, range(DEVICES)))

    statuses = [status for status, _ in results]
    assert statuses.count(200) == SEATS
    assert statuses.count(409) == DEVICES - SEATS
    assert (
        Assignment.objects.filter(entitlement=entitlement, released_at__isnull=True).count()
        == SEATS
    )

    # An assigned device asking again gets the same license, and nothing more is used.
    winner = next(n for n, (status, _) in enumerate(results) if status == 200)
    again = APIClient().post(
        "/device/api/v1/license",
        {"token": "Acme-Direct", "deviceId": f"TC52_{winner:04}", "feature": "CUCM"},
        format="json",
    )
    assert (again.status_code, again.json()["activationId"]) == (200, results[winner][1])
    assert Assignment.objects.count() == SEATS
    assert_counters_match()


@pytest.mark.django_db(transaction=True)
def test_one_device_asking_many_times_at_once_gets_one_license(
    voice_token, make_device, make_entitlement
):
    make_device("TC52_SAME")
    make_entitlement(total=SEATS)
    start = threading.Barrier(20)

    def request(_: int) -> int:
        try:
            start.wait()
            return (
                APIClient()
                .post(
                    "/device/api/v1/license",
                    {"token": "Acme-Direct", "deviceId": "TC52_SAME", "feature": "CUCM"},
                    format="json",
                )
                .status_code
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(request, range(20)))
    assert statuses == [200] * 20
    assert Assignment.objects.count() == 1
    assert_counters_match()


def assert_counters_match():
    """Every line's seat counter equals its live assignments."""
    for line in Entitlement.objects.all():
        assert line.used == line.assignments.filter(released_at__isnull=True).count(), line
