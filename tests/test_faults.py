"""Faults of the services around the app: Redis stopped, a PostgreSQL connection killed
in the middle of a request, a Celery worker killed in the middle of a sweep.

Each fault is real: a private redis-server (never the shared one) that the test kills, a
backend terminated with pg_terminate_backend, a worker process killed with SIGKILL. The
PostgreSQL and worker tests are skipped on SQLite. Two refreshes of one API refresh token
at once are tested in tests/accounts/test_token_lifecycle.py.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock
from urllib.parse import quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
import redis
from celery import Celery
from django.conf import settings
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.db.backends.utils import CursorWrapper
from django.test import override_settings
from django.utils import timezone
from kombu import Connection
from rest_framework.test import APIClient

from config import celery_app
from core import ratelimit
from devices.fake_ptt import FakePttServer
from devices.models import Device, DeviceKind, Site, SiteStatus
from devices.ptt import PttClient
from licensing.models import Assignment, Entitlement, LicenseType
from provisioning.models import Token
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId, Event, History, HistoryResult

ROOT = Path(__file__).resolve().parent.parent
REDIS_SERVER = shutil.which("redis-server")
needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server program (a private Redis to stop)"
)
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (pg_terminate_backend; a worker process sharing the database)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.05):
    """Poll `condition` until it answers something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class PrivateRedis:
    """A redis-server of our own on a free port, so stopping it disturbs nobody."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis(port=self.port, socket_timeout=2)
        wait_for(self._answers, timeout=10, what=f"redis-server on port {self.port}")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _answers(self) -> bool:
        try:
            return self.client.ping()
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        pytest.skip("needs the redis-server program")
    server = PrivateRedis()
    yield server
    server.kill()


def _celery_forget_connections() -> None:
    """Celery keeps its broker pool, producer pool and result backend once made; drop them
    so the next task call connects to the broker the settings name now."""
    # Dropped, not closed: other parts of Celery (the worker test's producers) may still
    # hold the old pool, and acquiring from a closed one fails.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


@contextmanager
def celery_using(url: str) -> Iterator[None]:
    """Point the project's Celery app (broker and results) at `url` for a while. Its
    configuration reads Django's settings on each access (config/celery.py), except these
    two, which Celery takes from the environment first when they are set there."""
    urls = {"CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url}
    with override_settings(**urls), mock.patch.dict(os.environ, urls):
        _celery_forget_connections()
        try:
            yield
        finally:
            _celery_forget_connections()
    _celery_forget_connections()


# --- 1. Redis stopped ------------------------------------------------------------------

DEVICE_API = "/device/api/v1"


def device_post(endpoint: str, **body):
    return APIClient().post(f"{DEVICE_API}/{endpoint}", body, format="json")


@pytest.fixture
def device_customer(customer, admin):
    """A Voice token with a Standard line to license from, and a PTT Pro token whose
    bootstrap names a synced site (its redemptions queue site provisioning)."""
    Site.objects.create(customer=customer, name="North", server_name="ptt1")
    bootstrap_save(customer=customer, user=admin, name="Voice", parameters={})
    token_save(
        customer=customer, user=admin, value="tok-voice", app_id=AppId.VOICE, bootstrap="Voice"
    )
    bootstrap_save(customer=customer, user=admin, name="North", parameters={"site": "North"})
    token_save(
        customer=customer, user=admin, value="tok-north", app_id=AppId.PTT_PRO, bootstrap="North"
    )
    Entitlement.objects.create(
        customer=customer,
        activation_id="aid-faults-0001",
        license_type=LicenseType.STANDARD,
        term="1 Year Term",
        total=10,
        expiration=timezone.now() + timedelta(days=365),
    )
    return customer


def redeem(token: str, device_id: str, app_id: str, app_version: str = "3.3.10200"):
    return device_post(
        "bootstrap", token=token, deviceId=device_id, appId=app_id, appVersion=app_version
    )


def license_for(device_id: str):
    return device_post("license", token="tok-voice", deviceId=device_id, feature="CUCM")


def checkin(device_id: str):
    return device_post("checkin", token="tok-voice", deviceId=device_id)


# The rate-limit clock is pinned to the middle of an hour, so the test's requests cannot
# straddle the start of a new counting window.
PINNED_CLOCK = 1_767_225_600 + 1800  # 2026-01-01 00:30 UTC


@needs_redis_server
@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_device_requests_answer_while_redis_is_down(
    private_redis, device_customer, caplog, monkeypatch
):
    monkeypatch.setattr(
        ratelimit, "time", SimpleNamespace(time=lambda: PINNED_CLOCK, monotonic=time.monotonic)
    )
    # The fallback is logged at most once a minute per process: start this test afresh.
    monkeypatch.setattr(ratelimit, "_last_fallback_log", -1e9)
    limit = 6
    cache_settings = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": private_redis.url(1),
            # As config/settings.py: an outage costs milliseconds, not a connect timeout.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
        "ratelimit_fallback": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "faults-ratelimit-fallback",
        },
    }
    # override_settings(CACHES=…) fires setting_changed, which makes Django drop its cache
    # connections: django.core.cache.caches then builds them from these settings.
    with (
        override_settings(CACHES=cache_settings, DEVICE_RATE_PER_IP=f"{limit}/hour"),
        celery_using(private_redis.url(0)),
    ):
        caches["ratelimit_fallback"].clear()

        # Redis up: the counters and the queued task are in our Redis.
        assert redeem("tok-voice", "TC52_1", AppId.VOICE).status_code == 200
        assert license_for("TC52_1").status_code == 200
        assert redeem("tok-north", "TC52_2", AppId.PTT_PRO).status_code == 200
        assert private_redis.client.llen("celery") == 1  # provision_device_site, queued
        counters = redis.Redis(port=private_redis.port, db=1)
        (ip_counter,) = counters.keys("*rl:device-ip:*")
        assert int(counters.get(ip_counter)) == 3
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

        private_redis.kill()

        # Redis down: a site redemption still answers (its provisioning is not queued,
        # which is logged) and the device waits for the retry sweep.
        response = redeem("tok-north", "TC52_3", AppId.PTT_PRO)
        assert response.status_code == 200, response.content
        assert response.json() == {"bootstrap": {"site": "North"}}
        device = Device.objects.get(device_id="TC52_3")
        assert device.site_status == SiteStatus.PENDING
        assert device.site_retry_at is not None  # the retry sweep queues it once overdue

        # The license request of a known device keeps its license.
        response = license_for("TC52_1")
        assert response.status_code == 200, response.content
        assert response.json()["activationId"] == "aid-faults-0001"
        assert Assignment.objects.filter(released_at__isnull=True).count() == 1

        # The per-process limit applies: `limit` requests since the outage, then 429.
        for _ in range(limit - 2):
            assert checkin("TC52_1").status_code == 204
        refused = checkin("TC52_1")
        assert refused.status_code == 429, refused.content
        assert refused.json()["error"] == "rate_limited"
        assert int(refused["Retry-After"]) > 0

    messages = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    fallback = [m for name, m in messages if name == "core.ratelimit"]
    assert len(fallback) == 1, messages  # logged once, not once per request
    assert fallback[0].startswith("rate limits: shared cache unreachable, counting per process")
    queueing = [m for name, m in messages if name == "devices.tasks"]
    assert queueing == [f"could not queue site provisioning of device {device.pk}"], messages
    assert History.objects.filter(result=HistoryResult.RATE_LIMITED).count() == 1


# --- 2. A PostgreSQL connection killed in the middle of a request ----------------------

STALL_SECONDS = 30
SERVER_APPLICATION_NAME = "faults-one-thread-server"
# How the server process holds its connections: a pool (DB_POOL_SIZE, the default), or no
# pool with a new connection per request (DB_POOL_SIZE=0) or a kept one
# (DB_POOL_SIZE=0 DB_CONN_MAX_AGE=60). "+checks" turns CONN_HEALTH_CHECKS on.
DB_MODES = {
    "pool": {"pool": True},
    "pool+checks": {"pool": True, "CONN_HEALTH_CHECKS": True},
    "conn_max_age=0": {"pool": False, "CONN_MAX_AGE": 0},
    "conn_max_age=60": {"pool": False, "CONN_MAX_AGE": 60},
    "conn_max_age=60+checks": {"pool": False, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True},
}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class OneThreadServer:
    """The project's WSGI application served by one thread, request after request, the
    way a synchronous worker (gunicorn's default) serves them, so a connection the pool or
    CONN_MAX_AGE keeps outlives a request. (pytest-django's live_server answers each
    request in a new thread and closes its connections: it would hide a reused broken
    connection.)

    The thread has its own pool, so this test's connection never comes from it, and it is
    closed when the server stops."""

    def __init__(self) -> None:
        self.httpd: WSGIServer = make_server(
            "127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self._serve, name="one-thread-wsgi", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        wrapper = connections["default"]
        wrapper._connection_pools = {}  # shadows the class's (process-wide) pools
        try:
            self.httpd.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()
            for pool in wrapper._connection_pools.values():
                pool.close()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def one_thread_server(transactional_db, request, monkeypatch) -> Iterator[OneThreadServer]:
    """A OneThreadServer whose connections are held as DB_MODES[request.param] says
    (indirect parameter; default: the pool)."""
    mode = DB_MODES[getattr(request, "param", "pool")]
    # The server thread's connection is made from connections.settings; this test's own
    # connection is open already and keeps its settings.
    db = copy.deepcopy(connections.settings["default"])
    assert db["NAME"] == connection.settings_dict["NAME"]  # the test database
    options = db.setdefault("OPTIONS", {})
    options["application_name"] = SERVER_APPLICATION_NAME  # tells its backends apart
    configured_pool = options.pop("pool", None)
    if mode["pool"]:
        options["pool"] = configured_pool or {"min_size": 1, "max_size": 4, "timeout": 10}
    db["CONN_MAX_AGE"] = mode.get("CONN_MAX_AGE", 0)
    db["CONN_HEALTH_CHECKS"] = mode.get("CONN_HEALTH_CHECKS", db["CONN_HEALTH_CHECKS"])
    monkeypatch.setitem(connections.settings, "default", db)
    server = OneThreadServer()
    server.keeps_connections = mode["pool"] or db["CONN_MAX_AGE"] > 0
    yield server
    server.stop()


def server_backends() -> list[int]:
    """The backends of the server's connections (by their application_name)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s ORDER BY pid",
            [SERVER_APPLICATION_NAME],
        )
        return [pid for (pid,) in cursor.fetchall()]


