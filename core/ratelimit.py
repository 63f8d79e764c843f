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


# --- Budgets: token buckets with a fractional rate ---------------------------------------


@dataclass(frozen=True)
class Budget:
    """A token bucket: `per_day` tokens a day (any fraction, however small), holding at
    most `capacity`. A request that might fail takes one before it is looked at and gives
    it back when it did not fail, so requests in flight can never overshoot."""

    key: str
    per_day: float
    capacity: float


def budget_take(budget: Budget, *, now: float | None = None) -> float | None:
    """Take one token: None when there was one, else the seconds until there is."""
    return _budget_call(budget, 1, now)


def budget_give_back(budget: Budget, *, now: float | None = None) -> None:
    """Put back a token taken by a request that turned out not to fail."""
    _budget_call(budget, -1, now)


def _budget_call(budget: Budget, take: int, now: float | None) -> float | None:
    now = time.time() if now is None else now
    rate = budget.per_day / 86400
    key = f"rlb:{budget.key}"
    try:
        script = _redis_script(_BUCKET_SCRIPT)
        if script is not None:
            wait = script(keys=[key], args=[repr(rate), repr(budget.capacity), repr(now), take])
            wait = float(wait)
        else:
            wait = _cache_bucket(caches["default"], key, rate, budget.capacity, now, take)
    except Exception as exc:  # the shared store is unreachable, as in _counts
        _log_fallback(exc)
        wait = _cache_bucket(caches["ratelimit_fallback"], key, rate, budget.capacity, now, take)
    return None if wait <= 0 else wait


def _refill(tokens: float, at: float, rate: float, capacity: float, now: float) -> float:
    return min(capacity, tokens + max(0.0, now - at) * rate)


def _cache_bucket(cache, key, rate, capacity, now, take) -> float:
    with _scripts_lock:  # this process's read and write as one step
        state = cache.get(key) or (capacity, now)
        tokens = _refill(*state, rate, capacity, now)
        if take > 0 and tokens < 1:
            return (1 - tokens) / rate if rate > 0 else 86400.0
        tokens = min(capacity, tokens - take)
        cache.set(key, (tokens, now), timeout=_bucket_keep(rate, capacity))
        return 0.0


def _bucket_keep(rate: float, capacity: float) -> int:
    # A full bucket needs no state: keep it until it would have refilled, plus a minute.
    return int(capacity / rate) + 60 if rate > 0 else 86400 * 30


# The same arithmetic in one server-side step. ARGV: rate per second, capacity, now, and
# 1 to take a token or -1 to give one back. Answers 0, or the seconds to wait (as text:
# Redis turns Lua numbers into integers).
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local take = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
if take > 0 and tokens < 1 then
  if rate > 0 then return tostring((1 - tokens) / rate) end
  return '86400'
end
tokens = math.min(capacity, tokens - take)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
local keep = 2592000
if rate > 0 then keep = math.floor(capacity / rate) + 60 end
redis.call('EXPIRE', KEYS[1], keep)
return '0'
"""
