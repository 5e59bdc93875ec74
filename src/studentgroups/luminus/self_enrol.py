"""HTTP for self-enrolment on the LumiNUS surface, beside the other calls under /user/.

A learner's own key acts for its student; a platform's key names the student (`userID`).
Refusals are JSON strings that say which rule refused: outside the window, full, not on the
roster, guests not admitted, already in a group under the same parent, not self-enrol.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from studentgroups.class_groups import service as class_groups
from studentgroups.db import utcnow
from studentgroups.dependencies import LearnerWriter, Reader, SessionDep, Writer
from studentgroups.enrolment import allocation, service
from studentgroups.enrolment.service import Enrolment, Offer
from studentgroups.lookup import find_group_by_uuid
from studentgroups.luminus.params import RESPONSES, ParentGroupQuery, ResourceId, parent_uuid_of
from studentgroups.luminus.schemas import (
    AllocateRequest,
    AllocationReport,
    ClassGroupModel,
    EnrolmentModel,
    JoinRequest,
    SelfEnrolEnvelope,
    SelfEnrolPolicyModel,
    SelfEnrolPolicyRequest,
    UpdateClassGroupRequest,
)
from studentgroups.luminus.shapes import (
    class_group_fields,
    class_group_json,
    groups_with_members,
    iso,
)
from studentgroups.modules.service import get_module_by_uuid, require_manager
from studentgroups.responses import json_response
from studentgroups.routing import JsonBodyRoute
from studentgroups.siblings import Siblings
from studentgroups.tables.enrolment import EnrolmentPolicy
from studentgroups.tables.groups import Group
from studentgroups.tables.modules import Module

router = APIRouter(prefix="/user", tags=["LumiNUS self-enrolment"], route_class=JsonBodyRoute)

GroupIdPath = Annotated[uuid.UUID, Path(alias="groupID", description="Group id.")]
UserIdQuery = Annotated[
    uuid.UUID | None,
    Query(
        alias="userID",
        description="The learner: required with a platform's key; a learner's own key acts for itself.",
    ),
]


def _group(session: Session, instance_id: int, group_id: uuid.UUID) -> Group:
    return find_group_by_uuid(session, instance_id=instance_id, group_uuid=group_id, field="groupID")


def offer_json(offer: Offer, siblings: Siblings[Module], creators: dict[int, uuid.UUID]) -> dict[str, Any]:
    """A self-enrolment group as the learner sees it."""
    group = offer.group
    parent_uuid = siblings.parent.uuid if siblings.parent is not None else None
    creator_uuid = creators.get(group.creator_id or 0)
    return {
        **class_group_fields(group, siblings.module.uuid, parent_uuid, creator_uuid, offer.members),
        "waitingCount": offer.waiting,
        "state": offer.state,
        "isMember": offer.is_member,
        "queuePosition": offer.queue_position,
    }


def enrolment_json(done: Enrolment) -> dict[str, Any]:
    """What a join or a leave did, camelCase."""
    return {
        "status": done.status,
        "groupID": str(done.group.uuid),
        "memberCount": done.members,
        "maxUser": done.group.max_user,
        "queuePosition": done.queue_position,
        "leftGroupID": str(done.left_group.uuid) if done.left_group is not None else None,
    }


@router.get(
    "/Resource/{ResourceID}/Group/SelfEnrol",
    response_model=SelfEnrolEnvelope,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 500)},
    summary="List the groups a learner may enrol in",
)
def list_self_enrol_groups(
    resource_id: ResourceId,
    session: SessionDep,
    principal: Reader,
    parent_group_id: ParentGroupQuery = None,
    user_id: UserIdQuery = None,
) -> Response:
    """The groups under a parent (the module's root class groups when empty) that take
    self-enrolment, each with its seats, its queue, its window's state, and where the learner stands.
    Refused (403) when the learner is not on the module's roster, or is a guest not admitted."""
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=resource_id)
    siblings = service.siblings_named(session, module, parent_uuid_of(parent_group_id))
    student_id = service.acting_for(session, principal, user_id=user_id)
    found = service.offers(session, siblings=siblings, student_id=student_id, now=utcnow())
    creators = class_groups.creator_uuids(session, module.instance_id, [o.group for o in found])
    return json_response(
        {
            "status": "success",
            "code": 200,
            "total": len(found),
            "offset": 0,
            "data": [offer_json(o, siblings, creators) for o in found],
        }
    )


@router.post(
    "/Groups/{groupID}/SelfEnrol",
    response_model=EnrolmentModel,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 409, 411, 415, 500)},
    summary="Join a group (self-enrolment)",
)
def join_group(
    group_id: GroupIdPath, session: SessionDep, principal: LearnerWriter, body: JoinRequest | None = None
) -> Response:
    """Take a seat in the group for the learner, within its window and `maxUser`.

    With `switch`, a learner in another group under the same parent moves here in one step;
    with `queue`, a full group with a waiting list queues them (`status: queued`). Refused: 403
    outside the window, not self-enrol, not on the roster, or a guest not admitted; 409 full, or
    already in a group under the same parent. Sent twice, the second answers `alreadyMember`.
    """
    group = _group(session, principal.instance_id, group_id)
    body = body or JoinRequest()
    student_id = service.acting_for(session, principal, user_id=body.user_id)
    done = service.join(
        session, group=group, student_id=student_id, now=utcnow(), switch=body.switch, queue=body.queue
    )
    return json_response(enrolment_json(done))