def server_connections(server: OneThreadServer) -> list[int]:
    """The backends the server keeps between requests, once its last answer is sent (the
    client may read the answer before the server has put its connection away) and a pool
    has stopped opening spare ones."""
    if not server.keeps_connections:
        wait_for(lambda: not server_backends(), timeout=5, what="the server to close it")
        return []
    seen: list[list[int]] = []

    def settled() -> list[int]:
        seen.append(server_backends())
        return seen[-1] if len(seen) > 1 and seen[-1] == seen[-2] != [] else []

    return wait_for(settled, timeout=10, interval=0.3, what="the server's kept connections")


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)
    wait_for(lambda: pid not in server_backends(), timeout=10, what=f"backend {pid} to end")


class Stall:
    """In the server thread, the first query containing `marker` is preceded by
    `SELECT pg_sleep(…)`: a request stuck in the database, whose backend the test then
    terminates from its own connection."""

    def __init__(self, server: OneThreadServer, marker: str) -> None:
        self.server = server
        self.marker = marker
        self.pid: int | None = None
        self.sleeping = threading.Event()

    def install(self, monkeypatch) -> None:
        original = CursorWrapper.execute

        def execute(cursor, sql, params=None):
            if (
                self.pid is None
                and threading.current_thread() is self.server.thread
                and self.marker in str(sql)
            ):
                self.pid = cursor.db.connection.info.backend_pid
                self.sleeping.set()
                original(cursor, "SELECT pg_sleep(%s)", [STALL_SECONDS])
            return original(cursor, sql, params)

        monkeypatch.setattr(CursorWrapper, "execute", execute)

    def terminate(self) -> int:
        """Wait until the stalled query runs, then terminate its backend."""
        assert self.sleeping.wait(timeout=15), f"no query with {self.marker!r} was run"

        def asleep() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
                    "AND query LIKE %s",
                    [self.pid, "SELECT pg_sleep%"],
                )
                return cursor.fetchone() is not None

        wait_for(asleep, timeout=10, what=f"backend {self.pid} to sleep")
        terminate(self.pid)
        return self.pid


