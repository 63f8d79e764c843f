"""The client's address, read one way everywhere: rate limits, History, the login lock-out
(django-axes) and logs.

Behind `NUM_PROXIES` trusted reverse proxies, each proxy appends the address it received
the request from to `X-Forwarded-For`, so the client is the entry that many places from
the right; everything to the left of it was written by the client and proves nothing.
With no proxies (the default) the header is ignored and REMOTE_ADDR is the client.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.NUM_PROXIES
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
            if _is_ip(candidate):
                return candidate
    return remote if _is_ip(remote) else ""


# Several readers ask for each request's address; a fleet comes from few addresses.
@lru_cache(maxsize=4096)
def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def public_base_url(request: HttpRequest) -> str:
    """Where devices reach this server: PUBLIC_URL, else the address of this request."""
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")
