"""How many wrong provisioning codes may be tried: budgets that keep guessing hopeless
without letting a guesser lock any customer's phones out.

A code is 12 random digits, found only by trying: with N codes pending, one try hits one
of them with odds N / 10^12. Wrong tries are therefore a budget of
CODE_GUESS_ODDS_PER_DAY * 10^12 / N tries a day (400 at 1,000 pending codes, 0.4 at
1,000,000), never more than CODE_FAILURES_MAX, so a guesser's odds of hitting any pending
code stay at CODE_GUESS_ODDS_PER_DAY a day however many codes are pending. A try takes
one from the budget before the code is looked up, in one atomic step (requests in flight
cannot overshoot), and a code that works gives it back.

One budget shared by every caller would let a guesser use it up and lock every customer's
phones out. So a code presented from a known network (where the customer's phones got in
before, or from where its people issued codes, in the last KNOWN_NETWORK_DAYS) is first
looked up among the codes of the customers that know the network, with that network's own
budget sized by their pending codes. Only a code that is none of theirs goes on to the
budget every address shares.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core import ratelimit
from phones.models import CODE_DIGITS, KnownNetwork, ProvisioningCode

log = logging.getLogger(__name__)

CODE_SPACE = 10**CODE_DIGITS
KNOWN_NETWORK_DAYS = 90
# A site's addresses: an IPv4 /24, an IPv6 /56 (what a provider hands one site).
_PREFIX = {4: 24, 6: 56}
# Pending codes are counted at most once a minute per scope; issuing codes starts anew.
_PENDING_SECONDS = 60
_GENERATION_KEY = "codes-pending:generation"
ANY_NETWORK = "code-any"


def network_of(ip_address: str | None) -> str | None:
    """The network an address belongs to for these budgets, e.g. "203.0.113.0/24"."""
    if not ip_address:
        return None
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(ipaddress.ip_network(f"{address}/{_PREFIX[address.version]}", strict=False))


def network_learn(*, customer_id: int, ip_address: str | None, now: datetime) -> None:
    """The customer's phone or person was seen at `ip_address`: its network is known."""
    network = network_of(ip_address)
    if network is None:
        return
    KnownNetwork.objects.bulk_create(
        [KnownNetwork(customer_id=customer_id, network=network, last_seen=now)],
        update_conflicts=True,
        unique_fields=["customer", "network"],
        update_fields=["last_seen"],
    )


def codes_issued() -> None:
    """New codes are pending: the budgets are sized anew on the next try."""
    try:
        cache.set(_GENERATION_KEY, time.time_ns(), timeout=None)
    except Exception as exc:  # the cache is down: the counts it holds are unreachable too
        log.warning("pending-code counts not reset, cache unavailable: %s", exc)


def code_budget(*, network: str | None, customer_ids: list[int] | None) -> ratelimit.Budget:
    """The budget of wrong tries from `network` against the codes of `customer_ids`, or,
    with neither, the one every address shares against all codes."""
    pending = _pending_codes(network, customer_ids)
    allowed, period = ratelimit.parse_rate(settings.CODE_FAILURES_MAX)
    per_day = min(
        allowed * 86400 / period, settings.CODE_GUESS_ODDS_PER_DAY * CODE_SPACE / max(pending, 1)
    )
    # An hour's tries at once (at least one, so that a try is possible at all).
    key = f"code-net:{network}" if network else ANY_NETWORK
    return ratelimit.Budget(key, per_day, max(1.0, per_day / 24))


def code_try(code: str, *, ip_address: str | None, now: datetime):
    """Before `code` is looked up: take one try from a budget. Answers (the budget, None)
    when the lookup may go on (give the try back if the code works), or (None, seconds to
    wait) when every budget the caller may use is spent."""
    network = network_of(ip_address)
    known = known_customers(network, now)
    if known:
        budget = code_budget(network=network, customer_ids=known)
        if ratelimit.budget_take(budget) is None:
            mine = ProvisioningCode.objects.filter(code=code, customer_id__in=known)
            if pending(mine, now).exists():
                return budget, None
        # Spent, or not one of their codes: a try like any other caller's.
    budget = code_budget(network=None, customer_ids=None)
    wait = ratelimit.budget_take(budget)
    return (budget, None) if wait is None else (None, wait)


def known_customers(network: str | None, now: datetime) -> list[int]:
    """The customers that know `network`."""
    if network is None:
        return []
    return list(
        KnownNetwork.objects.filter(
            network=network, last_seen__gte=now - timedelta(days=KNOWN_NETWORK_DAYS)
        ).values_list("customer_id", flat=True)
    )


def pending(codes, now: datetime):
    """The codes among `codes` a phone could still redeem."""
    return codes.filter(used_at__isnull=True, expires_at__gt=now, customer__is_active=True)


def _pending_codes(network: str | None, customer_ids: list[int] | None) -> int:
    try:
        generation = cache.get(_GENERATION_KEY, 0)
        key = f"codes-pending:{generation}:{network or '*'}"
        known = cache.get(key)
    except Exception as exc:  # the cache is down: count each time rather than guess
        log.warning("pending codes counted uncached, cache unavailable: %s", exc)
        key = known = None
    if known is not None:
        return known
    codes = ProvisioningCode.objects.all()
    if customer_ids is not None:
        codes = codes.filter(customer_id__in=customer_ids)
    counted = pending(codes, timezone.now()).count()
    if key is not None:
        try:
            cache.set(key, counted, timeout=_PENDING_SECONDS)
        except Exception as exc:
            log.warning("pending codes not cached, cache unavailable: %s", exc)
    return counted