@router.delete(
    "/Groups/{groupID}/SelfEnrol",
    response_model=EnrolmentModel,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 409, 500)},
    summary="Leave a group, or its waiting list (self-enrolment)",
)
def leave_group(
    group_id: GroupIdPath, session: SessionDep, principal: LearnerWriter, user_id: UserIdQuery = None
) -> Response:
    """Give up the learner's seat (the first in the queue takes it, at once) or their place in the
    queue, while the window is open. 404 when they hold neither."""
    group = _group(session, principal.instance_id, group_id)
    student_id = service.acting_for(session, principal, user_id=user_id)
    return json_response(
        enrolment_json(service.leave(session, group=group, student_id=student_id, now=utcnow()))
    )


@router.put(
    "/Groups/ClassGroups/{groupID}",
    response_model=ClassGroupModel,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 409, 411, 415, 500)},
    summary="Update a class group",
)
def update_class_group(
    group_id: GroupIdPath, body: UpdateClassGroupRequest, session: SessionDep, principal: Writer
) -> Response:
    """Beyond the document: change the fields sent, and only those (module managers only). A raised
    `maxUser` gives its new seats to the waiting list at once."""
    group = _group(session, principal.instance_id, group_id)
    changes = body.model_dump(exclude_unset=True, by_alias=False)
    if "group_name" in changes:
        changes["name"] = changes.pop("group_name")
    service.update_group(session, principal, group, changes=changes)
    siblings = service.siblings_of_group(session, group)
    (row,) = class_groups.group_rows_by_id(session, principal, siblings.module, [group.id])
    return json_response(class_group_json(row, siblings.module.uuid))


def policy_json(session: Session, siblings: Siblings[Module], policy: EnrolmentPolicy) -> dict[str, Any]:
    """The policy of the groups under a parent and its last allocation, camelCase."""
    closes = allocation.window_closes_at(session, policy)
    last = None
    if policy.allocated_at is not None:
        last = {
            "at": iso(policy.allocated_at),
            "formationID": policy.allocation_formation_id,
            "unplaced": policy.allocation_unplaced or [],
            "error": policy.allocation_error,
        }
    return {
        "resourceID": str(siblings.module.uuid),
        "parentGroupID": str(siblings.parent.uuid) if siblings.parent is not None else None,
        "allowMultiple": bool(siblings.parent.allow_multiple) if siblings.parent is not None else False,
        "admitGuests": policy.admit_guests,
        "allocateAfterClose": policy.allocate_after_close,
        "placeLateEnrollees": policy.place_late_enrollees,
        "closesAt": iso(closes),
        "lastAllocation": last,
    }


@router.get(
    "/Resource/{ResourceID}/Group/SelfEnrol/Policy",
    response_model=SelfEnrolPolicyModel,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 500)},
    summary="The self-enrolment policy of the groups under a parent",
)
def get_self_enrol_policy(
    resource_id: ResourceId, session: SessionDep, principal: Reader, parent_group_id: ParentGroupQuery = None
) -> Response:
    """Guests admitted or not, allocation at the close, placement of late enrollees, when the
    window closes, and the last allocation with the students it could not place (module managers)."""
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=resource_id)
    siblings = service.siblings_named(session, module, parent_uuid_of(parent_group_id))
    return json_response(policy_json(session, siblings, service.read_policy(session, principal, siblings)))


@router.put(
    "/Groups/SelfEnrol/Policy",
    response_model=SelfEnrolPolicyModel,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 411, 415, 500)},
    summary="Set the self-enrolment policy of the groups under a parent",
)
def set_self_enrol_policy(body: SelfEnrolPolicyRequest, session: SessionDep, principal: Writer) -> Response:
    """Change the fields sent, and only those (module managers only)."""
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=body.resource_id)
    siblings = service.siblings_named(session, module, body.parent_group_id)
    changes = body.model_dump(
        exclude_unset=True, by_alias=False, include={*service.POLICY_FIELDS, "allow_multiple"}
    )
    policy = service.set_policy(session, principal, siblings, changes=changes)
    return json_response(policy_json(session, siblings, policy))


@router.post(
    "/Groups/SelfEnrol/Allocate",
    response_model=AllocationReport,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 409, 411, 415, 500)},
    summary="Place every student still without a group under a parent",
)
def allocate_unplaced(body: AllocateRequest, session: SessionDep, principal: Writer) -> Response:
    """What the window's close does, now: the formation engine tops the class groups up with the
    module's students in none of them (guests too when admitted), never over `maxUser`, and
    reports who could not be placed. `toUpdate: false` previews it (module managers only)."""
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=body.resource_id)
    require_manager(session, principal, module)
    siblings = service.siblings_named(session, module, body.parent_group_id)
    done = allocation.allocate_unplaced(
        session, siblings=siblings, user_id=principal.user_id, save=body.to_update, seed=body.seed
    )
    groups = groups_with_members(session, done.siblings, done.siblings.targets, done.members)
    return json_response(
        {
            "groups": groups,
            "placed": done.placed,
            "unplaced": done.unplaced,
            "seed": done.seed,
            "saved": done.saved,
            "formationID": done.formation_id,
        }
    )
