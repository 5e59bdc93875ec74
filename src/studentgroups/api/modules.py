"""HTTP for /modules, their rosters, guests and staff: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from studentgroups import permissions
from studentgroups.api.exports import roster_csv
from studentgroups.api.formations import saved_out
from studentgroups.api.student_lists import streamed_students
from studentgroups.class_groups import service as class_groups
from studentgroups.dependencies import Reader, SessionDep, Writer
from studentgroups.enrolment import service as enrolment
from studentgroups.errors import NotFound
from studentgroups.formations import service as formations
from studentgroups.formations.schemas import SavedFormationOut
from studentgroups.groups import access
from studentgroups.groups.service import get_group
from studentgroups.instances.service import ensure_platform_user
from studentgroups.modules import service
from studentgroups.modules.schemas import (
    ModuleCreate,
    ModuleGroupCreate,
    ModuleGroupOut,
    ModuleGroupUpdate,
    ModuleOut,
    ModuleUpdate,
    RosterAdded,
    RosterChange,
    RosterKind,
    StaffChange,
    StudentsByIdOrUid,
    StudentsToAdd,
)
from studentgroups.modules.service import ModuleView
from studentgroups.pagination import PageDep, set_page_headers
from studentgroups.problems import error_responses
from studentgroups.responses import wants_csv
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.students import service as students
from studentgroups.students.schemas import StudentOut
from studentgroups.tables.group_types import GroupAccess, GroupType
from studentgroups.tables.groups import Group

router = APIRouter(prefix="/modules", tags=["Modules"], route_class=JsonBodyRoute)
ModuleId = Annotated[int, id_path("module")]
GroupId = Annotated[int, id_path("group")]


def module_out(view: ModuleView) -> ModuleOut:
    """A module as the wire shows it."""
    m = view.module
    return ModuleOut(
        id=m.id,
        uuid=m.uuid,
        code=m.code,
        name=m.name,
        description=m.description,
        roster_group_id=view.roster_group_id,
        guest_group_id=view.guest_group_id,
        instance_id=m.instance_id,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


@router.post("", response_model=ModuleOut, responses=error_responses(400, 401, 403, 409, 411, 415))
def create_module(body: ModuleCreate, session: SessionDep, principal: Writer) -> ModuleOut:
    """Create a module, with its Student Roster and Guest Group; the key's user manages it."""
    view = service.create_module(
        session,
        instance_id=principal.instance_id,
        code=body.code,
        name=body.name,
        description=body.description,
        creator_id=principal.user_id,
    )
    return module_out(view)


@router.get("", response_model=list[ModuleOut], responses=error_responses(400, 401))
def list_modules(
    request: Request, response: Response, page: PageDep, session: SessionDep, principal: Reader
) -> list[ModuleOut]:
    """The instance's modules (pages with `limit` and `offset`); to a learner's key, those whose
    roster or guests hold it."""
    views, total = service.list_modules(
        session,
        instance_id=principal.instance_id,
        page=page,
        readable=permissions.modules_readable(principal),
    )
    set_page_headers(request, response, page, total)
    return [module_out(v) for v in views]


@router.get("/{module_id}", response_model=ModuleOut, responses=error_responses(400, 401, 404))
def get_module(module_id: ModuleId, session: SessionDep, principal: Reader) -> ModuleOut:
    """One module (to a learner's key, one it is on; else 404)."""
    return module_out(service.get_readable_module(session, principal, module_id))


@router.put(
    "/{module_id}", response_model=ModuleOut, responses=error_responses(400, 401, 403, 404, 409, 411, 415)
)
def update_module(
    module_id: ModuleId, body: ModuleUpdate, session: SessionDep, principal: Writer
) -> ModuleOut:
    """Change the fields sent, and only those (module managers only)."""
    service.get_managed_module(session, principal, module_id)
    changes = body.model_dump(exclude_unset=True)
    return module_out(
        service.update_module(
            session, instance_id=principal.instance_id, module_id=module_id, changes=changes
        )
    )


