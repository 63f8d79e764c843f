"""Serving in production: the probes, request IDs and JSON request logs, /metrics and its
protection, gunicorn's settings (config/gunicorn.py), and two server processes against
one PostgreSQL database and one Redis behaving as one (the scale-out check at the end).
"""

from __future__ import annotations

import json
import logging
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
from django.conf import settings as django_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from config import celery_app, health
from config.logs import JsonFormatter, RequestIdFilter, request_id
from reports.models import AppId
from tests.provisioning.factories import TokenFactory
from tests.test_concurrent_server import DEVICES, SEATS, SEED, _free_port, _manage, _server_env
from tests.test_settings import configuration_error, manage

ROOT = Path(__file__).resolve().parent.parent


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- /healthz and /readyz ---------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_without_the_database_or_a_known_host(
    client, settings, django_assert_num_queries
):
    # Probes come with the instance's address as Host and over plain HTTP.
    settings.SECURE_SSL_REDIRECT = True
    with django_assert_num_queries(0):
        response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    # The same request elsewhere meets the host check and the redirect as usual.
    assert client.get("/admin/login", HTTP_HOST="10.1.2.3:8000").status_code == 400
    assert client.get("/admin/login").status_code == 301
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_checks_the_database_and_redis(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # tasks in-process: no broker to check
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert "broker" not in body["checks"]
    assert set(body["checks"].values()) == {"ok"}


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")


@needs_redis
@pytest.mark.django_db
def test_readyz_checks_a_redis_broker_and_cache(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/5",
        },
    }
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_with_retry_after_when_the_cache_is_down(client, settings, caplog):
    port = _free_port()
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    started = time.monotonic()
    response = client.get("/readyz", HTTP_X_REQUEST_ID="ready-check-1")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["checks"] == {"database": "ok", "cache": "failed"}
    assert body["failed"] == ["cache"]
    # Why is logged for the operator, with the request's ID; the answer names no host.
    assert str(port) not in response.content.decode()
    (warning,) = [r for r in caplog.records if r.name == "config.health"]
    assert str(port) in warning.getMessage()
    assert RequestIdFilter().filter(warning) and warning.request_id == "ready-check-1"


@pytest.mark.django_db
def test_readyz_names_a_dead_broker_and_database(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_free_port()}/0"
    real = health.database_settings

    def unreachable():
        config = real()
        if config["ENGINE"] == "django.db.backends.postgresql":
            return {**config, "HOST": "127.0.0.1", "PORT": _free_port()}
        return {**config, "NAME": "/nonexistent/folder/db.sqlite3"}

    monkeypatch.setattr(health, "database_settings", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database", "broker"]


@pytest.mark.django_db
def test_readyz_bounds_a_hung_check(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(health, "check_database", lambda: time.sleep(2))
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < health.CHECK_TIMEOUT + 0.5
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "timeout"


# --- Request IDs and the request log -----------------------------------------------------


def test_a_safe_request_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.21_x")
    assert response["X-Request-ID"] == "lb-7f3a.21_x"


@pytest.mark.parametrize(
    "given",
    [None, "", "has space", "a" * 65, "<script>", "id\r\nSet-Cookie: x=1", "-leading", "é"],
)
def test_a_missing_or_unsafe_request_id_is_replaced(client, given):
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}
    response = client.get("/healthz", **headers)
    generated = response["X-Request-ID"]
    assert generated != given
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/healthz")["X-Request-ID"] != generated  # a new one each time


def _request_lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == "config.observability"
    ]


@pytest.mark.django_db
def test_one_json_line_per_request_without_the_query_string(client, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.get(
        "/device/api/v1/auto?domain=acme&token=s3cret-auto-token&category=x&mac=x",
        HTTP_X_REQUEST_ID="req-auto-1",
        REMOTE_ADDR="198.51.100.7",
    )
    (line,) = _request_lines(caplog)
    assert line["message"] == f"GET /device/api/v1/auto {response.status_code}"
    assert {key: line[key] for key in ("method", "path", "route", "status", "client")} == {
        "method": "GET",
        "path": "/device/api/v1/auto",
        "route": "device:auto",
        "status": response.status_code,
        "client": "198.51.100.7",
    }
    assert line["request_id"] == "req-auto-1"
    assert line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float)
    assert not [r for r in caplog.records if "s3cret" in JsonFormatter().format(r)]


