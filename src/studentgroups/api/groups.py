"""HTTP for /student_groups and their members: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from studentgroups.api.student_lists import streamed_students
from studentgroups.auth import Principal
from studentgroups.dependencies import LearnerWriter, Reader, SessionDep, Writer
from studentgroups.enrolment import service as enrolment
from studentgroups.groups import access, service
from studentgroups.groups.schemas import GroupCreate, GroupOut, GroupUpdate, MembersAdd
from studentgroups.modules import service as modules
from studentgroups.pagination import PageDep, set_page_headers
from studentgroups.problems import error_responses
from studentgroups.responses import json_rows
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.students import service as students
from studentgroups.students.schemas import StudentOut, students_out
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group

router = APIRouter(prefix="/student_groups", tags=["Student groups"], route_class=JsonBodyRoute)
GroupId = Annotated[int, id_path("student group")]
StudentId = Annotated[int, id_path("student")]


@router.post("", response_model=GroupOut, responses=error_responses(400, 401, 403, 404, 411, 415))
def create_student_group(body: GroupCreate, session: SessionDep, principal: Writer) -> Group:
    """Create a student group in the caller's instance."""
    return service.create_group(
        session,
        instance_id=principal.instance_id,
        name=body.name,
        student_cluster_id=body.student_cluster_id,
        creator_id=principal.user_id,
    )


@router.get("", response_model=list[GroupOut], responses=error_responses(400, 401))
def list_student_groups(request: Request, page: PageDep, session: SessionDep, principal: Reader) -> Response:
    """All the instance's student groups the caller may see (pages with `limit` and `offset`).

    A module's groups are listed as their `groupAccess` allows (see the LumiNUS group model).
    """
    groups, total = service.list_groups(
        session, instance_id=principal.instance_id, page=page, condition=access.visible(principal)
    )
    listed = json_rows(groups)
    set_page_headers(request, listed, page, total)
    return listed


@router.get("/{student_group_id}", response_model=GroupOut, responses=error_responses(400, 401, 403, 404))
def get_student_group(student_group_id: GroupId, session: SessionDep, principal: Reader) -> Group:
    """One student group."""
    return access.viewable_group(session, principal, student_group_id)


@router.put(
    "/{student_group_id}",
    response_model=GroupOut,
    responses=error_responses(400, 401, 403, 404, 411, 415),
)
def update_student_group(
    student_group_id: GroupId, body: GroupUpdate, session: SessionDep, principal: Writer
) -> Group:
    """Change the fields sent, and only those; `student_cluster_id: null` takes it out of its cluster."""
    access.manageable_group(session, principal, student_group_id, membership=False)
    return service.update_group(
        session,
        instance_id=principal.instance_id,
        group_id=student_group_id,
        changes=body.model_dump(exclude_unset=True),
    )


@router.delete(
    "/{student_group_id}",
    response_model=GroupOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
def delete_student_group(
    student_group_id: GroupId,
    session: SessionDep,
    principal: Writer,
    force: Annotated[
        bool,
        Query(
            description="Remove the group's memberships (the students are kept) instead of refusing with 409."
        ),
    ] = False,
) -> Group:
    """Delete a student group; refused (409) while it has students, unless `force=true`, or sub-groups.

    A module's roster and guest group go only with their module.
    """
    access.manageable_group(session, principal, student_group_id, membership=False)
    return service.delete_group(
        session, instance_id=principal.instance_id, group_id=student_group_id, force=force
    )


@router.get(
    "/{student_group_id}/students",
    response_model=list[StudentOut],
    responses=error_responses(400, 401, 403, 404),
)
def list_group_students(
    student_group_id: GroupId,
    request: Request,
    page: PageDep,
    session: SessionDep,
    principal: Reader,
) -> Response:
    """The group's students (pages with `limit` and `offset`)."""
    access.viewable_group(session, principal, student_group_id)
    stmt, total = students.wire_rows(
        session, instance_id=principal.instance_id, page=page, group_id=student_group_id
    )
    return streamed_students(request, page, stmt, total, principal)


def _add_members(session: Session, principal: Principal, group: Group, student_ids: list[int]) -> None:
    """A module's roster or guest group takes students as the module's roster calls do: late
    enrollees are placed where a policy asks for it. A learner names only students of the module."""
    access.require_nameable(session, principal, group, student_ids)
    if group.module_id is not None and group.group_type in (GroupType.STUDENT_ROSTER, GroupType.GUEST_GROUP):
        module = modules.get_module(session, instance_id=group.instance_id, module_id=group.module_id).module
        modules.add_to_roster_group(
            session,
            module=module,
            group_id=group.id,
            guests=group.group_type == GroupType.GUEST_GROUP,
            student_ids=student_ids,
        )
        return
    if group.module_id is not None:
        enrolment.add_by_manager(session, group, student_ids)
        return
    service.add_members(session, instance_id=group.instance_id, group_id=group.id, student_ids=student_ids)


@router.post(
    "/{student_group_id}/students",
    response_model=list[StudentOut],
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def add_group_students(
    student_group_id: GroupId, body: MembersAdd, session: SessionDep, principal: LearnerWriter
) -> list[StudentOut]:
    """Put students in the group, all or none; answers with the students named, now members.

    409 when one of them is already in another root group: move them with `student_group_id`.
    """
    group = access.manageable_group(session, principal, student_group_id, membership=True)
    _add_members(session, principal, group, body.student_ids)
    views = students.students_by_id(session, instance_id=principal.instance_id, ids=body.student_ids)
    return students_out(views, principal)


@router.put(
    "/{student_group_id}/students/{student_id}",
    response_model=StudentOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
def add_group_student(
    student_group_id: GroupId, student_id: StudentId, session: SessionDep, principal: LearnerWriter
) -> StudentOut:
    """Put one student in the group (nothing changes if they are in it already)."""
    group = access.manageable_group(session, principal, student_group_id, membership=True)
    _add_members(session, principal, group, [student_id])
    return students_out(
        [students.get_student(session, instance_id=principal.instance_id, student_id=student_id)], principal
    )[0]


@router.delete(
    "/{student_group_id}/students/{student_id}",
    response_model=StudentOut,
    responses=error_responses(400, 401, 403, 404),
)
def remove_group_student(
    student_group_id: GroupId, student_id: StudentId, session: SessionDep, principal: LearnerWriter
) -> StudentOut:
    """Take a student out of the group (the student is kept); the seat freed goes to the first
    in the group's waiting list, if it has one."""
    group = access.manageable_group(session, principal, student_group_id, membership=True)
    enrolment.remove_by_manager(session, group, student_id)
    return students_out(
        [students.get_student(session, instance_id=principal.instance_id, student_id=student_id)], principal
    )[0]
