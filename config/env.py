"""Tiny readers for settings taken from the environment.

Each one fails at start-up with ImproperlyConfigured naming the variable, so a
typo in a deployment shows up as a clear message instead of a surprising default.
"""

import json
import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from core.http import http_url_valid

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_fraction(name: str, default: float) -> float:
    """A probability: a number above 0 and at most 1, e.g. 4e-7."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a number such as 4e-7, got {raw!r}") from None
    if not 0 < value <= 1:
        raise ImproperlyConfigured(f"{name}: must be above 0 and at most 1, got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A request rate such as "300/min" (per s, min, hour or day)."""
    value = os.environ.get(name, default).strip()
    count, _, period = value.partition("/")
    if not count.isdigit() or period not in {"s", "sec", "m", "min", "h", "hour", "d", "day"}:
        raise ImproperlyConfigured(f"{name}: expected a rate like 300/min, got {value!r}")
    return value


def env_json(name: str, default: Any) -> Any:
    """A JSON value. The message never repeats the raw text: it may hold secrets."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(
            f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (compared trimmed and lower-case; "" is a choice like any other)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise ImproperlyConfigured(f"{name}: expected one of {allowed}, got {raw!r}")
    return value


def url_check(label: str, value: str) -> str:
    """`value` without a trailing slash, or ImproperlyConfigured naming `label` when it is
    not an http:// or https:// address of a host (core.http.http_url_valid)."""
    if not http_url_valid(value):
        raise ImproperlyConfigured(
            f"{label}: must be http:// or https:// followed by a host name (and an optional path)"
        )
    return value.rstrip("/")


def env_url(name: str, default: str = "") -> str:
    """A base URL (see url_check); empty when unset and no default."""
    value = env_str(name, default).strip()
    return url_check(name, value) if value else ""


def env_file_or_value(name: str) -> tuple[str, str]:
    """NAME, or the content of the file NAME_FILE names (a mounted secret), not both; with
    which variable it came from. Relative files are read from the project directory."""
    value, file_name = env_str(name), env_str(f"{name}_FILE").strip()
    if value and file_name:
        raise ImproperlyConfigured(f"{name}: set it or {name}_FILE, not both")
    if not file_name:
        return value, name
    try:
        return (BASE_DIR / file_name).read_text(), f"{name}_FILE"
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(
            f"{name}_FILE: cannot read {file_name!r} ({getattr(exc, 'strerror', None) or exc})"
        ) from None


def env_secret(name: str) -> str:
    """A secret given as NAME or NAME_FILE (trimmed): printable ASCII without spaces."""
    value, source = env_file_or_value(name)
    value = value.strip() if source != name else value
    if source != name and not value:
        raise ImproperlyConfigured(f"{source}: {env_str(source)!r} is empty")
    if value and not all("!" <= char <= "~" for char in value):
        raise ImproperlyConfigured(f"{name}: must be printable ASCII without spaces")
    return value