@pytest.mark.django_db
def test_secret_url_parts_are_not_logged(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/admin/password-reset/MQ/c4t9xz-0123456789abcdef0123456789abcdef")
    (line,) = _request_lines(caplog)
    assert line["path"] == "/admin/password-reset/<uidb64>/<token>"
    assert line["route"] == "accounts:password_reset_confirm"


@pytest.mark.django_db
def test_a_streamed_answer_is_logged_when_its_last_byte_is_sent(
    api_client, super_admin, customer, caplog
):
    caplog.set_level(logging.INFO)
    TokenFactory(customer=customer)
    response = api_client(super_admin).get("/admin/api/v1/tokens")
    assert response.streaming
    assert _request_lines(caplog) == []
    assert len(json.loads(b"".join(response.streaming_content))) == 1
    (line,) = _request_lines(caplog)
    assert (line["route"], line["status"]) == ("api:token-list", 200)


def test_probes_are_logged_at_debug(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.get("/healthz")
    (line,) = _request_lines(caplog)
    assert (line["level"], line["route"]) == ("DEBUG", "healthz")


def test_the_filter_stamps_the_current_request_id():
    record = logging.LogRecord("x", logging.INFO, "", 0, "hello", (), None)
    token = request_id.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    assert json.loads(JsonFormatter().format(record))["request_id"] == "abc123"


def test_the_formatter_drops_objects_and_keeps_tracebacks():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "", 0, "failed", (), sys.exc_info())
    record.request = object()  # Django passes the request; its text shows the query
    record.status_code = 500
    line = json.loads(JsonFormatter().format(record))
    assert "request" not in line
    assert line["status_code"] == 500
    assert "ValueError: boom" in line["exc"]


SHELL_REQUEST = """
import json
from django.test import Client
response = Client().get({path!r}, HTTP_X_REQUEST_ID="shell-req-1")
print(json.dumps({{"status": response.status_code}}))
"""


def _logged(tmp_path, path: str, **env: str) -> list[dict]:
    """Log lines (stdout) of one request made through Django's test client in a fresh
    process configured by LOGGING, as a server is."""
    result = manage(tmp_path, "shell", "-c", SHELL_REQUEST.format(path=path), DEBUG="true", **env)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if "logger" in line]  # not the script's own print


def test_logging_writes_json_lines_with_the_request_id_to_stdout(tmp_path):
    port = _free_port()
    lines = _logged(
        tmp_path,
        "/readyz",
        LOG_LEVEL="DEBUG",
        CACHE_URL=f"redis://127.0.0.1:{port}/0",
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    by_logger = {line["logger"]: line for line in lines}
    assert by_logger["config.health"]["level"] == "WARNING"
    assert by_logger["config.observability"]["route"] == "readyz"
    assert by_logger["django.request"]["message"] == "Service Unavailable: /readyz"
    for name in ("config.health", "config.observability", "django.request"):
        assert by_logger[name]["request_id"] == "shell-req-1", name


def test_log_level_is_respected(tmp_path):
    info = _logged(tmp_path, "/no-such-page", LOG_LEVEL="INFO", ALLOWED_HOSTS="testserver")
    assert [line["message"] for line in info if line["logger"] == "config.observability"] == [
        "GET /no-such-page 404"
    ]
    quiet = _logged(tmp_path, "/no-such-page", LOG_LEVEL="WARNING", ALLOWED_HOSTS="testserver")
    assert [line for line in quiet if line["logger"] == "config.observability"] == []


# --- /metrics ------------------------------------------------------------------------------


def test_metrics_answer_loopback(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"pm_http_requests_total" in response.content


def _not_found_like_an_unknown_path(client, response, **extra):
    unknown = client.get("/no-such-page", **extra)
    assert response.status_code == unknown.status_code == 404
    assert response.content == unknown.content


@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "203.0.113.9"},
        # Through a proxy on loopback that NUM_PROXIES does not name: the client is unknown.
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer wrong-token-0123456789"},
    ],
    ids=["outside", "forwarded-by-loopback-proxy", "wrong-token"],
)
def test_metrics_are_404_for_everyone_else(client, settings, extra):
    settings.DEBUG = False  # the production 404 page, which names nothing
    settings.METRICS_TOKEN = "right-token-0123456789"
    _not_found_like_an_unknown_path(client, client.get("/metrics", **extra), **extra)


def test_metrics_answer_a_bearer_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "right-token-0123456789"
    response = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer right-token-0123456789"
    )
    assert response.status_code == 200


