"""FastAPI dependencies, as `Annotated` aliases: the session, the caller and their role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from studentgroups.audit import service as audit
from studentgroups.auth import Principal, authenticate, key_from_headers
from studentgroups.db import has_written
from studentgroups.errors import DATABASE_BUSY, BadRequest, FieldError, ServiceUnavailable
from studentgroups.instances.models import Role

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent.

    A request first waits, on the event loop, for one of as many slots as the pool has
    connections. So no worker thread ever blocks on an empty pool while the requests holding
    the connections wait for a thread, which is the deadlock that sync dependencies invite.
    """
    state = request.app.state
    reads = request.method in _READ_METHODS
    factory = state.read_sessions if reads else state.write_sessions
    async with _database_slot(state):
        session: Session = factory()
        try:
            yield session
        except BaseException:
            await run_in_threadpool(_rollback_and_close, session)
            raise
        # A read-only session writes nothing, so a read has no audit event to describe.
        await run_in_threadpool(_commit_and_close, session, None if reads else _write_of(request))


@asynccontextmanager
async def _database_slot(state: Any) -> AsyncIterator[None]:
    """A slot, waited for no longer than the pool's timeout: when the database stops answering,
    a 503 rather than a queue that grows for as long as it does not."""
    try:
        with anyio.fail_after(state.settings.db_pool_timeout_seconds):
            await state.database_slots.acquire()
    except TimeoutError:
        raise ServiceUnavailable(DATABASE_BUSY) from None
    try:
        yield
    finally:
        state.database_slots.release()


def _write_of(request: Request) -> audit.Write | None:
    """The audit log's account of this request, should it write: who called, and what."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return None
    endpoint = request.scope.get("endpoint")
    query = request.url.query
    return audit.Write(
        instance_id=principal.instance_id,
        actor=principal.user_name,
        method=request.method,
        path=f"{request.url.path}?{query}" if query else request.url.path,
        operation=getattr(endpoint, "__name__", ""),
        user_id=principal.user_id,
        key_id=principal.key_id,
        request_id=getattr(request.state, "request_id", None),
    )


def _commit_and_close(session: Session, write: audit.Write | None) -> None:
    try:
        if write is not None and has_written(session):
            audit.record(session, write)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# Declared for the OpenAPI document; `current_principal` reads the headers itself.
_domoscio_token = APIKeyHeader(
    name="Authorization",
    scheme_name="DomoscioToken",
    auto_error=False,
    description="Domoscio form: `Authorization: Token token=<key>`.",
)
_bearer = HTTPBearer(scheme_name="Bearer", auto_error=False, description="`Authorization: Bearer <key>`.")
_subscription_key = APIKeyHeader(
    name="Ocp-Apim-Subscription-Key",
    scheme_name="SubscriptionKey",
    auto_error=False,
    description="LumiNUS form: `Ocp-Apim-Subscription-Key: <key>`.",
)
_x_api_key = APIKeyHeader(
    name="X-API-Key", scheme_name="ApiKey", auto_error=False, description="`X-API-Key: <key>`."
)


def current_principal(
    request: Request,
    session: SessionDep,
    _token: Annotated[str | None, Depends(_domoscio_token)],
    _bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    subscription_key: Annotated[str | None, Depends(_subscription_key)],
    x_api_key: Annotated[str | None, Depends(_x_api_key)],
) -> Principal:
    """The caller, from any of the four accepted key headers."""
    key = key_from_headers(request.headers.get("authorization"), subscription_key, x_api_key)
    principal = authenticate(session, key)
    request.state.principal = principal  # who the audit log names, should the request write
    return principal


async def _writer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    principal.require(Role.STAFF)
    return principal


async def _admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    principal.require(Role.ADMIN)
    return principal


Reader = Annotated[Principal, Depends(current_principal)]
Writer = Annotated[Principal, Depends(_writer)]
Admin = Annotated[Principal, Depends(_admin)]


async def refuse_nul_in_query(request: Request) -> None:
    """No text can hold NUL: PostgreSQL cannot even compare with it. Refused for every query
    parameter at once, with the parameter named, before any route reads it.

    Async, as every dependency that does no I/O must be: a sync one waits for a worker thread,
    and those are as many as the pool's connections.
    """
    bad = [
        FieldError(field=name, rule="no_nul", message="must not contain NUL (%00)", location="query")
        for name, value in request.query_params.multi_items()
        if "\x00" in value
    ]
    if bad:
        raise BadRequest(f"Invalid input: {', '.join(e.field for e in bad)}.", errors=bad)
