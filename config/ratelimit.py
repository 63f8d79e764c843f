"""Request counting for rate limits: every limit of a request in one round trip.

A fixed window per key: each counted request increments its window's counter, which
expires with the window. In Redis (the shared cache in production) all the limits of a
request are one server-side script: INCR and EXPIRE … NX for each limit that counts, GET
for each that only looks, so the cost is one round trip whatever the limits and their
rates.
Without Redis (tests, the embedded demo) Django's cache does the counting.

When Redis cannot be reached, counting goes on in this process's memory, so the service
keeps answering with a per-process limit instead of failing; the outage is logged.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches

log = logging.getLogger(__name__)

_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
# Log the fallback at most once per this many seconds per process.
_FALLBACK_LOG_INTERVAL = 60.0
_last_fallback_log = 0.0
# The scripts (below) on a client of each Redis: sent once, then by their digest.
_scripts: dict[tuple[str, str], Any] = {}
_clients: dict[str, Any] = {}
_scripts_lock = threading.RLock()


@dataclass(frozen=True)
class Limit:
    key: str
    rate: str
    # False: only look (the requests are counted elsewhere, e.g. refusals after the fact).
    counts: bool = True


def parse_rate(rate: str) -> tuple[int, int]:
    """ "300/min" → (300, 60). The settings reader (config.env.env_rate) has checked it."""
    count, _, unit = rate.partition("/")
    return int(count), _SECONDS[unit]


def check(limits: list[Limit], *, now: float | None = None) -> float | None:
    """Count this request against every limit that counts and look at the others. None
    when all are within bounds, otherwise the longest wait until a window ends."""
    now = time.time() if now is None else now
    windows = []
    for limit in limits:
        allowed, period = parse_rate(limit.rate)
        window = math.floor(now / period)
        windows.append(
            (f"rl:{limit.key}:{period}:{window}", period, allowed, (window + 1) * period - now)
        )
    counts = _counts(
        [
            (key, period, limit.counts)
            for limit, (key, period, _, _) in zip(limits, windows, strict=True)
        ]
    )
    waits = [
        wait
        for limit, (_, _, allowed, wait), count in zip(limits, windows, counts, strict=True)
        if (count > allowed if limit.counts else count >= allowed)
    ]
    return max(waits) if waits else None


def hit(key: str, rate: str, *, now: float | None = None) -> float | None:
    """Count one request against `rate` for `key` (see check)."""
    return check([Limit(key, rate)], now=now)


def exceeded(key: str, rate: str, *, now: float | None = None) -> float | None:
    """Look whether `key` has reached `rate`, without counting (see check)."""
    return check([Limit(key, rate, counts=False)], now=now)


def give_back(key: str, rate: str, *, now: float | None = None) -> None:
    """Take one count back from `key`'s current window (never below zero): a request that
    was counted against a failure limit when it came in, and turned out not to fail. Count
    first, give back after, and the limit can never be overshot by requests in flight."""
    now = time.time() if now is None else now
    _, period = parse_rate(rate)
    window_key = f"rl:{key}:{period}:{math.floor(now / period)}"
    try:
        script = _redis_script(_GIVE_BACK_SCRIPT)
        if script is not None:
            script(keys=[window_key])
        else:
            _cache_give_back(caches["default"], window_key)
    except Exception as exc:  # the shared store is unreachable, as in _counts
        _log_fallback(exc)
        _cache_give_back(caches["ratelimit_fallback"], window_key)


def _cache_give_back(cache, key: str) -> None:
    with _scripts_lock:  # this process's get and decr as one step
        if int(cache.get(key) or 0) > 0:
            with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give
                cache.decr(key)


def _counts(entries: list[tuple[str, int, bool]]) -> list[int]:
    try:
        script = _redis_script()
        if script is not None:
            return _redis_counts(script, entries)
        return _cache_counts(caches["default"], entries)
    except Exception as exc:  # any backend error: the shared store is unreachable
        _log_fallback(exc)
        return _cache_counts(caches["ratelimit_fallback"], entries)


def _redis_script(source: str | None = None) -> Any:
    """A script (the counting one unless named) on a client of the Redis the default
    cache uses, or None when that is not Redis."""
    source = source or _COUNT_SCRIPT
    cache = settings.CACHES["default"]
    if not cache["BACKEND"].endswith("RedisCache"):
        return None
    url = cache["LOCATION"]
    script = _scripts.get((url, source))
    if script is None:
        with _scripts_lock:
            script = _scripts.get((url, source))
            if script is None:
                client = _clients.get(url)
                if client is None:
                    client = _clients[url] = redis.Redis.from_url(
                        url, socket_connect_timeout=0.5, socket_timeout=0.5
                    )
                script = _scripts[(url, source)] = client.register_script(source)
    return script


# Each counting key: INCR, and EXPIRE … NX so that its window's counter goes with the
# window; each looking key: GET. KEYS are the keys, ARGV[i] the seconds to keep KEYS[i]
# (0: only look). One command and one answer however many limits: cheaper for the client
# than a pipeline of two commands per limit.
_COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  local keep = tonumber(ARGV[i])
  if keep > 0 then
    counts[i] = redis.call('INCR', key)
    redis.call('EXPIRE', key, keep, 'NX')
  else
    counts[i] = tonumber(redis.call('GET', key) or '0')
  end
end
return counts
"""


# One count back, never below zero (a window that ended meanwhile has nothing to give).
_GIVE_BACK_SCRIPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


def _redis_counts(script: Any, entries: list[tuple[str, int, bool]]) -> list[int]:
    replies = script(
        keys=[key for key, _, _ in entries],
        args=[period + 1 if counts else 0 for _, period, counts in entries],
    )
    return [int(value) for value in replies]


def _cache_counts(cache, entries: list[tuple[str, int, bool]]) -> list[int]:
    result = []
    for key, period, counts in entries:
        if not counts:
            result.append(int(cache.get(key) or 0))
        elif cache.add(key, 1, timeout=period + 1):
            result.append(1)
        else:
            try:
                result.append(cache.incr(key))
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=period + 1)
                result.append(1)
    return result


def _log_fallback(exc: Exception) -> None:
    global _last_fallback_log
    now = time.monotonic()
    if now - _last_fallback_log >= _FALLBACK_LOG_INTERVAL:
        _last_fallback_log = now
        log.warning("rate limits: shared cache unreachable, counting per process: %s", exc)
