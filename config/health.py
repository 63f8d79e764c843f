"""Probes and metrics: /healthz, /readyz and /metrics.

- /healthz: the process answers (200 {"status": "ok"}); no database, no Redis.
- /readyz: the database, the cache (when it is Redis) and the Celery broker (when it is
  Redis and tasks are not run in-process) answer, each checked at the same time and given
  at most CHECK_TIMEOUT seconds: 200 with each check's result, else 503 with Retry-After
  naming the ones that failed. The answer says "ok", "failed" or "timeout"; why is logged,
  never shown (an error can name hosts and users).
- /metrics: Prometheus text (config.metrics) for the addresses in METRICS_ALLOW
  (loopback by default) and for `Authorization: Bearer <METRICS_TOKEN>`; everyone else
  gets the same 404 as an unknown path.

config/urls.py mounts `probe_urlpatterns` at the root. `ProbeMiddleware`, early in
MIDDLEWARE, answers these paths itself before the rest of the stack: load balancers and
Prometheus call them with the instance's address as Host (not in ALLOWED_HOSTS) and over
plain HTTP (SECURE_SSL_REDIRECT would redirect them), and they need no session, CSRF or
login. /metrics takes that short cut only for an allowed caller; anyone else goes through
the whole stack to the view's 404, so the answer matches an unknown path's to the byte.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from concurrent.futures import ThreadPoolExecutor, wait
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.db.utils import load_backend
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path, resolve
from django.views.decorators.http import require_safe

from config import metrics
from core.client import client_ip

log = logging.getLogger(__name__)

# Seconds each readiness check may take (they run at once). Kubernetes gives a probe one
# second by default; a healthy check takes milliseconds.
CHECK_TIMEOUT = 0.8
RETRY_AFTER = 5
# Headers a proxy adds. Without NUM_PROXIES the client behind one is unknown, so such a
# request is not let in by address: a proxy on loopback would otherwise open /metrics to
# everyone it forwards.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")

# Checks run here so a hung one costs a thread, not the request; a few are enough (a
# queued check that cannot start in time counts as timed out, which is the truth).
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
_broker_clients: dict[str, object] = {}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return _no_store(JsonResponse({"status": "ok"}))


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    checks = {"database": check_database}
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        checks["cache"] = check_cache
    if _is_redis(settings.CELERY_BROKER_URL) and not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = check_broker
    futures = {name: _checks.submit(check) for name, check in checks.items()}
    wait(futures.values(), timeout=CHECK_TIMEOUT)
    results = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = "timeout"
            log.warning("readiness: %s did not answer within %ss", name, CHECK_TIMEOUT)
        elif future.exception() is not None:  # whatever the client raised: not reachable
            exc = future.exception()
            results[name] = "failed"
            log.warning("readiness: %s failed: %s: %s", name, type(exc).__name__, exc)
        else:
            results[name] = "ok"
    failed = [name for name, result in results.items() if result != "ok"]
    if not failed:
        return _no_store(JsonResponse({"status": "ok", "checks": results}))
    response = JsonResponse(
        {"status": "unavailable", "checks": results, "failed": failed}, status=503
    )
    response["Retry-After"] = str(RETRY_AFTER)
    return _no_store(response)


def database_settings() -> dict:
    """The default database's settings for a connection of its own: without the pool, so
    the check says whether the database answers, not whether this process is busy."""
    current = connections["default"].settings_dict
    options = {key: value for key, value in current["OPTIONS"].items() if key != "pool"}
    if current["ENGINE"] == "django.db.backends.postgresql":
        options["connect_timeout"] = 2  # libpq's smallest; CHECK_TIMEOUT stops waiting first
    return {**current, "OPTIONS": options, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False}


def check_database() -> None:
    config = database_settings()
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias="readyz")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        wrapper.close()


def check_cache() -> None:
    # Any round trip will do; the cache's own socket timeouts bound it too.
    caches["default"].get("readyz")


def check_broker() -> None:
    import redis

    url = settings.CELERY_BROKER_URL
    client = _broker_clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        _broker_clients[url] = client
    client.ping()


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://"))


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        raise Http404
    body, content_type = metrics.render()
    return _no_store(HttpResponse(body, content_type=content_type))


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    if not settings.NUM_PROXIES and any(header in request.META for header in FORWARDING_HEADERS):
        return False
    return _address_allowed(client_ip(request), tuple(settings.METRICS_ALLOW))


@lru_cache(maxsize=8)
def _networks(allow: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allow)


def _address_allowed(address: str, allow: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:  # an IPv4 client of a dual-stack socket
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(allow))


probe_urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]
PROBE_PATHS = frozenset(f"/{pattern.pattern}" for pattern in probe_urlpatterns)


class ProbeMiddleware:
    """Answer the probes (and allowed /metrics scrapes) before host checks, HTTPS
    redirects, sessions and logins."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in PROBE_PATHS:
            match = resolve(request.path_info)
            if match.url_name != "metrics" or metrics_allowed(request):
                request.resolver_match = match
                return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
