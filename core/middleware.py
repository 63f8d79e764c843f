"""Answers for what goes wrong before, around or below the views.

- A NUL character in the path or the query is refused at once (400): no database text
  column can hold it, and nothing downstream should have to think about it.
- On the API paths every error is JSON {"error", "detail"}, including Django's own pages
  (an unknown path's 404, an oversized form body).
- A database that cannot be reached (connection pool exhausted, server down) answers 503
  with Retry-After on every path, never a 500. The API views answer it themselves
  (core.api.exceptions); this catches the portal's.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from core.api.exceptions import DATABASE_RETRY_AFTER

log = logging.getLogger(__name__)

DEVICE_PREFIX = "/device/"
# Desk phones' files (gateway.api.files): their view reads a NUL as a bad file name and
# records it in History, as every refused fetch.
PHONE_FILES_PREFIX = "/phones/"
API_PREFIXES = (DEVICE_PREFIX, PHONE_FILES_PREFIX, "/admin/api/")
ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    500: "error",
    503: "unavailable",
}


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def error_response(request: HttpRequest, status: int, detail: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            {"error": ERROR_CODES.get(status, "error"), "detail": detail}, status=status
        )
    return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The answer when the database cannot be reached: 503 with Retry-After, logged
    without a traceback (it is an outage, not a bug)."""
    log.warning("database unavailable: %s", exc)
    response = error_response(
        request, 503, "The database is not answering; try again in a few seconds."
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if ("\x00" in request.path or _query_has_nul(request)) and not request.path.startswith(
            PHONE_FILES_PREFIX
        ):
            return error_response(request, 400, "The address may not contain a NUL character.")
        response = self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            detail = {
                404: f"No such endpoint: {request.path}",
                413: "The request body is too large.",
            }.get(response.status_code, response.reason_phrase)
            return error_response(request, response.status_code, detail)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, OperationalError | InterfaceError):
            return database_unavailable(request, exc)
        if isinstance(exc, RequestDataTooBig):
            return error_response(request, 413, "The request body is too large.")
        return None


def _query_has_nul(request: HttpRequest) -> bool:
    return any(
        "\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()
    )


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class DeviceFastPathMiddleware:
    """The device endpoints skip the portal's middleware: a device sends no cookie and
    proves itself with its token or code (a desk phone with the secret in its file URL),
    so sessions, CSRF, authentication, messages, clickjacking headers and the login
    lock-out only cost time there. For /device/ and /phones/ paths
    this resolves and runs the view at once; every other path goes on down the stack.
    The middleware above it (request ID and logs, probes, RequestGuardMiddleware) still
    sees every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith((DEVICE_PREFIX, PHONE_FILES_PREFIX)):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return error_response(request, 404, f"No such endpoint: {request.path}")
        request.resolver_match = match
        response = match.func(request, *match.args, **match.kwargs)
        if callable(getattr(response, "render", None)):
            response = response.render()
        return response
