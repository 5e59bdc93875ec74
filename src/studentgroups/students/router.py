"""HTTP for /students: parse, call the service, return a schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Request, Response

from studentgroups.dependencies import Reader, SessionDep, Writer
from studentgroups.errors import error_responses
from studentgroups.pagination import PageDep, set_page_headers
from studentgroups.students import service
from studentgroups.students.schemas import Sexe, StudentCreate, StudentOut, StudentUpdate
from studentgroups.students.service import StudentView
from studentgroups.wire import id_path

router = APIRouter(prefix="/students", tags=["Students"])
StudentId = Annotated[int, id_path("student")]


def student_out(view: StudentView) -> StudentOut:
    """A student and their root group, as the wire shows them."""
    student, root_group_id = view
    return StudentOut(
        id=student.id,
        uid=student.uid,
        uuid=student.uuid,
        student_group_id=root_group_id,
        name=student.name,
        sexe=Sexe(student.sexe) if student.sexe else None,
        date_of_birth=student.date_of_birth,
        country_of_residence=student.country_of_residence,
        city_of_residence=student.city_of_residence,
        attributes=student.attributes,
        instance_id=student.instance_id,
        created_at=student.created_at,
        updated_at=student.updated_at,
    )


def students_out(views: Sequence[StudentView]) -> list[StudentOut]:
    """Several students, as the wire shows them."""
    return [student_out(view) for view in views]


@router.post("", response_model=StudentOut, responses=error_responses(400, 401, 403, 404, 409, 411, 415))
def create_student(body: StudentCreate, session: SessionDep, principal: Writer) -> StudentOut:
    """Create a student; `uid` is the platform's own id and must be unique in the instance."""
    fields = body.model_dump(exclude={"student_group_id"})
    view = service.create_student(
        session,
        instance_id=principal.instance_id,
        fields=fields,
        student_group_id=body.student_group_id,
    )
    return student_out(view)


@router.get("", response_model=list[StudentOut], responses=error_responses(400, 401))
def list_students(
    request: Request, response: Response, page: PageDep, session: SessionDep, principal: Reader
) -> list[StudentOut]:
    """All the instance's students (pages with `limit` and `offset`)."""
    views, total = service.list_students(session, instance_id=principal.instance_id, page=page)
    set_page_headers(request, response, page, total)
    return students_out(views)


@router.get("/{student_id}", response_model=StudentOut, responses=error_responses(400, 401, 404))
def get_student(student_id: StudentId, session: SessionDep, principal: Reader) -> StudentOut:
    """One student."""
    return student_out(service.get_student(session, instance_id=principal.instance_id, student_id=student_id))


@router.put(
    "/{student_id}",
    response_model=StudentOut,
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def update_student(
    student_id: StudentId, body: StudentUpdate, session: SessionDep, principal: Writer
) -> StudentOut:
    """Change the fields sent, and only those."""
    view = service.update_student(
        session,
        instance_id=principal.instance_id,
        student_id=student_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return student_out(view)


@router.delete("/{student_id}", response_model=StudentOut, responses=error_responses(400, 401, 403, 404))
def delete_student(student_id: StudentId, session: SessionDep, principal: Writer) -> StudentOut:
    """Delete a student and their memberships."""
    return student_out(
        service.delete_student(session, instance_id=principal.instance_id, student_id=student_id)
    )
