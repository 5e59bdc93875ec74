"""HTTP for the exports: a grouping (the groups under a parent and their members), as JSON or
CSV, and a module's roster or guests as CSV.

CSV when the path ends in `.csv` or the request's `Accept` prefers `text/csv`; a grouping's
`layout` chooses its columns (`exports.service`). Streamed as read: 100,000 members in flat memory.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from studentgroups.dependencies import Reader, SessionDep
from studentgroups.exports.service import (
    GROUPING_LAYOUTS,
    Layout,
    attribute_keys,
    grouping_statement,
    roster_layout,
    roster_statement,
)
from studentgroups.groups import access
from studentgroups.modules import service as modules
from studentgroups.modules.schemas import RosterKind
from studentgroups.problems import error_responses
from studentgroups.responses import CSV_RESPONSE, wants_csv
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.siblings import Siblings
from studentgroups.streaming import stream_csv, stream_json_array

router = APIRouter(prefix="/student_groups", tags=["Exports"], route_class=JsonBodyRoute)
module_router = APIRouter(prefix="/modules", tags=["Exports"], route_class=JsonBodyRoute)
"""Before the modules' own router: `/modules/{id}/{kind}` would take `roster.csv` for a kind."""
GroupId = Annotated[int, id_path("student group")]
ModuleId = Annotated[int, id_path("module")]
LayoutQuery = Annotated[
    Layout,
    Query(
        description="The CSV's columns: `own` (group_id, group, student_id, uid, name; what the "
        "grouping import reads back), `canvas` (name, user_id, group_name: Canvas's group category "
        "import), `moodle` (username, course1, group1: Moodle's user upload). JSON is always ours."
    ),
]


class GroupingRow(BaseModel):
    """One membership of a grouping: the group, and its member."""

    group_id: int = Field(description="The group's id.")
    group: str = Field(description="The group's name.")
    student_id: int = Field(description="The student's id.")
    uid: str = Field(description="The platform's own id for the student.")
    name: str | None = Field(description="The student's name.")


@router.get(
    "/{student_group_id}/grouping",
    response_model=list[GroupingRow],
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
@router.get(
    "/{student_group_id}/grouping.csv",
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
def export_grouping(
    student_group_id: GroupId,
    request: Request,
    session: SessionDep,
    principal: Reader,
    layout: LayoutQuery = "own",
) -> StreamingResponse:
    """The group's sub-groups and their members, one row per membership, by group name and uid:
    JSON, or CSV at `grouping.csv` or when `Accept` prefers `text/csv` (staff who manage the
    group, as to form it)."""
    parent = access.manageable_group(session, principal, student_group_id, membership=False)
    stmt = grouping_statement(session, Siblings(None, parent))
    if wants_csv(request):
        chosen = GROUPING_LAYOUTS[layout]
        name = f"grouping-{parent.id}-{layout}.csv"
        return stream_csv(request, stmt, chosen.header, chosen.cells, name)
    return stream_json_array(
        request, stmt, lambda row: {k: row[k] for k in GroupingRow.model_fields}, whole_joins=True
    )


def roster_csv(
    request: Request, module_id: int, kind: RosterKind, session: SessionDep, principal: Reader
) -> StreamingResponse:
    """A module's roster or guests as CSV, for its managers (`GET /modules/{id}/{kind}` with
    `Accept: text/csv` answers the same)."""
    view = modules.get_managed_module(session, principal, module_id)
    group_id = modules.roster_group_id(view, kind)
    layout = roster_layout(attribute_keys(session, instance_id=principal.instance_id, group_id=group_id))
    stmt = roster_statement(instance_id=principal.instance_id, group_id=group_id)
    name = f"{view.module.code}-{kind}.csv"
    return stream_csv(request, stmt, layout.header, layout.cells, name)


@module_router.get(
    "/{module_id}/{kind}.csv",
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403, 404)},
)
def export_roster_csv(
    module_id: ModuleId, kind: RosterKind, request: Request, session: SessionDep, principal: Reader
) -> StreamingResponse:
    """The module's roster or guests as CSV, by uid: the profile's columns (uid, name, sexe,
    date_of_birth, country_of_residence, city_of_residence), then one column per attribute any of
    them holds. `studentgroups roster import` reads it back (module managers only)."""
    return roster_csv(request, module_id, kind, session, principal)
