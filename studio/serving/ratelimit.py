"""Per-key rate limits: a token bucket of `rate` requests per second holding at most `burst`. In the serving
process by default; in Redis (SERVING_RATE_LIMIT_REDIS=redis://...) when several replicas serve one key, so the
limit is the key's, not each replica's. Over the limit, the caller is told how long to wait (Retry-After)."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from .protocol import RequestError

log = logging.getLogger("studio.serving.ratelimit")

# KEYS[1]: the bucket; ARGV: rate, burst, now (seconds). Returns seconds to wait (0: taken), as a string.
TAKE_SCRIPT = """
local rate = tonumber(ARGV[1]); local burst = tonumber(ARGV[2]); local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class LocalBuckets:
    """Buckets in this process. `clock`: seconds, monotonic (tests pass their own)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.clock, self.max_keys = clock, max_keys
        self._buckets: dict[str, list[float]] = {}

    async def take(self, key: str, rate: float, burst: float) -> float:
        """0 when the request may go on, else the seconds until a token is there."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.clear()  # keys are bounded by the registry; this only guards memory
            bucket = self._buckets[key] = [float(burst), now]
        tokens = min(burst, bucket[0] + max(0.0, now - bucket[1]) * rate)
        bucket[1] = now
        if tokens >= 1:
            bucket[0] = tokens - 1
            return 0.0
        bucket[0] = tokens
        return (1 - tokens) / rate


class RedisBuckets:
    """The same bucket in Redis, one hash per key, updated by one script (atomic across replicas)."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time, prefix: str = "studio:ratelimit:"):
        import redis.asyncio as redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(TAKE_SCRIPT)
        self.clock, self.prefix = clock, prefix

    async def take(self, key: str, rate: float, burst: float) -> float:
        wait = await self.script(keys=[self.prefix + key], args=[rate, burst, self.clock()])
        return float(wait)

    async def close(self) -> None:
        await self.client.aclose()


def retry_after(seconds: float) -> str:
    """Retry-After in whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class RateLimited(RequestError):
    """429 in the protocol's error shape, with Retry-After."""

    def __init__(self, message: str, wait: float):
        super().__init__(message, 429)
        self.headers = {"Retry-After": retry_after(wait)}


class RateGate:
    """Applies a deployment's per-key limit to a request holding one of its keys."""

    def __init__(self, buckets):
        self.buckets = buckets
        self.limited = 0
        self.unavailable = 0

    async def check(self, access, model) -> None:
        if model.rate_limit is None or access.key is None:
            return
        rate, burst = model.rate_limit
        try:
            wait = await self.buckets.take(access.key, rate, burst)
        except Exception as exc:  # the shared store is down: serve (the key was checked) rather than fail
            self.unavailable += 1
            log.warning("rate limit store unavailable, request let through: %s: %s", type(exc).__name__, exc)
            return
        if wait > 0:
            self.limited += 1
            raise RateLimited(f"rate limit of {rate:g} requests per second (burst {burst:g}) for this key "
                              f"reached: retry in {wait:.2f} s", wait)