def test_metrics_allow_list_and_trusted_proxies(client, settings):
    settings.METRICS_ALLOW = ["10.20.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    # Behind one trusted proxy the client is the address it forwarded.
    settings.NUM_PROXIES = 1
    forwarded = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.20.9.9"}
    assert client.get("/metrics", **forwarded).status_code == 200
    forwarded["HTTP_X_FORWARDED_FOR"] = "10.20.9.9, 203.0.113.9"
    assert client.get("/metrics", **forwarded).status_code == 404


@pytest.mark.django_db
def test_device_answers_are_counted_by_endpoint_status_and_result(client, customer):
    TokenFactory(customer=customer, value="metrics-token", app_id=AppId.VOICE)
    ok = {"endpoint": "bootstrap", "status": "200", "result": "ok"}
    unknown = {"endpoint": "bootstrap", "status": "404", "result": "not_found"}
    route = {"route": "device:bootstrap", "method": "POST", "status": "200"}
    before = [
        sample("pm_device_answers_total", **ok),
        sample("pm_device_answers_total", **unknown),
        sample("pm_http_requests_total", **route),
        sample("pm_http_request_duration_seconds_count", route="device:bootstrap"),
    ]
    api = APIClient()
    body = {"token": "metrics-token", "deviceId": "TC52_1", "appId": AppId.VOICE}
    assert api.post("/device/api/v1/bootstrap", body, format="json").status_code == 200
    body["token"] = "no-such-token"
    assert api.post("/device/api/v1/bootstrap", body, format="json").status_code == 404
    after = [
        sample("pm_device_answers_total", **ok),
        sample("pm_device_answers_total", **unknown),
        sample("pm_http_requests_total", **route),
        sample("pm_http_request_duration_seconds_count", route="device:bootstrap"),
    ]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 2]
    text = client.get("/metrics").content.decode()
    assert 'pm_device_answers_total{endpoint="bootstrap",result="not_found",status="404"}' in text


@celery_app.task(name="tests.test_serving.explode")
def explode():
    raise RuntimeError("this job fails")


@pytest.mark.django_db
def test_job_runs_and_failures_are_counted():
    from phones.tasks import delete_expired_codes

    name = delete_expired_codes.name
    success = sample("pm_jobs_total", task=name, outcome="success")
    failure = sample("pm_jobs_total", task=explode.name, outcome="failure")
    delete_expired_codes.apply()
    # As a worker runs it: the error is recorded, not raised (eager runs here raise it).
    assert explode.apply(throw=False).failed()
    assert sample("pm_jobs_total", task=name, outcome="success") == success + 1
    assert sample("pm_jobs_total", task=explode.name, outcome="failure") == failure + 1


@pytest.mark.django_db
@pytest.mark.skipif(
    not django_settings.DATABASES["default"].get("OPTIONS", {}).get("pool"),
    reason="needs PostgreSQL with the connection pool (CI)",
)
def test_the_connection_pool_is_measured(client):
    client.get("/metrics")
    maximum = django_settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert sample("pm_db_pool_connections", database="default", state="max") == maximum
    assert sample("pm_db_pool_connections", database="default", state="open") >= 1


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
        ({"METRICS_TOKEN": "sixteen chars with spaces"}, "METRICS_TOKEN"),
        ({"METRICS_ALLOW": "127.0.0.1/32,localhost"}, "METRICS_ALLOW"),
    ],
    ids=["token-short", "token-spaces", "allow-name"],
)
def test_bad_metrics_settings_stop_start_up(tmp_path, env, variable):
    result = manage(tmp_path, "check", DEBUG="true", **env)
    assert result.returncode != 0
    assert configuration_error(result.stderr).startswith(f"{variable}:")
    assert "sixteen chars" not in result.stderr  # a token is never quoted


# --- config/gunicorn.py --------------------------------------------------------------------

READ_GUNICORN = """
import json, os, runpy
conf = runpy.run_path("config/gunicorn.py")
folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
made = os.path.isdir(folder)
conf["on_exit"](None)
print(json.dumps({
    "workers": conf["workers"], "threads": conf["threads"],
    "worker_class": conf["worker_class"], "backlog": conf["backlog"],
    "timeout": conf["timeout"], "graceful_timeout": conf["graceful_timeout"],
    "keepalive": conf["keepalive"], "accesslog": conf["accesslog"],
    "forwarded_allow_ips": conf["forwarded_allow_ips"],
    "metrics_dir_made": made, "metrics_dir_removed": not os.path.exists(folder),
}))
"""
GUNICORN_VARIABLES = (
    "WORKERS",
    "THREADS",
    "FORWARDED_ALLOW_IPS",
    "ACCESS_LOG",
    "PROMETHEUS_MULTIPROC_DIR",
    "PM_GUNICORN_METRICS_DIR",
)


