"""HTTP for /audit_events (admins only): the instance's committed writes, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from studentgroups.audit import service
from studentgroups.audit.schemas import AuditEventOut, event_out
from studentgroups.db import MAX_ID
from studentgroups.dependencies import Admin, SessionDep
from studentgroups.pagination import PageDep, set_page_headers
from studentgroups.problems import error_responses
from studentgroups.results.schemas import WireTime

router = APIRouter(prefix="/audit_events", tags=["Audit"])


@router.get("", response_model=list[AuditEventOut], responses=error_responses(400, 401, 403))
def list_audit_events(
    request: Request,
    response: Response,
    page: PageDep,
    session: SessionDep,
    principal: Admin,
    since: Annotated[
        WireTime | None, Query(alias="from", description="Only writes made at or after this time (UTC).")
    ] = None,
    until: Annotated[
        WireTime | None, Query(alias="to", description="Only writes made before this time (UTC).")
    ] = None,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this user's writes.")] = None,
    api_key_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only writes made with this key.")
    ] = None,
    operation: Annotated[
        str | None, Query(max_length=128, description="Only this operation, e.g. `create_student_group`.")
    ] = None,
    method: Annotated[
        str | None, Query(max_length=16, description="Only this HTTP method (or `CLI`).")
    ] = None,
) -> list[AuditEventOut]:
    """Every committed write of the instance, newest first: who, what and when.

    A write and its event are committed together; refused and failed requests wrote nothing and
    have none. Pages with `limit` and `offset`.
    """
    events, total = service.list_events(
        session,
        instance_id=principal.instance_id,
        where=service.EventFilter(
            since=since,
            until=until,
            user_id=user_id,
            key_id=api_key_id,
            operation=operation,
            method=method,
        ),
        page=page,
    )
    set_page_headers(request, response, page, total)
    return [event_out(e) for e in events]
