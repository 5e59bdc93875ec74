"""The operator's endpoints: liveness, readiness, metrics. None needs an API key."""

from __future__ import annotations

import hmac
import logging

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.migrations import schema_state
from studentgroups.problems import error_response

logger = logging.getLogger("studentgroups.operations")

router = APIRouter(tags=["Operations"])
metrics_router = APIRouter(tags=["Operations"])

READINESS_RETRY_AFTER_SECONDS = 5


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. Needs no key and no database."""
    return {"status": "ok"}


class SchemaBehind(Exception):
    """The database answers, but its schema is older than this version of the service needs."""


def _select_one(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))
        if not schema_state(session.connection()).up_to_date:
            raise SchemaBehind


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """Readiness: the database answers `SELECT 1` in time and its schema is this version's (200),
    or not (503 with `Retry-After`).

    The query runs in a worker thread of its own (one at a time), so a database that hangs holds
    neither the event loop nor a thread that requests need.
    """
    state = request.app.state
    if getattr(state, "readiness_limiter", None) is None:
        state.readiness_limiter = anyio.CapacityLimiter(1)
    try:
        with anyio.fail_after(state.settings.readiness_timeout_seconds):
            await anyio.to_thread.run_sync(
                _select_one, state.read_sessions, limiter=state.readiness_limiter, abandon_on_cancel=True
            )
    except SchemaBehind:
        logger.warning("not ready: the database's schema is behind; run studentgroups migrate")
        return error_response(
            request,
            503,
            "Service Unavailable",
            "unavailable",
            "Not ready: the database's schema is behind this version; run `studentgroups migrate`.",
            headers={"Retry-After": str(READINESS_RETRY_AFTER_SECONDS)},
        )
    except Exception as error:  # whatever keeps the database from answering: not ready
        reason = "no answer in time" if isinstance(error, TimeoutError) else type(error).__name__
        logger.warning("not ready: the database did not answer SELECT 1 (%s)", reason)
        return error_response(
            request,
            503,
            "Service Unavailable",
            "unavailable",
            "Not ready: the database does not answer.",
            headers={"Retry-After": str(READINESS_RETRY_AFTER_SECONDS)},
        )
    return JSONResponse({"status": "ready"})


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics, in its text format; `Authorization: Bearer <metrics_token>` when one is set."""
    state = request.app.state
    token = state.settings.metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            return error_response(
                request,
                401,
                "Unauthorized",
                "unauthorized",
                "The metrics need the metrics token: Authorization: Bearer <token>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    body = await anyio.to_thread.run_sync(state.operations.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
