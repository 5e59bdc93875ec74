"""HTTP for the exports: a grouping (the groups under a parent and their members), as JSON or CSV.

CSV when the path ends in `.csv` or the request's `Accept` prefers `text/csv`; `layout` chooses
its columns (`exports.service`). Streamed as read: 100,000 members in flat memory.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from studentgroups.dependencies import Reader, SessionDep
from studentgroups.exports.service import GROUPING_LAYOUTS, Layout, grouping_statement
from studentgroups.groups import access
from studentgroups.problems import error_responses
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.siblings import Siblings
from studentgroups.streaming import stream_csv, stream_json_array

router = APIRouter(prefix="/student_groups", tags=["Exports"], route_class=JsonBodyRoute)
GroupId = Annotated[int, id_path("student group")]
LayoutQuery = Annotated[
    Layout,
    Query(
        description="The CSV's columns: `own` (group_id, group, student_id, uid, name; what the "
        "grouping import reads back), `canvas` (name, user_id, group_name: Canvas's group category "
        "import), `moodle` (username, course1, group1: Moodle's user upload). JSON is always ours."
    ),
]
CSV = "text/csv"


class GroupingRow(BaseModel):
    """One membership of a grouping: the group, and its member."""

    group_id: int = Field(description="The group's id.")
    group: str = Field(description="The group's name.")
    student_id: int = Field(description="The student's id.")
    uid: str = Field(description="The platform's own id for the student.")
    name: str | None = Field(description="The student's name.")


_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "The rows, as CSV."}
}


def wants_csv(request: Request) -> bool:
    """Whether the request's `Accept` prefers CSV to JSON (the first of the two it names)."""
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (CSV, "application/csv"):
            return True
        if media in ("application/json", "*/*"):
            return False
    return False


def _grouping(
    request: Request, student_group_id: int, session: SessionDep, principal: Reader, layout: Layout, csv: bool
) -> StreamingResponse:
    parent = access.manageable_group(session, principal, student_group_id, membership=False)
    stmt = grouping_statement(session, Siblings(None, parent))
    if csv:
        chosen = GROUPING_LAYOUTS[layout]
        name = f"grouping-{parent.id}-{layout}.csv"
        return stream_csv(request, stmt, chosen.header, chosen.cells, name)
    return stream_json_array(request, stmt, lambda row: {k: row[k] for k in GroupingRow.model_fields})


@router.get(
    "/{student_group_id}/grouping",
    response_model=list[GroupingRow],
    responses={**_CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
def export_grouping(
    student_group_id: GroupId,
    request: Request,
    session: SessionDep,
    principal: Reader,
    layout: LayoutQuery = "own",
) -> StreamingResponse:
    """The group's sub-groups and their members, one row per membership, by group name and uid:
    JSON, or CSV when `Accept` prefers `text/csv` (staff who manage the group, as to form it)."""
    return _grouping(request, student_group_id, session, principal, layout, csv=wants_csv(request))


@router.get(
    "/{student_group_id}/grouping.csv",
    response_class=StreamingResponse,
    responses={**_CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
def export_grouping_csv(
    student_group_id: GroupId,
    request: Request,
    session: SessionDep,
    principal: Reader,
    layout: LayoutQuery = "own",
) -> StreamingResponse:
    """The same grouping as CSV, whatever `Accept` says: a link to download."""
    return _grouping(request, student_group_id, session, principal, layout, csv=True)
