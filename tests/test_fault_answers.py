"""What every class of endpoint answers while the database or Redis is down: a refusal
or an answer the client can act on (4xx, or 503 with Retry-After), never a 500. This is
the table of SECURITY.md's "Faults" section, one row per request below.

The database is taken away by making every statement of the request's connection fail
as a dead server's does (OperationalError); Redis by pointing the cache at a port nobody
listens on. The real-process versions of these faults (a killed redis-server, a backend
terminated mid-request) are in tests/test_faults.py.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core import ratelimit
from provisioning.models import Bootstrap, Token
from reports.models import AppId, Event, EventType

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


@contextmanager
def database_down():
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    with connection.execute_wrapper(refuse):
        yield


@contextmanager
def redis_down(monkeypatch):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/1",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
        "ratelimit_fallback": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "fault-answers-fallback",
        },
    }
    monkeypatch.setattr(ratelimit, "_last_fallback_log", -1e9)
    with override_settings(CACHES=caches):
        yield


@pytest.fixture
def fleet(customer):
    bootstrap = Bootstrap.objects.create(customer=customer, name="B", parameters={"a": 1})
    Token.objects.create(
        customer=customer, value="acme-token", app_id=AppId.VOICE, bootstrap=bootstrap
    )
    return customer


def _bearer(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return api


REDEEM = {"token": "acme-token", "deviceId": "TC52_1", "appId": AppId.VOICE}

# (label, how to send it): every class of endpoint, in the order of SECURITY.md's table.
REQUESTS = {
    "device: token redemption": lambda c: c["device"].post(
        "/device/api/v1/bootstrap", REDEEM, format="json"
    ),
    "device: bad body (400 path)": lambda c: c["device"].post(
        "/device/api/v1/bootstrap", "{", content_type="application/json"
    ),
    "device: provisioning code": lambda c: c["device"].post(
        "/device/api/v1/code", {"code": "123456789012", "mac": "00:04:13:00:00:01"}, format="json"
    ),
    "device: automatic provisioning": lambda c: c["device"].get(
        "/device/api/v1/auto",
        {"domain": "acme", "token": "x" * 24, "category": "Phones", "mac": "000413000001"},
    ),
    "admin API: login": lambda c: c["device"].post(
        "/admin/api/v1/auth/admin", {"username": "sam", "password": "wrong"}, format="json"
    ),
    "admin API: a list": lambda c: c["admin"].get("/admin/api/v1/tokens?page=1"),
    "admin API: staff naming the customer": lambda c: c["staff"].get(
        "/admin/api/v1/tokens?page=1&customer=acme"
    ),
    "portal: sign-in page": lambda c: c["portal"].get("/admin/login"),
    "portal: a page": lambda c: c["portal_signed_in"].get("/admin/tokens/"),
    "probe: /healthz": lambda c: c["device"].get("/healthz"),
    # /readyz asks the database from a thread of its own, beyond this test's stand-in
    # for a dead server: tests/test_serving.py stops the real ones under it.
    "probe: /readyz": lambda c: c["device"].get("/readyz"),
}


@pytest.fixture
def clients(fleet, super_admin, staff, client):
    signed_in = type(client)()
    signed_in.force_login(super_admin)
    return {
        "device": APIClient(),
        "admin": _bearer(super_admin),
        "staff": _bearer(staff),
        "portal": client,
        "portal_signed_in": signed_in,
    }


def _tracebacks(caplog) -> list[str]:
    """Records that carry an exception: a 503 is logged (at ERROR, as 5xx are), a crash
    with its traceback."""
    return [r.getMessage() for r in caplog.records if r.exc_info]


def _assert_actionable(response, label):
    status = response.status_code
    assert status < 500 or status == 503, (label, status, response.content[:300])
    if status == 503:
        assert int(response["Retry-After"]) > 0, label
    if label.startswith(("device", "admin API")):
        assert response["Content-Type"].startswith("application/json"), label


@pytest.mark.parametrize("label", list(REQUESTS))
def test_with_the_database_down_every_endpoint_answers_4xx_or_503(clients, label, caplog):
    with database_down():
        response = REQUESTS[label](clients)
    _assert_actionable(response, label)
    # Liveness and the sign-in form do not ask the database.
    if label not in {"probe: /healthz", "probe: /readyz", "portal: sign-in page"}:
        assert response.status_code == 503, (label, response.status_code)
    assert not _tracebacks(caplog), label


@pytest.mark.parametrize("label", list(REQUESTS))
def test_with_redis_down_every_endpoint_answers_4xx_or_503(clients, label, monkeypatch, caplog):
    with redis_down(monkeypatch):
        response = REQUESTS[label](clients)
    _assert_actionable(response, label)
    if label in {"admin API: a list", "admin API: staff naming the customer"}:
        assert response.status_code == 200, (label, response.content[:300])
    assert not _tracebacks(caplog), label


def test_a_throttled_device_keeps_its_retry_after_with_the_database_down(fleet, settings):
    settings.DEVICE_RATE_PER_IP = "2/hour"
    device = APIClient()
    for _ in range(2):
        assert device.post("/device/api/v1/bootstrap", REDEEM, format="json").status_code == 200
    with database_down():
        response = device.post("/device/api/v1/bootstrap", REDEEM, format="json")
    # The refusal cannot be recorded: 503, but no sooner than the limit allows again.
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert int(response["Retry-After"]) > 60


def test_staff_acting_is_still_recorded_with_redis_down(clients, monkeypatch):
    with redis_down(monkeypatch):
        for _ in range(2):
            response = clients["staff"].get("/admin/api/v1/tokens?page=1&customer=acme")
            assert response.status_code == 200
    # Without the cache to remember it, each call is recorded: more rows, none missing.
    assert Event.objects.filter(type=EventType.STAFF_ACTING).count() == 2
