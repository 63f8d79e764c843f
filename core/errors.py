"""The refusals services raise, shared by every app.

A bad field is Django's ValidationError, naming the field. Everything else a service
refuses is one of these: it carries a machine-readable `code` and a sentence for people,
and says nothing about HTTP. The admin API maps them to statuses in one place
(accounts.api.base); portal views and the Django admin show the sentence.
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "error"

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(detail)


class AlreadyExists(ServiceError):
    """An add named something that exists already."""

    code = "exists"


class Missing(ServiceError):
    """An update or action named something that does not exist (or no longer does)."""

    code = "not_found"


class InUse(ServiceError):
    """A delete refused because other objects still use the object."""

    code = "in_use"


class Unavailable(ServiceError):
    """Something the action needs (a task queue, an external system) cannot be reached or
    is not configured; trying again later, or configuring it, helps."""

    code = "unavailable"


class StaleVersion(ServiceError):
    """The caller edited an older version than the one stored, or one since deleted.

    `field` is where the caller sent the version ("version" in most places, "v" in the
    devices' mergeProvider); the sentence starts with it, as field errors do."""

    code = "stale_version"

    def __init__(self, *, kind: str, given: int | str, current: int | None, field: str = "version"):
        self.current = current
        if current is None and given == ANY_VERSION:
            detail = (
                f"{field}: there is no such {kind} (If-Match: * asks for an existing one); "
                "reload the list and apply your change again."
            )
        elif current is None:
            detail = (
                f"{field}: this {kind} no longer exists (you edited version {given}); "
                "reload the list and apply your change again."
            )
        else:
            detail = (
                f"{field}: this {kind} was changed by someone else (now version {current}, "
                f"you edited version {given}); reload it and apply your change again."
            )
        super().__init__(detail)

    @property
    def sentence(self) -> str:
        """The detail without its field prefix, for a page where the field is obvious."""
        text = self.detail.split(": ", 1)[-1]
        return text[:1].upper() + text[1:]


# If-Match: *, "whatever version is stored, as long as there is one" (RFC 9110, 13.1.1).
ANY_VERSION = "*"


def version_check(
    *, kind: str, expected: int | str | None, current: int | None, field: str = "version"
) -> None:
    """The one rule of a versioned edit: `expected` (the version the caller edited, or
    ANY_VERSION, or None for "no check") against `current` (the stored version under the
    caller's row lock, or None when the object is gone). StaleVersion when they differ."""
    if expected is None:
        return
    if current is None or (expected != ANY_VERSION and current != expected):
        raise StaleVersion(kind=kind, given=expected, current=current, field=field)
