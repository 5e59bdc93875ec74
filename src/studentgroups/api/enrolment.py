"""HTTP for self-enrolment on the management surface: /modules/{id}/enrolment, integer ids.

The same rules as the LumiNUS calls (`luminus.self_enrol`); a learner's own key acts for its
student, any other key names the student (`student_id`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from studentgroups.db import utcnow
from studentgroups.dependencies import LearnerWriter, Reader, SessionDep, Writer
from studentgroups.enrolment import allocation, service
from studentgroups.enrolment.schemas import (
    AllocatedGroupOut,
    AllocateIn,
    AllocationOut,
    EnrolmentGroupOut,
    EnrolmentOut,
    JoinIn,
    LastAllocationOut,
    PolicyIn,
    PolicyOut,
)
from studentgroups.enrolment.service import Enrolment
from studentgroups.errors import NotFound
from studentgroups.groups.service import get_group
from studentgroups.modules import service as modules
from studentgroups.problems import error_responses
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.siblings import Siblings
from studentgroups.tables.enrolment import EnrolmentPolicy
from studentgroups.tables.groups import Group
from studentgroups.tables.modules import Module

router = APIRouter(
    prefix="/modules/{module_id}/enrolment", tags=["Self-enrolment"], route_class=JsonBodyRoute
)
ModuleId = Annotated[int, id_path("module")]
GroupId = Annotated[int, id_path("group")]
StudentQuery = Annotated[
    int | None, Query(ge=1, description="The student: required unless the key is the student's own.")
]
ParentQuery = Annotated[
    int | None,
    Query(ge=1, description="A class group of the module; absent: the module's root class groups."),
]


def _module(session: Session, instance_id: int, module_id: int) -> Module:
    return modules.get_module(session, instance_id=instance_id, module_id=module_id).module


def _siblings_of(session: Session, module: Module, parent_group_id: int | None) -> Siblings[Module]:
    if parent_group_id is None:
        return service.siblings_named(session, module, None)
    parent = get_group(
        session, instance_id=module.instance_id, group_id=parent_group_id, field="parent_group_id"
    )
    return service.siblings_named(session, module, parent.uuid)


def _group_of(session: Session, module: Module, group_id: int) -> Group:
    """The group, if it is one of the module's (else NotFound, as for another instance's)."""
    group = get_group(session, instance_id=module.instance_id, group_id=group_id)
    if group.module_id != module.id:
        raise NotFound(f"No group with id {group_id} in module {module.code}.")
    return group


def _enrolment_out(done: Enrolment) -> EnrolmentOut:
    return EnrolmentOut(
        status=done.status,
        group_id=done.group.id,
        member_count=done.members,
        max_user=done.group.max_user,
        queue_position=done.queue_position,
        left_group_id=done.left_group.id if done.left_group is not None else None,
    )


@router.get("", response_model=list[EnrolmentGroupOut], responses=error_responses(400, 401, 403, 404))
def list_enrolment_groups(
    module_id: ModuleId,
    session: SessionDep,
    principal: Reader,
    parent_group_id: ParentQuery = None,
    student_id: StudentQuery = None,
) -> list[EnrolmentGroupOut]:
    """The groups under the parent that take self-enrolment, as the student sees them now; 403
    (saying which) when the student is not on the roster, or is a guest not admitted."""
    module = _module(session, principal.instance_id, module_id)
    siblings = _siblings_of(session, module, parent_group_id)
    student = service.acting_for(session, principal, student_id=student_id, field="student_id")
    return [
        EnrolmentGroupOut(
            id=o.group.id,
            uuid=o.group.uuid,
            name=o.group.name,
            parent_group_id=o.group.parent_group_id,
            max_user=o.group.max_user,
            self_enrol_open_date=o.group.self_enrol_open_date,
            self_enrol_close_date=o.group.self_enrol_close_date,
            waitlist=o.group.waitlist,
            member_count=o.members,
            waiting_count=o.waiting,
            state=o.state,
            is_member=o.is_member,
            queue_position=o.queue_position,
        )
        for o in service.offers(session, siblings=siblings, student_id=student, now=utcnow())
    ]


@router.post(
    "/groups/{group_id}",
    response_model=EnrolmentOut,
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def join_group(
    module_id: ModuleId,
    group_id: GroupId,
    session: SessionDep,
    principal: LearnerWriter,
    body: JoinIn | None = None,
) -> EnrolmentOut:
    """Take a seat for the student (or with `queue`, a place in a full group's waiting list; with
    `switch`, leave their group under the same parent for this one). 403 outside the window, not
    self-enrol, not on the roster or a guest not admitted; 409 full or already in a sibling group."""
    module = _module(session, principal.instance_id, module_id)
    group = _group_of(session, module, group_id)
    body = body or JoinIn()
    student = service.acting_for(session, principal, student_id=body.student_id, field="student_id")
    done = service.join(
        session, group=group, student_id=student, now=utcnow(), switch=body.switch, queue=body.queue
    )
    return _enrolment_out(done)


@router.delete(
    "/groups/{group_id}", response_model=EnrolmentOut, responses=error_responses(400, 401, 403, 404, 409)
)
def leave_group(
    module_id: ModuleId,
    group_id: GroupId,
    session: SessionDep,
    principal: LearnerWriter,
    student_id: StudentQuery = None,
) -> EnrolmentOut:
    """Give up the student's seat (the first in the queue takes it at once) or their place in the
    queue, while the window is open."""
    module = _module(session, principal.instance_id, module_id)
    group = _group_of(session, module, group_id)
    student = service.acting_for(session, principal, student_id=student_id, field="student_id")
    return _enrolment_out(service.leave(session, group=group, student_id=student, now=utcnow()))


def _policy_out(session: Session, siblings: Siblings[Module], policy: EnrolmentPolicy) -> PolicyOut:
    last = None
    if policy.allocated_at is not None:
        last = LastAllocationOut(
            at=policy.allocated_at,
            formation_id=policy.allocation_formation_id,
            unplaced_student_ids=service.unplaced_student_ids(session, policy),
            error=policy.allocation_error,
        )
    return PolicyOut(
        module_id=siblings.module.id,
        parent_group_id=siblings.parent_id,
        allow_multiple=bool(siblings.parent.allow_multiple) if siblings.parent is not None else False,
        admit_guests=policy.admit_guests,
        allocate_after_close=policy.allocate_after_close,
        place_late_enrollees=policy.place_late_enrollees,
        closes_at=allocation.window_closes_at(session, policy),
        last_allocation=last,
    )


@router.get("/policy", response_model=PolicyOut, responses=error_responses(400, 401, 403, 404))
def get_policy(
    module_id: ModuleId, session: SessionDep, principal: Reader, parent_group_id: ParentQuery = None
) -> PolicyOut:
    """The policy of the groups under the parent and its last allocation (module managers)."""
    siblings = _siblings_of(session, _module(session, principal.instance_id, module_id), parent_group_id)
    return _policy_out(session, siblings, service.read_policy(session, principal, siblings))


@router.put("/policy", response_model=PolicyOut, responses=error_responses(400, 401, 403, 404, 411, 415))
def set_policy(module_id: ModuleId, body: PolicyIn, session: SessionDep, principal: Writer) -> PolicyOut:
    """Change the fields sent, and only those (module managers only)."""
    module = _module(session, principal.instance_id, module_id)
    siblings = _siblings_of(session, module, body.parent_group_id)
    changes = body.model_dump(exclude_unset=True, include={*service.POLICY_FIELDS, "allow_multiple"})
    return _policy_out(session, siblings, service.set_policy(session, principal, siblings, changes=changes))


@router.post(
    "/allocate", response_model=AllocationOut, responses=error_responses(400, 401, 403, 404, 409, 411, 415)
)
def allocate(module_id: ModuleId, body: AllocateIn, session: SessionDep, principal: Writer) -> AllocationOut:
    """Place every student still without a group under the parent, as the window's close does;
    `save: false` previews it (module managers only)."""
    module = _module(session, principal.instance_id, module_id)
    modules.require_manager(session, principal, module)
    siblings = _siblings_of(session, module, body.parent_group_id)
    done = allocation.allocate_unplaced(
        session, siblings=siblings, user_id=principal.user_id, save=body.save, seed=body.seed
    )
    ids = done.student_ids
    return AllocationOut(
        groups=[
            AllocatedGroupOut(
                id=g.id, name=g.name, student_ids=sorted(ids[k] for k in done.members.get(g.id, []))
            )
            for g in done.siblings.targets
        ],
        placed_student_ids=sorted(ids[k] for k in done.placed),
        unplaced_student_ids=sorted(ids[k] for k in done.unplaced),
        seed=done.seed,
        saved=done.saved,
        formation_id=done.formation_id,
    )
