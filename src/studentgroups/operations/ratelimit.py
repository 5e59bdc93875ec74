"""Rate limiting: a token bucket per API key (per client address without one), in memory or in Redis.

A bucket holds at most `burst` tokens and refills at `per_minute / 60` a second; a request takes
one token, or is answered 429 with `Retry-After` (whole seconds until a token is back).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studentgroups.auth import key_from_headers
from studentgroups.problems import error_response

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("studentgroups.ratelimit")

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_EPSILON = 1e-9  # what float arithmetic may lose of a token that has, in fact, come back


@dataclass(frozen=True, slots=True)
class Bucket:
    """A caller's tokens as of `updated` (seconds, on the limiter's clock)."""

    tokens: float
    updated: float


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may go on; how many tokens are left; if not, how many seconds to wait."""

    allowed: bool
    remaining: int
    retry_after: int = 0


def take(bucket: Bucket | None, now: float, *, rate: float, capacity: int) -> tuple[Bucket, Decision]:
    """One request against a bucket (None: a caller not seen lately, whose bucket is full).

    `rate` is tokens a second, `capacity` the burst. Returns the bucket as it is after the request.
    """
    if bucket is None:
        tokens = float(capacity)
    else:
        tokens = min(float(capacity), bucket.tokens + max(0.0, now - bucket.updated) * rate)
    if tokens >= 1 - _EPSILON:
        tokens = max(0.0, tokens - 1)
        return Bucket(tokens, now), Decision(allowed=True, remaining=int(tokens + _EPSILON))
    wait = max(1, math.ceil((1 - tokens) / rate - _EPSILON))
    return Bucket(tokens, now), Decision(allowed=False, remaining=0, retry_after=wait)


class Limiter(Protocol):
    """Where the buckets live."""

    limit: int
    rate: float

    async def take(self, identity: str) -> Decision: ...

    async def aclose(self) -> None: ...


class MemoryLimiter:
    """Buckets in this process: each worker has its own (N workers allow N times the rate)."""

    def __init__(self, *, per_minute: int, burst: int, max_callers: int = 100_000) -> None:
        self.limit = burst
        self.rate = per_minute / 60
        self.max_callers = max_callers
        self._buckets: dict[str, Bucket] = {}

    async def take(self, identity: str, now: float | None = None) -> Decision:
        now = time.monotonic() if now is None else now
        bucket, decision = take(self._buckets.pop(identity, None), now, rate=self.rate, capacity=self.limit)
        self._buckets[identity] = bucket  # re-inserted: the dict's order is least recently seen first
        if len(self._buckets) > self.max_callers:
            self._forget_refilled(now)
        return decision

    def _forget_refilled(self, now: float) -> None:
        # A bucket full again is as good as none. If too many callers are still not full (a flood of
        # made-up keys), the least recently seen go first: a forgotten caller is never let in less.
        refill_seconds = self.limit / self.rate
        for identity in [i for i, b in self._buckets.items() if now - b.updated >= refill_seconds]:
            del self._buckets[identity]
        for identity in list(self._buckets)[: max(0, len(self._buckets) - self.max_callers // 2)]:
            del self._buckets[identity]

    async def aclose(self) -> None:
        self._buckets.clear()


# The same arithmetic as `take`, atomic in Redis, on Redis' clock (the workers' clocks may differ).
_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local epsilon = 1e-9
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
if tokens == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - tonumber(state[2])) * rate)
end
local allowed = 0
local retry_after = 0
if tokens >= 1 - epsilon then
  tokens = math.max(0, tokens - 1)
  allowed = 1
else
  retry_after = math.max(1, math.ceil((1 - tokens) / rate - epsilon))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, math.floor(tokens + epsilon), retry_after}
"""


class RedisLimiter:
    """Buckets in Redis, taken from atomically by a Lua script: every worker shares one budget.

    Redis unreachable: requests go on (fail open) and a warning is logged, at most every 30 s;
    Redis is tried again after 5 s.
    """

    RETRY_SECONDS = 5.0
    WARN_EVERY_SECONDS = 30.0

    def __init__(
        self, url: str, *, per_minute: int, burst: int, prefix: str = "studentgroups:ratelimit:"
    ) -> None:
        self.limit = burst
        self.rate = per_minute / 60
        self.prefix = prefix
        # Imported here: a quarter of a second of start-up that a service without Redis never needs.
        from redis.asyncio import Redis  # noqa: PLC0415
        from redis.exceptions import RedisError  # noqa: PLC0415

        self._errors = (RedisError, OSError)
        self._redis: Redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_TAKE_SCRIPT)
        self._down_until = 0.0
        self._warned_at = -math.inf

    async def take(self, identity: str) -> Decision:
        now = time.monotonic()
        if now < self._down_until:
            return Decision(allowed=True, remaining=-1)
        try:
            allowed, remaining, retry_after = await self._script(
                keys=[self.prefix + identity], args=[repr(self.rate), self.limit]
            )
        except self._errors as error:
            self._down_until = now + self.RETRY_SECONDS
            if now - self._warned_at >= self.WARN_EVERY_SECONDS:
                self._warned_at = now
                logger.warning("rate limit store unreachable, requests not limited: %s", error)
            return Decision(allowed=True, remaining=-1)
        return Decision(allowed=bool(allowed), remaining=int(remaining), retry_after=int(retry_after))

    async def aclose(self) -> None:
        await self._redis.aclose()


def caller_identity(scope: Scope) -> str:
    """Whom a request counts against: a digest of its API key, else its client's address.

    The key is read from the same headers as authentication reads it; it is hashed with a
    digest of its own, so the store never holds a key nor the hash the database holds.
    """
    authorization = subscription_key = x_api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"ocp-apim-subscription-key":
            subscription_key = value.decode("latin-1")
        elif name == b"x-api-key":
            x_api_key = value.decode("latin-1")
    key = key_from_headers(authorization, subscription_key, x_api_key)
    if key:
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16, person=b"sg-ratelimit")
        return "key:" + digest.hexdigest()
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    """429 with `Retry-After` once a caller's bucket is empty; `RateLimit-*` headers on every answer.

    The probes and the metrics (/healthz, /readyz, /metrics) are never limited.
    """

    def __init__(self, app: ASGIApp, *, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter
        self.limit_header = (b"ratelimit-limit", str(limiter.limit).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        decision = await self.limiter.take(caller_identity(scope))
        if not decision.allowed:
            response = error_response(
                Request(scope),
                429,
                "Too Many Requests",
                "too-many-requests",
                f"Too many requests from this caller (at most {self.limiter.limit} at once, then "
                f"{round(self.limiter.rate * 60)} a minute); retry in {decision.retry_after} s.",
                headers={
                    "Retry-After": str(decision.retry_after),
                    "RateLimit-Limit": str(self.limiter.limit),
                    "RateLimit-Remaining": "0",
                },
            )
            await response(scope, receive, send)
            return
        if decision.remaining < 0:  # not known (the store is unreachable)
            await self.app(scope, receive, send)
            return
        headers = [self.limit_header, (b"ratelimit-remaining", str(decision.remaining).encode())]

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_budget)
