"""Request counting for rate limits: one atomic increment per request and limit.

A fixed window per key: the first request of a window creates its counter with an expiry
(`add`), the others increment it (`incr`, atomic in Redis). This costs the same whatever
the limit, unlike keeping every request time. When the shared cache (Redis) cannot be
reached, counting goes on in this process's memory, so the service keeps answering with a
per-process limit instead of failing; the outage is logged.
"""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import caches

log = logging.getLogger(__name__)

_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
# Log the fallback at most once per this many seconds per process.
_FALLBACK_LOG_INTERVAL = 60.0
_last_fallback_log = 0.0


def parse_rate(rate: str) -> tuple[int, int]:
    """ "300/min" → (300, 60). The settings reader (config.env.env_rate) has checked it."""
    count, _, unit = rate.partition("/")
    return int(count), _SECONDS[unit]


def hit(key: str, rate: str, *, now: float | None = None) -> float | None:
    """Count one request against `rate` for `key`. None when it is within the limit,
    otherwise the seconds until the window ends (for Retry-After)."""
    limit, period = parse_rate(rate)
    count, wait = _count(key, period, now, increment=True)
    return wait if count > limit else None


def exceeded(key: str, rate: str, *, now: float | None = None) -> float | None:
    """Like hit(), but only looks: for limits counted elsewhere (failures)."""
    limit, period = parse_rate(rate)
    count, wait = _count(key, period, now, increment=False)
    return wait if count >= limit else None


def _count(key: str, period: int, now: float | None, *, increment: bool) -> tuple[int, float]:
    now = time.time() if now is None else now
    window = math.floor(now / period)
    cache_key = f"rl:{key}:{period}:{window}"
    wait = (window + 1) * period - now
    try:
        return _on(caches["default"], cache_key, period, increment), wait
    except Exception as exc:  # any backend error: the shared store is unreachable
        _log_fallback(exc)
        return _on(caches["ratelimit_fallback"], cache_key, period, increment), wait


def _on(cache, cache_key: str, period: int, increment: bool) -> int:
    if not increment:
        return int(cache.get(cache_key) or 0)
    if cache.add(cache_key, 1, timeout=period + 1):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=period + 1)
        return 1


def _log_fallback(exc: Exception) -> None:
    global _last_fallback_log
    now = time.monotonic()
    if now - _last_fallback_log >= _FALLBACK_LOG_INTERVAL:
        _last_fallback_log = now
        log.warning("rate limits: shared cache unreachable, counting per process: %s", exc)
