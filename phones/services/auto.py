"""Automatic provisioning: phones that present the customer's token register
themselves, at the address `device_url` names."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Customer, User
from core.jsontext import json_value_error
from phones.models import AutoProvisioning
from reports.models import EventType
from reports.services import event_log

# A token people choose must be as hard to guess as the one we draw would be, near enough:
# long, varied, and about 100 bits by the characters it uses (token_urlsafe(24) has 192).
AUTO_TOKEN_MIN_LENGTH = 20
AUTO_TOKEN_MIN_DISTINCT = 10
AUTO_TOKEN_MIN_BITS = 100
DEVICE_PATH = "/device/api/v1/auto"


def device_url(*, customer: Customer, base_url: str) -> str:
    """The address a customer's phones register at (automatic provisioning; what ZTP
    registers with vendors): the device endpoint with the customer's domain."""
    return f"{base_url.rstrip('/')}{DEVICE_PATH}?domain={quote(customer.slug, safe='')}"


def _token_hash(token: str) -> str:
    # Keyed and fast: every registering phone presents the token, so a deliberately slow
    # password hash would cost each request; the key keeps a leaked table useless.
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


def auto_token_weakness(token: str) -> str | None:
    """Why `token` may not be an automatic provisioning token, or None. Its domain is
    public, so the token alone keeps strangers' phones out."""
    if len(token) < AUTO_TOKEN_MIN_LENGTH or len(token) > 128:
        return f"{AUTO_TOKEN_MIN_LENGTH} to 128 characters (leave it empty to get a random one)"
    if any(ord(c) < 33 or ord(c) == 127 for c in token) or json_value_error(token):
        return "printable characters without spaces"
    if len(set(token)) < AUTO_TOKEN_MIN_DISTINCT:
        return f"at least {AUTO_TOKEN_MIN_DISTINCT} different characters"
    pool = sum(
        size
        for size, present in [
            (26, any(c.islower() for c in token)),
            (26, any(c.isupper() for c in token)),
            (10, any(c.isdigit() for c in token)),
            (33, any(not c.isalnum() for c in token)),
        ]
        if present
    )
    if len(token) * math.log2(max(pool, 2)) < AUTO_TOKEN_MIN_BITS:
        return (
            "too easy to guess: make it longer, or mix upper and lower case, digits and "
            "signs (leave it empty to get a random one)"
        )
    return None


def auto_provisioning_enable(*, customer: Customer, user: User | None, token: str = "") -> str:
    """Enable automatic provisioning with `token` (or a new random one) and return the
    token: this is the only time it can be shown; only its keyed hash is kept. Setting a
    new token rotates it: phones using the old one are refused from now on."""
    token = token or secrets.token_urlsafe(24)
    problem = auto_token_weakness(token)
    if problem:
        raise ValidationError({"token": problem})
    AutoProvisioning.objects.update_or_create(
        customer=customer,
        defaults={
            "enabled": True,
            "token_hash": _token_hash(token),
            "token_hint": token[-4:],
            "token_set_at": timezone.now(),
        },
    )
    event_log(
        customer=customer,
        user=user,
        type=EventType.AUTO_PROVISIONING_TOKEN_SET,
        info="Automatic provisioning enabled with a new security token",
    )
    return token


def auto_provisioning_disable(*, customer: Customer, user: User | None) -> None:
    changed = (
        AutoProvisioning.objects.for_customer(customer)
        .filter(enabled=True)
        .update(
            enabled=False, token_hash="", token_hint="", token_set_at=None, updated=timezone.now()
        )
    )
    if changed:
        event_log(
            customer=customer,
            user=user,
            type=EventType.AUTO_PROVISIONING_DISABLED,
            info="Automatic provisioning disabled; its security token no longer works",
        )


def auto_provisioning_token_matches(*, customer: Customer, token: str) -> bool:
    """Whether `token` is the customer's current automatic provisioning token."""
    setup = AutoProvisioning.objects.for_customer(customer).filter(enabled=True).first()
    return setup is not None and hmac.compare_digest(setup.token_hash, _token_hash(token))


def auto_provisioning_line(*, url: str, token: str, category: str) -> tuple[str, str]:
    """The registration URL with the token and category, and the configuration line for
    a phone's update script. Each value is percent-encoded first, then the whole URL is
    encoded once more for the line: the update script decodes one level."""
    full = f"{url}&token={quote(token, safe='')}&category={quote(category, safe='')}"
    return full, f"config change SYSCLIENT /sysadmin {quote(full, safe='')}"


def auto_setup_accepts(setup: AutoProvisioning, token: str) -> bool:
    """Whether `token` is the setup's token."""
    return hmac.compare_digest(setup.token_hash, _token_hash(token))