def read_gunicorn(script: str = READ_GUNICORN, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in GUNICORN_VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_gunicorn_defaults():
    result = read_gunicorn()
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert conf["workers"] == min(2 * len(os.sched_getaffinity(0)), 8)
    assert conf["threads"] == 8
    assert conf["worker_class"] == "gthread"
    assert conf["backlog"] >= 2048
    assert (conf["timeout"], conf["graceful_timeout"], conf["keepalive"]) == (30, 20, 5)
    assert conf["accesslog"] is None
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert conf["metrics_dir_made"] and conf["metrics_dir_removed"]


def test_gunicorn_reads_its_variables(tmp_path):
    result = read_gunicorn(
        WORKERS="3",
        THREADS="100",
        FORWARDED_ALLOW_IPS="10.0.0.0/8, 192.0.2.1",
        ACCESS_LOG="true",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert (conf["workers"], conf["threads"]) == (3, 100)
    assert conf["forwarded_allow_ips"] == "10.0.0.0/8,192.0.2.1"
    assert conf["accesslog"] == "-"
    # A folder the operator named is theirs: kept.
    assert conf["metrics_dir_made"] and not conf["metrics_dir_removed"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("WORKERS", "many"), ("THREADS", "0"), ("FORWARDED_ALLOW_IPS", "proxy.local")],
)
def test_gunicorn_refuses_bad_values_naming_the_variable(variable, value):
    result = read_gunicorn(**{variable: value})
    assert result.returncode != 0
    assert f"{variable}: expected" in result.stderr


def test_gunicorn_start_drops_metric_files_of_dead_processes(tmp_path):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    folder = tmp_path / "metrics"
    folder.mkdir()
    for name in (f"counter_{gone}.db", f"histogram_{gone}.db", "counter_1.db", "notes.txt"):
        (folder / name).write_bytes(b"")
    script = 'import runpy; runpy.run_path("config/gunicorn.py")["on_starting"](None)'
    result = read_gunicorn(script, PROMETHEUS_MULTIPROC_DIR=str(folder))
    assert result.returncode == 0, result.stderr
    # pid 1 is alive (a Celery worker sharing the folder would be too).
    assert sorted(p.name for p in folder.iterdir()) == ["counter_1.db", "notes.txt"]


# --- Scale-out: two server processes, one database, one Redis ------------------------------

REDIS_DB = 15  # the suite takes 0 and 1, and 2 to 9 for parallel workers (tests/settings.py)
RATE = 10


def _redis_client():
    import redis

    return redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=2)


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    """`make serve` twice (two processes each) on one fresh PostgreSQL database and one
    Redis database, behind one trusted proxy (NUM_PROXIES=1) so that each test chooses
    its client addresses with X-Forwarded-For."""
    import psycopg

    db = django_settings.DATABASES["default"]
    name = f"pm_scale_{uuid.uuid4().hex[:8]}"
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
    _redis_client().flushdb()
    servers = []
    try:
        auth = f"{db['USER']}:{db['PASSWORD']}@" if db["PASSWORD"] else f"{db['USER']}@"
        tmp_path = tmp_path_factory.mktemp("scale")
        env = _server_env(f"postgres://{auth}{admin['host']}:{admin['port']}/{name}", tmp_path)
        env.update(
            CACHE_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
            DEVICE_RATE_PER_IP=f"{RATE}/min",
            NUM_PROXIES="1",
            LOG_LEVEL="INFO",
        )
        _manage(env, "migrate", "--no-input")
        _manage(env, "shell", "-c", SEED)
        for n, extra in enumerate([{}, {"ACCESS_LOG": "true"}]):
            port = _free_port()
            log = tmp_path / f"server-{n}.log"
            process = subprocess.Popen(
                ["make", "--silent", "--no-print-directory", "serve", f"PORT={port}", "THREADS=50"],
                cwd=ROOT,
                env={**env, **extra},
                stdout=log.open("w"),
                stderr=(tmp_path / f"server-{n}.err").open("w"),
            )
            servers.append((process, f"http://127.0.0.1:{port}", log))
        for process, url, _ in servers:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"server {url} did not start")
                time.sleep(0.2)
        yield [(url, log) for _, url, log in servers]
    finally:
        for process, _, _ in servers:
            process.terminate()
        for process, _, _ in servers:
            process.wait(timeout=30)
        _redis_client().flushdb()
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scale_out(test):
    """PostgreSQL and Redis only: SQLite cannot be shared by two hosts, and the point is
    what the instances share."""
    marks = [
        pytest.mark.slow,
        pytest.mark.skipif(
            django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
            reason="needs PostgreSQL (CI runs it)",
        ),
        needs_redis,
    ]
    for mark in marks:
        test = mark(test)
    return test