def during(stall: Stall, call):
    """Run `call` (an HTTP request) in a thread while the stall's backend is terminated;
    its answer."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(call)
        stall.terminate()
        return future.result(timeout=STALL_SECONDS)


def post_json(server: OneThreadServer, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, timeout=STALL_SECONDS + 10)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["error"] == "unavailable", body


KILL_MODES = ["pool", "conn_max_age=0", "conn_max_age=60"]


@needs_postgresql
@pytest.mark.parametrize("one_thread_server", KILL_MODES, indirect=True)
def test_redemption_whose_connection_is_killed_answers_503_and_writes_nothing(
    one_thread_server, device_customer, monkeypatch
):
    server = one_thread_server
    body = {"token": "tok-voice", "deviceId": "TC52_1", "appId": AppId.VOICE}
    # The History insert is the last statement of a redemption's transaction: the token's
    # count and the device were written just before.
    stall = Stall(server, 'INSERT INTO "reports_history"')
    stall.install(monkeypatch)

    response = during(stall, lambda: post_json(server, f"{DEVICE_API}/bootstrap", body))

    assert_unavailable(response)
    # The transaction rolled back: not counted, no device, no History row.
    assert Token.objects.get(value="tok-voice").redemption_count == 0
    assert not Device.objects.exists()
    assert not History.objects.exists()
    # The broken connection was dropped: the next request gets a new one and succeeds.
    response = post_json(server, f"{DEVICE_API}/bootstrap", body)
    assert response.status_code == 200, response.text
    assert Token.objects.get(value="tok-voice").redemption_count == 1
    assert History.objects.get().result == HistoryResult.OK
    assert stall.pid not in server_backends()


@needs_postgresql
@pytest.mark.parametrize("one_thread_server", KILL_MODES, indirect=True)
def test_license_request_whose_connection_is_killed_outside_a_transaction_answers_503(
    one_thread_server, device_customer, monkeypatch
):
    """The license request's first query runs in autocommit: nothing rolls back, so only
    the end of the request (the pool's check of a returned connection, or Django's
    close_if_unusable_or_obsolete) can drop the broken connection."""
    server = one_thread_server
    assert redeem("tok-voice", "TC52_1", AppId.VOICE).status_code == 200
    body = {"token": "tok-voice", "deviceId": "TC52_1", "feature": "CUCM"}
    checkin_body = {"token": "tok-voice", "deviceId": "TC52_1"}
    assert post_json(server, f"{DEVICE_API}/checkin", checkin_body).status_code == 204
    kept = server_connections(server)
    stall = Stall(server, 'FROM "provisioning_token"')
    stall.install(monkeypatch)

    assert_unavailable(during(stall, lambda: post_json(server, f"{DEVICE_API}/license", body)))

    if server.keeps_connections:
        assert stall.pid in kept  # a kept connection was the one killed
    assert not Assignment.objects.exists()
    for _ in range(3):  # and it is never handed out again
        response = post_json(server, f"{DEVICE_API}/license", body)
        assert response.status_code == 200, response.text
        assert response.json()["activationId"] == "aid-faults-0001"
    assert stall.pid not in server_backends()


@needs_postgresql
def test_portal_page_whose_connection_is_killed_answers_503(
    one_thread_server, device_customer, admin, client, monkeypatch
):
    server = one_thread_server
    client.force_login(admin)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    stall = Stall(server, 'FROM "provisioning_token"')
    stall.install(monkeypatch)

    def tokens_page() -> httpx.Response:
        return httpx.get(f"{server.url}/admin/tokens/", cookies=cookies, timeout=STALL_SECONDS + 10)

    response = during(stall, tokens_page)

    assert response.status_code == 503, response.text[:500]
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "database is not answering" in response.text
    response = tokens_page()
    assert response.status_code == 200
    assert "tok-voice" in response.text


HEALTH_CHECKS_CONFIGURED = settings.DATABASES["default"].get("CONN_HEALTH_CHECKS", False)
# A kept connection whose backend died while idle (PostgreSQL restarted or failed over, an
# administrator's pg_terminate_backend, a firewall's idle timeout) is handed to the next
# request unchecked unless CONN_HEALTH_CHECKS is on: that request answers 503.
unchecked = pytest.mark.xfail(
    not HEALTH_CHECKS_CONFIGURED,
    strict=True,
    reason="config/settings.py leaves CONN_HEALTH_CHECKS off: after a database restart each "
    "kept connection fails one request (fix: dj_database_url.parse(…, "
    "conn_health_checks=True))",
)


@needs_postgresql
@pytest.mark.parametrize(
    "one_thread_server",
    [
        pytest.param("pool", marks=unchecked),
        "pool+checks",
        pytest.param("conn_max_age=60", marks=unchecked),
        "conn_max_age=60+checks",
    ],
    indirect=True,
)
def test_connection_killed_while_idle_fails_no_request(one_thread_server, device_customer):
    server = one_thread_server
    assert redeem("tok-voice", "TC52_1", AppId.VOICE).status_code == 200
    body = {"token": "tok-voice", "deviceId": "TC52_1"}
    assert post_json(server, f"{DEVICE_API}/checkin", body).status_code == 204
    kept = server_connections(server)

    for pid in kept:  # between two requests, as a database restart would
        terminate(pid)

    answers = [post_json(server, f"{DEVICE_API}/checkin", body) for _ in range(len(kept) + 1)]
    statuses = [answer.status_code for answer in answers]
    # Each dead connection is dropped once it has failed: the server recovers either way.
    assert statuses[-1] == 204, statuses
    assert set(statuses) <= {204, 503}, statuses
    # With health checks, no request fails at all.
    assert statuses == [204] * len(answers), statuses


# --- 3. A worker killed in the middle of a sweep ---------------------------------------

DUE = [f"TC52_DUE{n}" for n in range(1, 9)]  # silent for 40 days: to be removed
FRESH = ["TC52_FRESH1", "TC52_FRESH2"]  # checked in yesterday: they stay
MANUAL = "TC52_MANUAL1"  # silent, but its row was entered by hand: it stays
KILL_AFTER_DELETES = 3
SWEEP_TASK = "devices.tasks.sweep_inactive_site_devices"


def _process_children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …; comm may hold spaces and parentheses.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            children.append(int(entry.name))
    return children


class WorkerProcess:
    """`celery -A config worker` in a process of its own (a prefork pool of one child),
    on the test database and a private broker, so it can be killed like a real one."""

    def __init__(self, *, broker: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"faults-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "CELERY_BROKER_URL": broker,
                "CELERY_RESULT_BACKEND": broker,
            },
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, children too
        )

    def pool_child(self) -> int:
        """The pid of the pool process that runs the tasks. Read once the worker says it
        is ready: before that, a child may be a passing helper process of its start-up
        (seen under load: the test then killed that one and the task ran untouched)."""
        wait_for(
            lambda: re.search(r"@\S+ ready\.", self.output(whole=True)),
            timeout=60,
            what="the worker to be ready",
        )
        children = wait_for(
            lambda: _process_children(self.process.pid), timeout=60, what="the worker's pool"
        )
        assert len(children) == 1, children
        return children[0]

    def kill_all(self) -> None:
        """SIGKILL the worker and its pool at once: a lost machine or container."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log_file.close()

    def output(self, *, whole: bool = False) -> str:
        text = self.log.read_text(errors="replace")
        return text if whole else text[-5000:]


