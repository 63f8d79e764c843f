"""200 devices ask for a license at the same moment, through a real server process
(`make serve`, the server `make run` starts): exactly the 50 seats are given, the other
150 hear 409, and nothing answers 5xx.

On SQLite (always: it is the embedded default) this proves the database holds concurrent
writes (WAL, IMMEDIATE transactions, a busy timeout); on PostgreSQL (when the suite runs
on it, as in CI) that the connection pool keeps a burst under max_connections.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DEVICES = 200
SEATS = 50

SEED = f"""
from datetime import timedelta
from django.utils import timezone
from accounts.models import Customer
from reports.models import AppId
from devices.models import Device, DeviceKind
from licensing.models import Entitlement, LicenseType
from provisioning.models import Bootstrap, Token
customer = Customer.objects.create(name="Rush", slug="rush")
bootstrap = Bootstrap.objects.create(customer=customer, name="Direct", parameters={{}})
Token.objects.create(customer=customer, value="rush-token", app_id=AppId.VOICE, bootstrap=bootstrap)
Device.objects.bulk_create(
    Device(customer=customer, device_id=f"TC52_{{n:04}}", kind=DeviceKind.VENDOR)
    for n in range({DEVICES})
)
Entitlement.objects.create(
    customer=customer, activation_id="rush-aid", license_type=LicenseType.STANDARD,
    total={SEATS}, expiration=timezone.now() + timedelta(days=100),
)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
        **kwargs,
    )


def _server_env(database_url: str, data_dir: Path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CACHE_", "DEVICE_", "DB_"))
    }
    env.update(
        DEBUG="true",
        DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        CACHE_URL="locmem://",
        # One client sends all 200 requests; the test is about the database.
        DEVICE_RATE_PER_IP="100000/min",
        DEVICE_RATE_PER_TOKEN="100000/min",
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    return env


def _rush(env: dict, *, threads: int = 8) -> Counter:
    _manage(env, "migrate", "--no-input")
    _manage(env, "shell", "-c", SEED)
    port = _free_port()
    server = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "serve",
            "HOST=127.0.0.1",
            f"PORT={port}",
            f"THREADS={threads}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/device/api/v1/license"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/device/api/v1/license", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(f"server did not start: {server.stderr.read()}") from None
                time.sleep(0.2)
        start = threading.Barrier(DEVICES)

        def ask(n: int) -> int:
            with httpx.Client(timeout=60) as client:
                start.wait()
                body = {"token": "rush-token", "deviceId": f"TC52_{n:04}", "feature": "CUCM"}
                return client.post(url, json=body).status_code

        with ThreadPoolExecutor(max_workers=DEVICES) as pool:
            return Counter(pool.map(ask, range(DEVICES)))
    finally:
        # make passes SIGTERM on to gunicorn, which stops its workers.
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_sqlite_under_the_run_command_holds_200_simultaneous_license_requests(tmp_path):
    env = _server_env(f"sqlite:///{tmp_path / 'rush.sqlite3'}", tmp_path)
    assert _rush(env) == Counter({200: SEATS, 409: DEVICES - SEATS})


@pytest.mark.slow
@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="needs PostgreSQL (CI runs it)",
)
def test_postgresql_holds_200_simultaneous_license_requests(tmp_path):
    import psycopg

    db = settings.DATABASES["default"]
    name = f"pm_rush_{uuid.uuid4().hex[:8]}"
    admin = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        auth = f"{db['USER']}:{db['PASSWORD']}@" if db["PASSWORD"] else f"{db['USER']}@"
        url = f"postgres://{auth}{admin['host']}:{admin['port']}/{name}"
        env = _server_env(url, tmp_path)
        # 2 processes x 100 threads: every request is in flight at once, more than the
        # server's max_connections; the pool (DB_POOL_SIZE per process) queues them.
        assert _rush(env, threads=100) == Counter({200: SEATS, 409: DEVICES - SEATS})
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
