"""Operations and security of the HTTP pipeline: request ids, logs, metrics, headers, limits, probes.

`install_operations` puts the layers around every route of an app, in this order (outermost first):

1. `RequestIdMiddleware`      X-Request-ID in and out; every log line of the request carries it
2. `AccessMiddleware`         Prometheus counts and latency; the access line (never a header)
3. `SecurityHeadersMiddleware` nosniff, no framing, no referrer, CSP, no-store, HSTS if enabled
4. `CORSMiddleware`           only when origins are configured
5. `RateLimitMiddleware`      only when a rate is configured; before the body is read
6. `BodyLimitMiddleware`      413 past `max_body_bytes`, 400 past `json_max_depth`
7. `UnexpectedErrorMiddleware` an unhandled exception becomes the app's 500 here, inside the rest

and the operator's endpoints: /healthz, /readyz, /metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from studentgroups.operations.bodies import BodyLimitMiddleware
from studentgroups.operations.logs import configure_logging
from studentgroups.operations.metrics import HttpMetrics
from studentgroups.operations.middleware import (
    AccessMiddleware,
    RequestIdMiddleware,
    UnexpectedErrorMiddleware,
)
from studentgroups.operations.ratelimit import Limiter, MemoryLimiter, RateLimitMiddleware, RedisLimiter
from studentgroups.operations.router import metrics_router, router
from studentgroups.operations.security import SecurityHeadersMiddleware, cors_options
from studentgroups.settings import Settings

__all__ = ["Operations", "configure_logging", "install_operations"]


@dataclass
class Operations:
    """What the pipeline of one app holds: its metrics and its rate limiter, if enabled."""

    metrics: HttpMetrics | None
    rate_limiter: Limiter | None

    async def aclose(self) -> None:
        """Let go of what the pipeline holds (the Redis connections)."""
        if self.rate_limiter is not None:
            await self.rate_limiter.aclose()


def rate_limiter(settings: Settings) -> Limiter | None:
    """The configured limiter: none without a rate; in Redis when a URL is given, else in memory."""
    per_minute = settings.rate_limit
    if not per_minute:
        return None
    burst = settings.rate_limit_burst or per_minute
    if settings.rate_limit_redis_url:
        return RedisLimiter(settings.rate_limit_redis_url, per_minute=per_minute, burst=burst)
    return MemoryLimiter(per_minute=per_minute, burst=burst)


def install_operations(app: FastAPI, settings: Settings) -> Operations:
    """The pipeline's layers around every route of `app` (see the module's doc), and its endpoints."""
    operations = Operations(
        metrics=HttpMetrics(app.state.engine) if settings.metrics_enabled else None,
        rate_limiter=rate_limiter(settings),
    )
    app.state.operations = operations
    layers = [Middleware(RequestIdMiddleware)]
    if operations.metrics is not None or settings.access_log:
        layers.append(
            Middleware(
                AccessMiddleware,
                router=app.router,
                metrics=operations.metrics,
                access_log=settings.access_log,
            )
        )
    layers.append(Middleware(SecurityHeadersMiddleware, hsts_max_age_seconds=settings.hsts_max_age_seconds))
    if settings.cors_allowed_origins:
        layers.append(Middleware(CORSMiddleware, **cors_options(settings.cors_allowed_origins)))
    if operations.rate_limiter is not None:
        layers.append(Middleware(RateLimitMiddleware, limiter=operations.rate_limiter))
    layers.append(
        Middleware(
            BodyLimitMiddleware,
            max_body_bytes=settings.max_body_bytes,
            json_max_depth=settings.json_max_depth,
        )
    )
    layers.append(Middleware(UnexpectedErrorMiddleware, handlers=app.exception_handlers))
    app.user_middleware[:0] = layers  # first is outermost

    app.include_router(router)
    if operations.metrics is not None:
        app.include_router(metrics_router)
    return operations