@pytest.fixture
def sweep_setup(transactional_db, customer, settings, private_redis, tmp_path, monkeypatch):
    """A customer on a slow fake PTT Pro server: DUE devices to remove, FRESH and MANUAL
    ones to keep, the environment of a worker on the test database, and a Celery client
    of the private broker."""
    with FakePttServer(departments=["North"]) as ptt:
        settings.PTT_SERVERS = {"ptt1": {"url": ptt.url, "api_key": ptt.api_key}}
        customer.ptt_server = "ptt1"
        customer.save()
        site = Site.objects.create(customer=customer, name="North", server_name="ptt1")
        now = timezone.now()
        with PttClient(ptt.url, ptt.api_key) as client:
            for device_id in DUE + FRESH:
                client.put_device(device_id, "North")
        ptt.add_manual_device(MANUAL, "North")
        for device_id in [*DUE, *FRESH, MANUAL]:
            Device.objects.create(
                customer=customer,
                device_id=device_id,
                kind=DeviceKind.VENDOR,
                app_id=AppId.PTT_PRO,
                app_version="3.3.10200",
                site=site,
                provisioned_site=site,
                site_status=SiteStatus.PROVISIONED,
                site_row_manual=device_id == MANUAL,
                last_checkin=now - timedelta(days=1 if device_id in FRESH else 40),
            )
        ptt.requests.clear()
        ptt.delay = 0.2  # each call: the sweep takes a few seconds

        db = connection.settings_dict
        database_url = (
            f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"
        )
        # Celery reads these two from the environment before its own configuration.
        monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url(0))
        monkeypatch.setenv("CELERY_RESULT_BACKEND", private_redis.url(0))
        client = Celery("faults", broker=private_redis.url(0), backend=private_redis.url(0))
        assert client.conf.broker_url == private_redis.url(0)
        yield SimpleNamespace(
            ptt=ptt,
            redis=private_redis,
            celery=client,
            env={
                "DATABASE_URL": database_url,
                "DB_POOL_SIZE": "2",
                "PTT_SERVERS": json.dumps(settings.PTT_SERVERS),
                "CACHE_URL": "locmem://",
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "DEBUG": "true",
            },
            log=tmp_path / "worker.log",
        )
        client.close()


