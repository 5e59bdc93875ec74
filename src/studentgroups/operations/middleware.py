"""Pure ASGI middleware around every request: its id, its metrics and access line, the last-resort 500.

Pure ASGI (a class with `__call__(scope, receive, send)`), not BaseHTTPMiddleware: no task or
stream per request, which the benchmarks would see.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Mapping
from time import perf_counter
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studentgroups.operations.context import new_request_id, request_id_var, sanitise_request_id
from studentgroups.operations.logs import access_logger
from studentgroups.operations.metrics import HttpMetrics

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"
CLIENT_CLOSED = 499  # nginx's status for a request whose client left before the answer


class RequestIdMiddleware:
    """Every request gets an id: the caller's `X-Request-ID` when sane, else a fresh one.

    The id goes back in the answer's `X-Request-ID`, into `request.state.request_id`, and into
    a context variable that every log line of the request reads.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = sanitise_request_id(value)
                break
        if request_id is None:
            request_id = new_request_id()
        # Not reset afterwards: the error handler outside the middleware still logs with it, and
        # each request runs in a task of its own, so it never leaks into the next one.
        request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


class RouteTemplates:
    """The template of the route a request went to (`/v1/instances/{instance_id}/students`), never
    its raw path, whose ids would give the metrics a series per id.

    FastAPI puts the route in the scope, but a route included twice (at the root and under
    /v1/instances/{instance_id}) is one object: its prefixes come from this table, made from the
    app's routes on first use (and again if a route was added since). A request answered before
    routing (413, 429, a body too deep, 404) is matched against every template, after the fact.
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self._by_route: dict[int, list[tuple[re.Pattern[str], str]]] = {}  # by id(): routes are unhashable
        self._every: list[tuple[re.Pattern[str], str]] = []

    def _build(self) -> None:
        by_route: dict[int, list[tuple[re.Pattern[str], str]]] = {}
        every: list[tuple[re.Pattern[str], str]] = []
        for context in iter_route_contexts(self.router.routes):
            template = context.path
            regex = getattr(context, "path_regex", None)
            if not isinstance(template, str) or not isinstance(regex, re.Pattern):
                continue
            by_route.setdefault(id(context.original_route), []).append((regex, template))
            every.append((regex, template))
        self._by_route, self._every = by_route, every

    def template(self, scope: Scope) -> str:
        """The request's route template, or `unmatched`."""
        route = scope.get("route")
        if (route is None and not self._every) or (route is not None and id(route) not in self._by_route):
            self._build()
            if route is not None:
                self._by_route.setdefault(id(route), [])  # not among the app's routes: not looked for again
        candidates = self._every if route is None else self._by_route[id(route)]
        if route is not None and len(candidates) == 1:
            return candidates[0][1]
        path: str = scope["path"]
        for regex, template in candidates:
            if regex.match(path):
                return template
        own_path = getattr(route, "path", None)
        return own_path if isinstance(own_path, str) else UNMATCHED


class AccessMiddleware:
    """Counts and times each request (Prometheus) and writes its access line.

    The line has the method, path, route template, status, duration, the caller's instance and key
    ids once authenticated, and the client's address: never a header, so never a key.
    """

    def __init__(
        self, app: ASGIApp, *, router: Router, metrics: HttpMetrics | None, access_log: bool
    ) -> None:
        self.app = app
        self.routes = RouteTemplates(router)
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = CLIENT_CLOSED
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            seconds = perf_counter() - started
            route = self.routes.template(scope)
            if self.metrics is not None:
                self.metrics.in_flight.dec()
                self.metrics.observe(scope["method"], route, status, seconds)
            if self.access_log:
                _log_access(scope, route, status, seconds)

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()  # before the last of the answer leaves: whoever reads it can see the numbers
            await send(message)

        if self.metrics is not None:
            self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_observed)
        finally:
            if not recorded:  # no complete answer: an error, or the client left
                record()


def _log_access(scope: Scope, route: str, status: int, seconds: float) -> None:
    path: str = scope["path"]
    level = logging.DEBUG if path in PROBE_PATHS else logging.INFO  # probes every few seconds: quiet
    if not access_logger.isEnabledFor(level):
        return
    principal = scope.get("state", {}).get("principal")
    client = scope.get("client")
    access_logger.log(
        level,
        "%s %s %d",
        scope["method"],
        path,
        status,
        extra={
            "method": scope["method"],
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "instance_id": getattr(principal, "instance_id", None),
            "key_id": getattr(principal, "key_id", None),
            "client": client[0] if client else None,
        },
    )


class UnexpectedErrorMiddleware:
    """Innermost: an exception no handler took becomes the app's 500 answer here.

    Starlette answers those in its outermost layer, outside every middleware of ours: the 500
    would then lack the request id and the security headers, and go uncounted. The handler is
    the app's own (`errors._unexpected_error`), which logs the traceback with the request id.
    """

    def __init__(self, app: ASGIApp, *, handlers: Mapping[Any, Any]) -> None:
        self.app = app
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def send_tracked(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            handler = self.handlers.get(Exception) or self.handlers.get(500)
            if response_started or handler is None:
                raise
            response = handler(Request(scope, receive), exc)
            if inspect.isawaitable(response):
                response = await response
            await response(scope, receive, send)
