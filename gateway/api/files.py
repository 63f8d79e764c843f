"""The phone file endpoint: `GET /phones/<secret>/<vendor>/<file>`, what a desk phone's
firmware fetches (gateway.services.files). A plain Django view: phones send no body and
take no JSON; a refusal answers {"error", "detail"} as the other device endpoints do, and
a database that does not answer is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from core import ratelimit
from core.api.exceptions import DATABASE_RETRY_AFTER
from core.client import client_ip, public_base_url
from core.errors import Unavailable
from gateway.services.files import SECRET, phone_file
from phones.files.access import secret_lookup
from phones.files.vendors import VENDORS
from reports.models import HistoryAction, HistoryResult
from reports.services import history_record

log = logging.getLogger(__name__)

# What a refused fetch answers, by its History result.
STATUS = {
    HistoryResult.BAD_REQUEST: (404, "not_found"),
    HistoryResult.UNKNOWN_TOKEN: (404, "not_found"),
    HistoryResult.UNKNOWN_DEVICE: (404, "unknown_device"),
    HistoryResult.UNKNOWN_MODEL: (404, "unknown_model"),
    HistoryResult.NO_SOFTWARE: (404, "no_software"),
    HistoryResult.OBSOLETE_DEVICE: (410, "obsolete_device"),
    HistoryResult.BOUND_ELSEWHERE: (403, "bound_elsewhere"),
    HistoryResult.HTTPS_REQUIRED: (403, "https_required"),
    HistoryResult.RATE_LIMITED: (429, "rate_limited"),
}


def _error(status: int, error: str, detail: str, **headers) -> HttpResponse:
    body = json.dumps({"error": error, "detail": detail})
    return HttpResponse(body, status=status, content_type="application/json", headers=headers)


def _refusal_recorded(result: str, vendor: str, address: str | None) -> None:
    """The History row of a fetch refused before its secret is looked at."""
    history_record(
        customer_id=None,
        action=HistoryAction.FILE,
        result=result,
        app_id=vendor if vendor in VENDORS else "",
        ip_address=address,
    )


@require_safe
def phone_file_view(request: HttpRequest, secret: str, vendor: str, name: str) -> HttpResponse:
    address = client_ip(request) or None
    try:
        if settings.PHONE_FILES_HTTPS_ONLY and not request.is_secure():
            # Refused rather than redirected: the secret has crossed the network in clear
            # already, and the operator should hear of it from the History page.
            _refusal_recorded(HistoryResult.HTTPS_REQUIRED, vendor, address)
            return _error(403, "https_required", "phone files are served over HTTPS only")
        limits = [ratelimit.Limit(f"device-ip:{address}", settings.DEVICE_RATE_PER_IP)]
        if SECRET.fullmatch(secret):
            # Per customer: the secret names one (its digest, never the secret, is the key).
            limits.append(
                ratelimit.Limit(
                    f"phone-files:{secret_lookup(secret)[:32]}", settings.DEVICE_RATE_PER_TOKEN
                )
            )
        wait = ratelimit.check(limits)
        if wait is not None:
            _refusal_recorded(HistoryResult.RATE_LIMITED, vendor, address)
            return _error(
                429,
                "rate_limited",
                "too many requests; try again later",
                **{"Retry-After": str(max(1, round(wait)))},
            )
        answer = phone_file(
            secret=secret,
            vendor_key=vendor,
            name=name,
            user_agent=request.headers.get("User-Agent", ""),
            base_url=public_base_url(request),
            ip_address=address,
        )
    except (OperationalError, InterfaceError) as exc:
        log.warning("database unavailable: %s", type(exc).__name__)
        return _error(
            503,
            "unavailable",
            "The database is not answering; try again in a few seconds.",
            **{"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    except Unavailable as exc:  # a line's password cannot be decrypted
        log.warning("phone file unavailable: %s", exc.code)
        return _error(503, "unavailable", "The server cannot write this phone's file now.")
    if answer.ok:
        return HttpResponse(answer.body, content_type=answer.content_type)
    status, error = STATUS[answer.result]
    return _error(status, error, answer.detail)
