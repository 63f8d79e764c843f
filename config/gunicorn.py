"""Gunicorn's settings, for `make serve` and production:

    gunicorn config.wsgi --config config/gunicorn.py --bind 0.0.0.0:8000

Gunicorn reads this file in its master process, before it starts the workers (which then
load Django). Flags on the command line and in GUNICORN_CMD_ARGS override it. It reads:

- WORKERS: processes; default two per CPU this process may use, at most 8, because each
  process keeps up to DB_POOL_SIZE database connections (8 x 10 stays under
  PostgreSQL's default max_connections of 100, with room for Celery and manage.py).
- THREADS: threads per process (default 8), so a request waiting on the database does
  not hold up the others.
- FORWARDED_ALLOW_IPS: addresses or networks of the proxies whose X-Forwarded-Proto
  gunicorn believes (default loopback). `*` is accepted only when set here explicitly.
- ACCESS_LOG: true adds gunicorn's access log (JSON lines on standard output, with the
  request ID and the duration). Off by default: the application already logs each request
  as one JSON line (config.observability).
- PROMETHEUS_MULTIPROC_DIR: where the workers' metrics meet (config.metrics). Unset: a
  private temporary folder, removed when gunicorn stops.

Gunicorn's own messages are JSON lines on standard error.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile

# The workers' metrics go to files from their first import of prometheus_client, which the
# logger below already brings into this process: so this comes first.
_OWNED_METRICS_DIR = "PM_GUNICORN_METRICS_DIR"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pm-metrics-")
    os.environ[_OWNED_METRICS_DIR] = os.environ["PROMETHEUS_MULTIPROC_DIR"]

from gunicorn.glogging import Logger  # noqa: E402

from config.logs import JsonFormatter, path_for_log  # noqa: E402

MAX_DEFAULT_WORKERS = 8


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}: expected a whole number from 1, got {raw!r}")
    return int(raw)


def _default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return min(2 * cpus, MAX_DEFAULT_WORKERS)


def _forwarded_allow_ips() -> str:
    raw = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1").strip()
    if raw == "*":
        return raw
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"FORWARDED_ALLOW_IPS: expected addresses or networks, got {entry!r}"
            ) from None
    return ",".join(entries)


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise ValueError(f"{name}: expected true or false, got {raw!r}")


wsgi_app = "config.wsgi"
bind = ["127.0.0.1:8000"]
worker_class = "gthread"
workers = _whole_number("WORKERS", _default_workers())
threads = _whole_number("THREADS", 8)
# Connections waiting for a worker. Linux caps it at net.core.somaxconn (4096 since 5.4).
backlog = 2048
# A worker silent this long is killed and replaced (under gthread a slow request does
# not count: the worker's main thread keeps reporting).
timeout = 30
# On SIGTERM (a deployment), requests in flight get this long to finish.
graceful_timeout = 20
# Seconds an idle keep-alive connection stays open; keep it above a load balancer's idle
# timeout when the balancer reuses connections.
keepalive = 5
forwarded_allow_ips = _forwarded_allow_ips()
accesslog = "-" if _flag("ACCESS_LOG") else None
errorlog = "-"
# Gunicorn 25.1+ opens a control socket at one path per user, which two instances on a
# host would share; nothing here uses it (older versions ignore the name).
control_socket_disable = True


class JsonLogger(Logger):
    """Gunicorn's messages, and its access log when on, as JSON lines."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        headers = dict((name.lower(), value) for name, value in resp.headers)
        self.access_log.info(
            "%s %s %s",
            environ.get("REQUEST_METHOD", ""),
            path_for_log(environ.get("PATH_INFO", "")),
            status,
            extra={
                "method": environ.get("REQUEST_METHOD", ""),
                # Never the query string: it may carry a token.
                "path": path_for_log(environ.get("PATH_INFO", "")),
                "status": int(status) if status.isdigit() else status,
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote_addr": environ.get("REMOTE_ADDR", ""),
                "request_id": headers.get("x-request-id", ""),
            },
        )


logger_class = JsonLogger


def on_starting(server):
    """Drop the metric files of processes that are gone (an earlier run of this server);
    a Celery worker sharing the folder keeps its own."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        pid = name.rpartition("_")[2].removesuffix(".db")
        if name.endswith(".db") and pid.isdigit() and not _alive(int(pid)):
            os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_exit(server):
    owned = os.environ.get(_OWNED_METRICS_DIR)
    if owned and owned == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(owned, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
