"""Prometheus metrics (prometheus-client), served at /metrics by config.health.

Under gunicorn every worker process counts on its own; with PROMETHEUS_MULTIPROC_DIR set
(config/gunicorn.py sets it) each process writes its values to files there and a scrape
adds them up, so one scrape covers every worker of the instance. A Celery worker started
with the same PROMETHEUS_MULTIPROC_DIR on the same host joins them; without it (or under
runserver and the tests) the metrics are this process's own.

Every label has a bounded set of values: a route is the URL pattern's name (never the
raw path), a device endpoint's result is the error code the answer carries (one of the
codes of gateway.api.device, which name the History result) or "ok", a task is a
registered task's name. Every metric has labels, so that importing this module writes no
file in the multiprocess folder.
"""

from __future__ import annotations

import os
import re
import time

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    # A missing folder would fail the first request that counts something.
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

HTTP_REQUESTS = Counter(
    "pm_http_requests",
    "HTTP requests answered, by route (URL pattern name), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "pm_http_request_duration_seconds",
    "Time to answer a request (to the last byte of a streamed answer), by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DEVICE_ANSWERS = Counter(
    "pm_device_answers",
    "Device endpoint answers, by endpoint, status and result (ok or the answer's error code).",
    ["endpoint", "status", "result"],
)
JOBS = Counter(
    "pm_jobs",
    "Background job (Celery task) runs in this process, by task and outcome.",
    ["task", "outcome"],
)
DB_POOL_CONNECTIONS = Gauge(
    "pm_db_pool_connections",
    "PostgreSQL pool connections, by state: open, idle, max (summed over live processes).",
    ["database", "state"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "pm_db_pool_waiting",
    "Requests waiting for a pooled connection (summed over live processes).",
    ["database"],
    multiprocess_mode="livesum",
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ERROR_CODE = re.compile(r"\A[a-z][a-z_]{0,39}\Z")
# The pool is sampled at most this often per process (and at every scrape).
_POOL_SAMPLE_SECONDS = 1.0
_pool_sampled = 0.0


def observe_request(*, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method if method in _METHODS else "other", str(status)).inc()
    HTTP_DURATION.labels(route).observe(seconds)
    sample_db_pool()


def observe_device_answer(*, endpoint: str, status: int, data: object) -> None:
    """`data` is the answer's body as the view made it (DRF's response.data)."""
    if 200 <= status < 300:
        result = "ok"
    else:
        error = data.get("error") if isinstance(data, dict) else None
        result = error if isinstance(error, str) and _ERROR_CODE.match(error) else "other"
    DEVICE_ANSWERS.labels(endpoint, str(status), result).inc()


def sample_db_pool(*, force: bool = False) -> None:
    """Copy the connection pools' statistics (psycopg_pool's get_stats) into the gauges."""
    global _pool_sampled
    now = time.monotonic()
    if not force and now - _pool_sampled < _POOL_SAMPLE_SECONDS:
        return
    _pool_sampled = now  # two threads sampling at once do no harm
    from django.db import connections

    for alias in connections:
        pool = getattr(connections[alias], "pool", None)  # PostgreSQL with DB_POOL_SIZE only
        if pool is None:
            continue
        stats = pool.get_stats()
        DB_POOL_CONNECTIONS.labels(alias, "open").set(stats.get("pool_size", 0))
        DB_POOL_CONNECTIONS.labels(alias, "idle").set(stats.get("pool_available", 0))
        DB_POOL_CONNECTIONS.labels(alias, "max").set(stats.get("pool_max", 0))
        DB_POOL_WAITING.labels(alias).set(stats.get("requests_waiting", 0))


def render() -> tuple[bytes, str]:
    """The text exposition of every process's metrics (or this process's)."""
    sample_db_pool(force=True)
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


# Celery signal receivers (connected in config/celery.py): the process that runs a task
# counts it, eager runs included.


def job_succeeded(sender=None, **kwargs) -> None:
    JOBS.labels(_task_name(sender), "success").inc()


def job_failed(sender=None, **kwargs) -> None:
    JOBS.labels(_task_name(sender), "failure").inc()


def job_retried(sender=None, **kwargs) -> None:
    JOBS.labels(_task_name(sender), "retry").inc()


def _task_name(sender) -> str:
    return getattr(sender, "name", None) or "unknown"
