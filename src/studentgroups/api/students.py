"""HTTP for /students: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from studentgroups import permissions
from studentgroups.api.student_lists import streamed_students
from studentgroups.dependencies import Admin, Reader, SessionDep, Writer, audited_read
from studentgroups.pagination import PageDep
from studentgroups.privacy import erasure, export
from studentgroups.privacy.schemas import StudentExport
from studentgroups.problems import error_responses
from studentgroups.redaction import recorded_path
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.students import service
from studentgroups.students.schemas import (
    StudentBatch,
    StudentCreate,
    StudentOut,
    StudentUpdate,
    student_out,
    students_out,
)

router = APIRouter(prefix="/students", tags=["Students"], route_class=JsonBodyRoute)
StudentId = Annotated[int, id_path("student")]


@router.post(
    "",
    response_model=StudentOut | list[StudentOut],
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def create_student(
    body: StudentCreate | StudentBatch, session: SessionDep, principal: Writer
) -> StudentOut | list[StudentOut]:
    """Create a student; `uid` is the platform's own id and must be unique in the instance.

    Our extension: an array of up to 10,000 students creates them all or none, and answers them
    in the same order. A problem names the student by its place in the array: `3.uid` (a uid
    given twice, or taken: 409), `0.student_group_id`, `2.attributes`."""
    if isinstance(body, list):
        views = service.create_students(
            session,
            instance_id=principal.instance_id,
            students=[s.model_dump(exclude={"student_group_id"}) for s in body],
            student_group_ids=[s.student_group_id for s in body],
        )
        return [student_out(view) for view in views]
    fields = body.model_dump(exclude={"student_group_id"})
    view = service.create_student(
        session,
        instance_id=principal.instance_id,
        fields=fields,
        student_group_id=body.student_group_id,
    )
    return student_out(view)


@router.get("", response_model=list[StudentOut], responses=error_responses(400, 401))
def list_students(request: Request, page: PageDep, session: SessionDep, principal: Reader) -> Response:
    """The instance's students (pages with `limit` and `offset`); to a learner's key, its own record.

    Read-only keys read no civil profile (`name`, `sexe`, `date_of_birth`, `country_of_residence`,
    `city_of_residence` are null). The array is streamed as it is read: 100,000 students in
    about a second (`bench/list_students.py`)."""
    stmt, total = service.wire_rows(
        session,
        instance_id=principal.instance_id,
        page=page,
        condition=permissions.students_readable(principal),
    )
    return streamed_students(request, page, stmt, total, principal)


@router.get("/{student_id}", response_model=StudentOut, responses=error_responses(400, 401, 404))
def get_student(student_id: StudentId, session: SessionDep, principal: Reader) -> StudentOut:
    """One student. To a learner's key, another student's record is 404, as a missing one is."""
    view = service.get_student(
        session,
        instance_id=principal.instance_id,
        student_id=student_id,
        condition=permissions.students_readable(principal),
    )
    return students_out([view], principal)[0]


@router.put(
    "/{student_id}",
    response_model=StudentOut,
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def update_student(
    student_id: StudentId, body: StudentUpdate, session: SessionDep, principal: Writer
) -> StudentOut:
    """Change the fields sent, and only those. A student on a module's roster or guests changes
    only by an admin key or a key that manages every module they are on."""
    view = service.update_student(
        session,
        principal,
        student_id=student_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return student_out(view)


@router.delete("/{student_id}", response_model=StudentOut, responses=error_responses(400, 401, 403, 404))
def delete_student(
    student_id: StudentId,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
    erase: Annotated[
        bool,
        Query(
            description="Erase (admin keys only): also remove their results, queue places and learner's "
            "keys, and leave only a pseudonym for them in the formation history and the audit log."
        ),
    ] = False,
) -> StudentOut:
    """Delete a student, their memberships, results, queue places and learner's keys. A student on
    a module's roster or guests goes only by an admin key or a key that manages every module they
    are on. With `erase=true` (admin keys only) the student is erased: `X-Erasure-Pseudonym` names
    what the history and the audit log keep instead of them."""
    if not erase:
        return student_out(service.delete_student(session, principal, student_id=student_id))
    permissions.require_admin(principal)
    erased = erasure.erase_student(session, instance_id=principal.instance_id, student_id=student_id)
    # The erasure's own audit event names the pseudonym, never the student.
    request.state.audit_path = erased.pseudonymise(recorded_path(request.url.path, request.url.query))
    response.headers["X-Erasure-Pseudonym"] = erased.pseudonym
    return student_out(erased.view)


@router.get(
    "/{student_id}/export",
    response_model=StudentExport,
    responses=error_responses(400, 401, 403, 404),
)
@audited_read
def export_student(student_id: StudentId, session: SessionDep, principal: Admin) -> StudentExport:
    """Everything held about one student, as one document (admin keys only): their record,
    memberships, results, self-enrolment queue places, learner's keys, the formations whose
    history names them, and the audit events that name them. Each export is in the audit log."""
    return export.export_student(session, instance_id=principal.instance_id, student_id=student_id)
