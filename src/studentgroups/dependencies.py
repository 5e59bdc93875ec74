"""FastAPI dependencies, as `Annotated` aliases: the session, the caller and their role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from studentgroups import permissions
from studentgroups.audit import service as audit
from studentgroups.auth import Principal, authenticate, key_from_headers
from studentgroups.db import has_written, mark_written
from studentgroups.errors import DATABASE_BUSY, BadRequest, FieldError, ServiceUnavailable
from studentgroups.redaction import recorded_path
from studentgroups.slots import Slots, Stalled

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent.

    A request first waits, on the event loop, for one of as many slots as the pool has
    connections. So no worker thread ever blocks on an empty pool while the requests holding
    the connections wait for a thread, which is the deadlock that sync dependencies invite.
    A read gets a read-only session, which never writes, unless its route is `audited_read`.
    """
    recorded = getattr(request.scope.get("endpoint"), AUDITED_READ, False)
    writes = recorded or request.method not in _READ_METHODS
    async with _unit_of_work(request, writes=writes, always_recorded=recorded) as session:
        yield session


AUDITED_READ = "studentgroups_audited_read"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def audited_read(endpoint: Endpoint) -> Endpoint:
    """Mark a route that reads as one the audit log records all the same (who exported whose data)."""
    setattr(endpoint, AUDITED_READ, True)
    return endpoint


@asynccontextmanager
async def _unit_of_work(request: Request, *, writes: bool, always_recorded: bool) -> AsyncIterator[Session]:
    state = request.app.state
    factory = state.write_sessions if writes else state.read_sessions
    async with database_slot(state, writes=writes):
        session: Session = factory()
        try:
            yield session
        except BaseException:
            await run_in_threadpool(_rollback_and_close, session)
            raise
        if always_recorded:
            mark_written(session)
        # A read-only session writes nothing, so a read has no audit event to describe.
        await run_in_threadpool(_commit_and_close, session, _write_of(request) if writes else None)


@asynccontextmanager
async def database_slot(state: Any, *, writes: bool = False) -> AsyncIterator[None]:
    """A place in the queue for the database (`slots`), and on SQLite, for a writer, the one
    writer's place first: the service serialises its own writers, so that none waits out
    SQLite's busy timeout on another. A 503 only when the queue stops moving."""
    queues: list[Slots] = [state.database_slots]
    if writes and state.writer_slots is not None:
        queues.insert(0, state.writer_slots)
    taken: list[Slots] = []
    try:
        for slots in queues:
            await slots.acquire()
            taken.append(slots)
    except BaseException as exc:
        for slots in reversed(taken):
            slots.release()
        if isinstance(exc, Stalled):
            raise ServiceUnavailable(DATABASE_BUSY) from None
        raise
    try:
        yield
    finally:
        for slots in reversed(taken):
            slots.release()


def _write_of(request: Request) -> audit.Write | None:
    """The audit log's account of this request, should it write: who called, and what."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return None
    endpoint = request.scope.get("endpoint")
    # A route may record its path otherwise (an erasure names the pseudonym, not the student).
    path = getattr(request.state, "audit_path", None) or recorded_path(request.url.path, request.url.query)
    return audit.Write(
        instance_id=principal.instance_id,
        actor=principal.user_name,
        method=request.method,
        path=path,
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


# The kinds of caller a route admits (`studentgroups.permissions`); the rows it reads or writes
# follow the rules there and in `groups.access`.


async def _platform_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    permissions.require_platform(principal)
    return principal


async def _writer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    permissions.require_platform_writer(principal)
    return principal


async def _learner_writer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    permissions.require_writer(principal)
    return principal


async def _admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    permissions.require_admin(principal)
    return principal


Reader = Annotated[Principal, Depends(current_principal)]
"""Any key, learners' included: the route shows each caller only the rows it may read."""
PlatformReader = Annotated[Principal, Depends(_platform_reader)]
"""Any platform key (a learner's key is refused)."""
Writer = Annotated[Principal, Depends(_writer)]
"""A platform key whose role writes: staff or admin."""
LearnerWriter = Annotated[Principal, Depends(_learner_writer)]
"""A key whose role writes, learners' included: the route lets a learner write only its own part."""
Admin = Annotated[Principal, Depends(_admin)]
"""A platform admin key."""


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