@router.delete("/{module_id}", response_model=ModuleOut, responses=error_responses(400, 401, 403, 404, 409))
def delete_module(
    module_id: ModuleId,
    session: SessionDep,
    principal: Writer,
    force: Annotated[
        bool, Query(description="Also delete memberships of its groups (students are kept).")
    ] = False,
) -> ModuleOut:
    """Delete a module and its groups; refused (409) while they have members, unless `force=true`."""
    service.get_managed_module(session, principal, module_id)
    return module_out(
        service.delete_module(session, instance_id=principal.instance_id, module_id=module_id, force=force)
    )


@router.post(
    "/{module_id}/staff", status_code=204, responses=error_responses(400, 401, 403, 404, 409, 411, 415)
)
def add_module_staff(module_id: ModuleId, body: StaffChange, session: SessionDep, principal: Writer) -> None:
    """Let these users (by name) manage the module's groups (module managers only). A learner's
    user never manages a module (409), and names starting `cli:`, `system:` or `learner:` are the
    service's own (400)."""
    service.get_managed_module(session, principal, module_id)
    ids = [
        ensure_platform_user(session, instance_id=principal.instance_id, name=n, field="users").id
        for n in body.users
    ]
    service.set_staff(session, instance_id=principal.instance_id, module_id=module_id, user_ids=ids, add=True)


@router.post(
    "/{module_id}/groups",
    response_model=ModuleGroupOut,
    responses=error_responses(400, 401, 403, 404, 411, 415),
)
def add_module_group(
    module_id: ModuleId, body: ModuleGroupCreate, session: SessionDep, principal: Writer
) -> ModuleGroupOut:
    """Add a group of any documented type to the module, or a sub-group under one of its class groups
    (module managers only). Class groups are also added by the LumiNUS call."""
    view = service.get_module(session, instance_id=principal.instance_id, module_id=module_id)
    parent_uuid = None
    if body.parent_group_id is not None:
        parent_uuid = get_group(
            session, instance_id=principal.instance_id, group_id=body.parent_group_id, field="parent_group_id"
        ).uuid
    (group,) = class_groups.add_class_groups(
        session,
        principal,
        module=view.module,
        parent_uuid=parent_uuid,
        groups=[
            {
                "group_name": body.name,
                "description": body.description,
                "max_user": body.max_user,
                "group_access": body.group_access,
                "self_enrol": body.self_enrol,
                "self_enrol_open_date": body.self_enrol_open_date,
                "self_enrol_close_date": body.self_enrol_close_date,
                "waitlist": body.waitlist,
            }
        ],
        group_type=body.group_type,
    )
    return module_group_out(group)


def module_group_out(group: Group) -> ModuleGroupOut:
    """A module's group as the management surface shows it."""
    assert group.module_id is not None
    return ModuleGroupOut(
        id=group.id,
        uuid=group.uuid,
        name=group.name,
        group_type=GroupType(group.group_type),
        group_type_name=GroupType(group.group_type).display_name,
        group_access=GroupAccess(group.group_access),
        module_id=group.module_id,
        parent_group_id=group.parent_group_id,
        description=group.description,
        max_user=group.max_user,
        self_enrol=group.self_enrol,
        self_enrol_open_date=group.self_enrol_open_date,
        self_enrol_close_date=group.self_enrol_close_date,
        waitlist=group.waitlist,
        instance_id=group.instance_id,
        created_at=group.created_at,
    )


@router.put(
    "/{module_id}/groups/{group_id}",
    response_model=ModuleGroupOut,
    responses=error_responses(400, 401, 403, 404, 411, 415),
)
def update_module_group(
    module_id: ModuleId, group_id: GroupId, body: ModuleGroupUpdate, session: SessionDep, principal: Writer
) -> ModuleGroupOut:
    """Change the fields sent, and only those (module managers only): its name, access, limit and
    self-enrolment. A raised `max_user` gives its new seats to the waiting list at once."""
    view = service.get_module(session, instance_id=principal.instance_id, module_id=module_id)
    group = get_group(session, instance_id=principal.instance_id, group_id=group_id)
    if group.module_id != view.module.id:
        raise NotFound(f"No group with id {group_id} in module {view.module.code}.")
    enrolment.update_group(session, principal, group, changes=body.model_dump(exclude_unset=True))
    return module_group_out(group)