def deletes(ptt: FakePttServer) -> Counter:
    """DELETE requests the fake received, per device."""
    return Counter(
        path.rpartition("/")[2] for method, path in list(ptt.requests) if method == "DELETE"
    )


def touched(ptt: FakePttServer) -> set[str]:
    return {path.rpartition("/")[2] for _, path in list(ptt.requests)}


def kill_after_deletes(ptt: FakePttServer, count: int, kill) -> threading.Event:
    """Call `kill` in the fake's request thread right after its `count`-th DELETE has been
    answered: the sweep is mid-way, and no DELETE is in flight (its next call is a GET)."""
    done = threading.Event()

    def log(line: str) -> None:
        if line.startswith("DELETE ") and not done.is_set() and sum(deletes(ptt).values()) >= count:
            done.set()
            kill()

    ptt.log = log
    return done


def assert_swept_once(setup, counts: dict[str, int]) -> None:
    ptt = setup.ptt
    assert counts == {"candidates": len(DUE), "removed": len(DUE), "kept": 0, "failed": 0}
    # Every due device's row was deleted exactly once; nothing else was deleted.
    assert deletes(ptt) == Counter(dict.fromkeys(DUE, 1))
    # The devices that stay were not even asked about.
    assert touched(ptt).isdisjoint([*FRESH, MANUAL])
    assert set(ptt.rows) == {*FRESH, MANUAL}
    statuses = dict(Device.objects.values_list("device_id", "site_status"))
    assert {d: statuses[d] for d in DUE} == dict.fromkeys(DUE, SiteStatus.NONE)
    assert {d: statuses[d] for d in [*FRESH, MANUAL]} == dict.fromkeys(
        [*FRESH, MANUAL], SiteStatus.PROVISIONED
    )
    # The killed run wrote nothing; the run that finished wrote one Event with its counts.
    events = list(Event.objects.filter(type="SITE_SWEEP").values_list("data", flat=True))
    assert events == [counts]


