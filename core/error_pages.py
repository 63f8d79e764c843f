"""The portal's error pages: 403, 404, 405 and 500 in the portal's own layout (the menu, a
plain sentence, a way back), under DEBUG too.

`config/urls.py` names the views below as Django's handler403/404/500. Django shows its
technical pages instead of handler404 and handler500 while DEBUG is on, and answers a
method a view does not have with an empty 405; `PortalErrorPagesMiddleware` puts the
portal's pages there as well. `TECHNICAL_ERROR_PAGES=true` keeps Django's technical pages
for developers who want them. API paths are left alone: RequestGuardMiddleware answers
them in JSON.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader

from core.middleware import database_unavailable, is_api

log = logging.getLogger("django.request")

TITLES = {
    403: "Not allowed",
    404: "Page not found",
    405: "Not possible here",
    500: "Something went wrong",
}


def _render(request: HttpRequest, status: int, reason: str = "") -> HttpResponse:
    context = {"status": status, "page_title": TITLES[status], "reason": reason}
    try:
        body = loader.render_to_string(f"{status}.html", context, request=request)
    except Exception:
        if status != 500:
            raise
        # The layout needs the user and the menu (the database); when that is what
        # failed, a page without them still says what happened.
        log.exception("the 500 page could not be drawn in the portal layout")
        body = loader.render_to_string("500_bare.html", context)
    return HttpResponse(body, status=status)


def _reason(exception) -> str:
    # PermissionDenied("…") from a portal view carries a sentence for people; Django's
    # own Http404 messages ("No Token matches the given query.") are not worth showing.
    text = str(exception or "")
    return text if isinstance(exception, PermissionDenied) else ""


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _render(request, 403, _reason(exception))


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _render(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its except block. The database failing where neither a
    # view nor CustomerTimeZoneMiddleware would see it is still answered as the 503 it is.
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable(request, exc)
    return _render(request, 500)


def portal_pages_wanted(request: HttpRequest) -> bool:
    return not is_api(request) and not settings.TECHNICAL_ERROR_PAGES


class PortalErrorPagesMiddleware:
    """The portal's pages where Django would show its technical ones (DEBUG) or an empty
    405. Sits below authentication and messages, so the pages have the user and menu."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and settings.DEBUG
            and getattr(request, "resolver_match", None) is None
            and portal_pages_wanted(request)
        ):
            # No URL matched: under DEBUG Django drew its technical page (it lists every
            # URL pattern) before any view ran.
            return _render(request, 404)
        if (
            response.status_code == 405
            and not response.content
            and not getattr(response, "streaming", False)
            and portal_pages_wanted(request)
        ):
            page = _render(request, 405)
            page["Allow"] = response.get("Allow", "")
            return page
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not settings.DEBUG or not portal_pages_wanted(request):
            return None  # without DEBUG Django calls the handlers in config/urls.py
        if isinstance(exc, Http404):
            return _render(request, 404)
        if isinstance(
            exc,
            PermissionDenied | BadRequest | SuspiciousOperation | OperationalError | InterfaceError,
        ):
            return None  # handler403, Django's 400 and RequestGuardMiddleware's 503
        log.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exc,
            extra={"status_code": 500, "request": request},
        )
        return _render(request, 500)
