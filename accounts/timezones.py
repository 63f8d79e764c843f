"""Each customer's time zone: the names allowed, and the middleware that shows a portal
user's pages in their customer's zone.

Every moment is stored in UTC; only what people read changes. Portal pages (and their
CSV exports) use the zone of the signed-in user's customer. Staff, who read every
customer's rows and switch between customers, keep `settings.TIME_ZONE`, as do the admin
API (its times carry their offset) and Django admin. The `when` filter names the zone in
every time's tooltip, and the header's user menu names it too.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from importlib import resources

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# Paths whose times are not the portal's pages.
_OTHER_PATHS = ("/admin/api/", "/device/", "/staff/")


# In the database, but no place: "no zone has been set" (tz's own comment).
_NOT_A_PLACE = {"Factory"}


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names a customer may choose: the list the tzdata package ships
    (read once), the same on every machine. zoneinfo.available_timezones() would add the
    host's files too: `localtime` (whatever the host is set to), `posixrules`, and
    `posix/…` and `right/…` on some systems, and would lack what the host lacks. Names
    load from the host's database where it has them and from tzdata where not."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(listed) - _NOT_A_PLACE


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(time_zone_names())]


def default_time_zone() -> str:
    """A new customer's zone: the server's (a callable, so the migration does not carry
    one server's setting)."""
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(
            "%(value)s is not a time zone name; choose one like Europe/Berlin or America/New_York.",
            code="invalid_time_zone",
            params={"value": str(value)[:64]},
        )


class CustomerTimeZoneMiddleware:
    """Activates the time zone of the signed-in portal user's customer for the request
    (after AuthenticationMiddleware). The acting customer is cached on the request, so the
    views that need it anyway ask no second time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            zone = self.zone_for(request)
        except (OperationalError, InterfaceError) as exc:
            # The first to read the session and the user: the database being down is
            # answered here, not left to Django's 500 handler.
            from core.middleware import database_unavailable

            return database_unavailable(request, exc)
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def zone_for(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
        # accounts.models reads this module's validator, so tenancy comes in late.
        from accounts.tenancy import request_customer

        if request.path.startswith(_OTHER_PATHS):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_staff:
            return None
        customer = request_customer(request)
        if customer is None or customer.time_zone == settings.TIME_ZONE:
            return None
        try:
            return zoneinfo.ZoneInfo(customer.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            # A name this machine's tz database lacks (stored before an upgrade removed
            # it): the server's zone, never an error page.
            return None
