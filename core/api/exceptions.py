"""The one exception handler of every API (REST_FRAMEWORK["EXCEPTION_HANDLER"]).

Every refusal that is not a field error answers {"error": code, "detail": text}; field
errors answer {"field": ["message"]}. Service refusals map to statuses here; a database
that cannot be reached (connection pool exhausted, server down) is a 503 with
Retry-After, and a value the database refuses despite validation is a 400: neither is
ever a 500.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import AlreadyExists, InUse, Missing, ServiceError, StaleVersion, Unavailable

log = logging.getLogger(__name__)

# How each refusal of a service answers. The first class in a refusal's MRO found here wins.
SERVICE_ERROR_STATUS = {
    StaleVersion: status.HTTP_409_CONFLICT,
    AlreadyExists: status.HTTP_409_CONFLICT,
    InUse: status.HTTP_409_CONFLICT,
    Missing: status.HTTP_404_NOT_FOUND,
    Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}
# Seconds a client should wait before trying again when the database is unreachable.
DATABASE_RETRY_AFTER = 5


class Refused(APIException):
    """An answer of the form {"error": code, "detail": text}."""

    def __init__(self, status_code: int, error: str, detail: str):
        self.status_code = status_code
        super().__init__({"error": error, "detail": detail})


class DatabaseUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "The database is not answering; try again in a few seconds."


def service_error_status(exc: ServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in SERVICE_ERROR_STATUS:
            return SERVICE_ERROR_STATUS[cls]
    return status.HTTP_400_BAD_REQUEST


def api_exception(exc: Exception, view=None) -> Exception:
    """`exc` as the APIException it answers as (others pass through unchanged)."""
    if isinstance(exc, ServiceError):
        return Refused(service_error_status(exc), exc.code, exc.detail)
    # Django's own refusals (a lookup's 404, PermissionDenied) answer like every other.
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, PermissionDenied):
        return DRFPermissionDenied()
    if isinstance(exc, DjangoValidationError):
        renames = getattr(view, "service_fields", {})
        detail = serializers.as_serializer_error(exc)
        return ValidationError({renames.get(k, k): v for k, v in detail.items()})
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s", exc)
        return DatabaseUnavailable()
    if isinstance(exc, DataError):
        log.warning("value refused by the database after validation: %s", exc)
        return Refused(status.HTTP_400_BAD_REQUEST, "bad_request", "a value cannot be stored")
    return exc


def exception_handler(exc, context):
    exc = api_exception(exc, context.get("view"))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"} and isinstance(exc, APIException):
        codes = exc.get_codes()
        response.data = {
            "error": codes if isinstance(codes, str) else "error",
            "detail": data["detail"],
        }
    return response