@needs_postgresql
@needs_redis_server
def test_sweep_whose_pool_process_is_killed_is_redelivered_and_finished_once(sweep_setup):
    """SIGKILL of the pool process running the task: the worker sees it lost
    (WorkerLostError); with acks_late and reject_on_worker_lost (config/settings.py) it
    puts the message back on the queue at once and runs the sweep again."""
    setup = sweep_setup
    worker = WorkerProcess(broker=setup.redis.url(0), env=setup.env, log=setup.log)
    try:
        child = worker.pool_child()
        killed = kill_after_deletes(
            setup.ptt, KILL_AFTER_DELETES, lambda: os.kill(child, signal.SIGKILL)
        )

        result = setup.celery.send_task(SWEEP_TASK)
        counts = result.get(timeout=120)

        assert killed.is_set(), worker.output()
        assert worker.pool_child() != child  # the worker replaced its pool process
        log = worker.output(whole=True)
        assert "WorkerLostError" in log
        assert log.count(f"[{result.id}] received") == 2  # the same message, redelivered
    finally:
        worker.stop()
    assert_swept_once(setup, counts)


@needs_postgresql
@needs_redis_server
def test_sweep_whose_worker_is_killed_is_finished_by_the_next_run_once(sweep_setup):
    """SIGKILL of the whole worker (the machine or container is lost): nobody is left to
    reject the message. It stays in Redis' unacked set, and a worker puts it back on the
    queue only once the visibility timeout has passed (kombu's default: one hour); the
    beat's next run may come first. The next run finishes the sweep, and the late
    redelivery finds nothing left to do."""
    setup = sweep_setup
    redis_client = setup.redis.client
    worker = WorkerProcess(broker=setup.redis.url(0), env=setup.env, log=setup.log)
    try:
        worker.pool_child()
        killed = kill_after_deletes(setup.ptt, KILL_AFTER_DELETES, worker.kill_all)
        lost = setup.celery.send_task(SWEEP_TASK)
        assert killed.wait(timeout=120), worker.output()
    finally:
        worker.stop()
    assert sum(deletes(setup.ptt).values()) == KILL_AFTER_DELETES
    assert not Event.objects.filter(type="SITE_SWEEP").exists()
    # The message is neither lost nor back on the queue: it waits for its visibility timeout.
    assert redis_client.hlen("unacked") == 1
    assert redis_client.llen("celery") == 0

    setup.ptt.log = None
    worker = WorkerProcess(broker=setup.redis.url(0), env=setup.env, log=setup.log)
    try:
        # The beat's next run, on a new worker, finishes the sweep.
        counts = setup.celery.send_task(SWEEP_TASK).get(timeout=120)
        assert_swept_once(setup, counts)
        # Only the lost message is still waiting (once the new run's own is acknowledged,
        # just after its result is stored): no worker redelivers it before its time.
        wait_for(lambda: redis_client.hlen("unacked") == 1, timeout=10, what="the run's ack")
        assert redis_client.llen("celery") == 0

        # The visibility timeout passes (here: a restore with a timeout of 0 s): the lost
        # message is redelivered, and its run has nothing left to do.
        setup.ptt.requests.clear()
        with Connection(setup.redis.url(0), transport_options={"visibility_timeout": 0}) as conn:
            conn.default_channel.qos.restore_visible(interval=1)
        late = lost.get(timeout=120)
    finally:
        worker.stop()
    assert late == {"candidates": 0, "removed": 0, "kept": 0, "failed": 0}
    assert setup.ptt.requests == []
    events = Event.objects.filter(type="SITE_SWEEP").order_by("pk")
    assert list(events.values_list("data", flat=True)) == [counts, late]
