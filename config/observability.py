"""The request's ID, its log line and its metrics: the outermost middleware.

- The ID is the caller's `X-Request-ID` when it is a short safe token (a proxy's or a
  client's, so one ID follows a request across systems), else a new one. It is sent back
  in `X-Request-ID` and stamped on every log record written while the request is answered
  (config.logs).
- One JSON line per request (logger `config.observability`): method, path, route, status,
  duration_ms, client (core.client.client_ip) and request_id. The path is logged
  without its query string, and URL parts that are secrets (a password-reset link's
  token) are replaced by their name; bodies and headers are never logged. The probes
  and /metrics are logged at DEBUG, so LOG_LEVEL=INFO leaves them out.
- Metrics (config.metrics): requests and latency by route, device answers by endpoint,
  status and result.

A streamed answer (the token and bootstrap lists) is logged and timed when its last byte
is sent, not when streaming starts.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.signals import request_finished
from django.http import FileResponse, HttpRequest, HttpResponse

from config import logs, metrics
from core.client import client_ip

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
# Route names logged at DEBUG: polled every few seconds, they would drown the rest.
QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})
# URL parameters whose values are credentials (Django's password-reset link).
SECRET_PARTS = frozenset({"uidb64", "token"})


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        given = request.headers.get(HEADER, "")
        request_id = given if SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        # Kept until the server closes the answer (request_finished), so that what Django
        # logs after the middleware (django.request's error lines) carries it too.
        logs.request_id.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id

        def finish() -> None:
            _record(request, response, request_id, time.perf_counter() - started)

        # A file (whitenoise's static files) keeps its sendfile path; it is logged now.
        if response.streaming and not response.is_async and not isinstance(response, FileResponse):
            response.streaming_content = _Finishing(response.streaming_content, finish)
        else:
            finish()
        return response


def _forget_request_id(**kwargs) -> None:
    logs.request_id.set("")


request_finished.connect(_forget_request_id, dispatch_uid="config.observability")


class _Finishing:
    """A streamed body that calls `finish` once, when the server closes it (after the
    last byte, or when the client went away)."""

    def __init__(self, content: Iterator[bytes], finish: Callable[[], None]) -> None:
        self._content = iter(content)
        self._finish = finish
        self._finished = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._content)

    def close(self) -> None:
        if not self._finished:
            self._finished = True
            self._finish()


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return match.view_name
    if request.path_info.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


def logged_path(request: HttpRequest) -> str:
    path = logs.path_for_log(request.path)
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name in SECRET_PARTS.intersection(match.kwargs):
            value = str(match.kwargs[name])
            if value:
                path = "/".join(f"<{name}>" if part == value else part for part in path.split("/"))
    return path


def _record(request: HttpRequest, response: HttpResponse, request_id: str, seconds: float):
    route = route_of(request)
    status = response.status_code
    method = request.method or ""
    if route in QUIET_ROUTES:
        level = logging.DEBUG
    elif status >= 500:
        level = logging.ERROR
    else:
        level = logging.INFO
    path = logged_path(request)
    log.log(
        level,
        "%s %s %s",
        method[:16],
        path,
        status,
        extra={
            "method": method[:16],
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "client": client_ip(request),
            "request_id": request_id,
        },
    )
    metrics.observe_request(route=route, method=method, status=status, seconds=seconds)
    match = getattr(request, "resolver_match", None)
    if match is not None and match.namespace == "device":
        metrics.observe_device_answer(
            endpoint=match.url_name, status=status, data=getattr(response, "data", None)
        )