@router.get(
    "/{module_id}/formations",
    response_model=list[SavedFormationOut],
    responses=error_responses(400, 401, 403, 404),
)
def list_module_formations(
    module_id: ModuleId,
    request: Request,
    response: Response,
    page: PageDep,
    session: SessionDep,
    principal: Reader,
) -> list[SavedFormationOut]:
    """The formations saved in the module, Randomise's among them, newest first (module managers)."""
    saved, total = formations.module_history(session, principal, module_id=module_id, page=page)
    set_page_headers(request, response, page, total)
    return [saved_out(s) for s in saved]


@router.get(
    "/{module_id}/{kind}", response_model=list[StudentOut], responses=error_responses(400, 401, 403, 404)
)
def list_module_students(
    module_id: ModuleId,
    kind: RosterKind,
    request: Request,
    page: PageDep,
    session: SessionDep,
    principal: Reader,
) -> Response:
    """The module's roster or guests (pages with `limit` and `offset`), as their `groupAccess` allows
    (staff only, by default). With `Accept: text/csv`, the whole of it as CSV, with attributes
    (module managers only; as `/modules/{id}/{kind}.csv`)."""
    if wants_csv(request):
        return roster_csv(request, module_id, kind, session, principal)
    view = service.get_module(session, instance_id=principal.instance_id, module_id=module_id)
    access.viewable_group(session, principal, service.roster_group_id(view, kind))
    stmt, total = students.wire_rows(
        session, instance_id=principal.instance_id, page=page, group_id=service.roster_group_id(view, kind)
    )
    return streamed_students(request, page, stmt, total, principal)


@router.post(
    "/{module_id}/{kind}",
    response_model=RosterAdded,
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def add_module_students(
    module_id: ModuleId, kind: RosterKind, body: StudentsToAdd, session: SessionDep, principal: Writer
) -> RosterAdded:
    """Add up to 10,000 students to the roster or guests, all or none (module managers only).

    By `student_ids` or `uids`, or as `students` with attributes: each `{uid, attributes}` is
    created when the instance lacks it, and has its attributes set beside those it has (what a
    roster file's attribute columns do); `categories` declares attributes that may hold only the
    values listed. Where a parent's self-enrolment policy places late enrollees, each newcomer
    goes at once into its smallest group with room: `placed` counts those seats, and
    `unplaced_student_ids` names the newcomers no group had room for."""
    view = service.get_managed_module(session, principal, module_id)
    if body.students is not None:
        done = service.add_students_to_module(
            session,
            instance_id=principal.instance_id,
            module_id=module_id,
            kind=kind,
            students=[(s.uid, s.attributes) for s in body.students],
            categories=body.categories,
        )
    else:
        done = service.add_to_module(
            session,
            instance_id=principal.instance_id,
            module_id=module_id,
            kind=kind,
            student_ids=body.student_ids,
            uids=body.uids,
        )
    total = service.roster_size(session, view, kind)
    return RosterAdded(
        changed=len(done.added),
        total=total,
        placed=len(done.placement.placed),
        unplaced_student_ids=sorted({s for _, s in done.placement.unplaced}),
    )


@router.post(
    "/{module_id}/{kind}/remove",
    response_model=RosterChange,
    responses=error_responses(400, 401, 403, 404, 411, 415),
)
def remove_module_students(
    module_id: ModuleId, kind: RosterKind, body: StudentsByIdOrUid, session: SessionDep, principal: Writer
) -> RosterChange:
    """Take up to 10,000 students off the roster or guests (module managers only)."""
    view = service.get_managed_module(session, principal, module_id)
    removed = service.remove_from_module(
        session,
        instance_id=principal.instance_id,
        module_id=module_id,
        kind=kind,
        student_ids=body.student_ids,
        uids=body.uids,
    )
    total = service.roster_size(session, view, kind)
    return RosterChange(changed=removed, total=total)