def _scrape(url: str) -> dict[tuple, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _answers(scrapes, endpoint: str) -> Counter:
    total = Counter()
    for scrape in scrapes:
        for (name, labels), value in scrape.items():
            labels = dict(labels)
            if name == "pm_device_answers_total" and labels["endpoint"] == endpoint:
                total[(int(labels["status"]), labels["result"])] += int(value)
    return total


@scale_out
def test_both_instances_are_ready(two_servers):
    for url, _log in two_servers:
        response = httpx.get(f"{url}/readyz", timeout=5)
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


@scale_out
def test_rate_limits_are_shared_by_both_instances(two_servers):
    # The limit counts per minute: start well inside a minute so all 12 share one.
    left = 60 - time.time() % 60
    if left < 15:
        time.sleep(left + 0.5)
    urls = [url for url, _ in two_servers]
    body = {"token": "rush-token", "deviceId": "TC52_0000"}
    headers = {"X-Forwarded-For": "192.0.2.10"}

    def check_in(n: int) -> int:
        url = urls[n % 2]
        return httpx.post(f"{url}/device/api/v1/checkin", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = Counter(pool.map(check_in, range(12)))
    assert answers == Counter({204: RATE, 429: 12 - RATE})
    assert _answers([_scrape(url) for url in urls], "checkin") == Counter(
        {(204, "ok"): RATE, (429, "rate_limited"): 12 - RATE}
    )


@scale_out
def test_200_simultaneous_license_requests_across_both_instances(two_servers):
    urls = [url for url, _ in two_servers]
    start = threading.Barrier(DEVICES)

    def ask(n: int) -> int:
        with httpx.Client(timeout=60) as client:
            start.wait()
            return client.post(
                f"{urls[n % 2]}/device/api/v1/license",
                json={"token": "rush-token", "deviceId": f"TC52_{n:04}", "feature": "CUCM"},
                # Each device its own address: this is about the seats, not the limits.
                headers={"X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}"},
            ).status_code

    with ThreadPoolExecutor(max_workers=DEVICES) as pool:
        answers = Counter(pool.map(ask, range(DEVICES)))
    assert answers == Counter({200: SEATS, 409: DEVICES - SEATS})
    # Each instance's /metrics adds up its two worker processes; together, every answer.
    assert _answers([_scrape(url) for url in urls], "license") == Counter(
        {(200, "ok"): SEATS, (409, "no_license_available"): DEVICES - SEATS}
    )


@scale_out
def test_both_instances_log_json_lines_with_request_ids(two_servers):
    # The second instance also writes gunicorn's access log (ACCESS_LOG=true).
    expected = [["config.observability"], ["config.observability", "gunicorn.access"]]
    for (url, log), loggers in zip(two_servers, expected, strict=True):
        marker = f"scale-out-{uuid.uuid4().hex[:8]}"
        response = httpx.get(f"{url}/no-such-page?token=s3cret", headers={"X-Request-ID": marker})
        assert response.headers["X-Request-ID"] == marker
        deadline = time.monotonic() + 10
        while True:
            # Every line is JSON; gunicorn writes its line once the answer is sent.
            lines = [json.loads(line) for line in log.read_text().splitlines()]
            mine = [line for line in lines if line.get("request_id") == marker]
            if len(mine) == len(loggers) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sorted(line["logger"] for line in mine) == loggers, mine
        assert all(line["path"] == "/no-such-page" for line in mine)
        assert all(line["status"] == 404 and "duration_ms" in line for line in mine)
        assert "s3cret" not in log.read_text()


# --- What gunicorn answers itself ---------------------------------------------------------


def test_every_operation_documents_the_servers_own_refusals():
    """414 and 431 come from gunicorn before any of our code runs; the schema says so for
    every operation, as HTML pages, so a client (and Schemathesis) is not surprised."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code in ("414", "431"):
                content = operation["responses"][code]["content"]
                assert list(content) == ["text/html"], (method, path, code)


@pytest.mark.slow
def test_gunicorn_answers_an_overlong_request_line_as_the_schema_says(tmp_path):
    port = _free_port()
    env = {**os.environ, "DEBUG": "true", "DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--config",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "no gunicorn"
            time.sleep(0.2)
        long_line = httpx.get(f"{url}/admin/api/v1/tokens?q={'x' * 5000}", timeout=5)
        assert long_line.status_code == 414
        assert long_line.headers["content-type"].startswith("text/html")
        big_header = httpx.get(f"{url}/healthz", headers={"X-Big": "y" * 9000}, timeout=5)
        assert big_header.status_code == 431
        assert big_header.headers["content-type"].startswith("text/html")
    finally:
        server.terminate()
        server.wait(timeout=30)
