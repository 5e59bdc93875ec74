"""HTTP for the LumiNUS group calls under /user/: camelCase, UUIDs, errors as JSON strings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from studentgroups import grouping, permissions
from studentgroups.class_groups import search
from studentgroups.class_groups import service as class_groups
from studentgroups.class_groups.randomise import randomise_class_groups
from studentgroups.dependencies import LearnerWriter, Reader, SessionDep, Writer
from studentgroups.enrolment import service as enrolment
from studentgroups.errors import BadRequest
from studentgroups.formations.schemas import protected_of
from studentgroups.formations.service import Options
from studentgroups.groups import access
from studentgroups.lookup import find_group_by_uuid
from studentgroups.luminus.params import (
    GROUP_TYPE_FILTER,
    RESPONSES,
    ParentGroupQuery,
    ResourceId,
    parent_uuid_of,
)
from studentgroups.luminus.schemas import (
    AddClassGroupsRequest,
    ClassGroupModel,
    ComparedGroupsModel,
    GroupResultsModel,
    GroupWithMembers,
    ListEnvelope,
    RandomiseReport,
    RandomiseRequest,
    SearchEnvelope,
    UpdateGroupsUsersRequest,
)
from studentgroups.luminus.shapes import (
    class_group_json,
    figures_json,
    group_base,
    group_json,
    groups_with_members,
    quality_json,
)
from studentgroups.modules.service import get_module_by_uuid
from studentgroups.permissions import StudentFields
from studentgroups.responses import json_response
from studentgroups.result_filters import Filters
from studentgroups.results import service as results
from studentgroups.routing import JsonBodyRoute
from studentgroups.siblings import Siblings, class_parent

router = APIRouter(prefix="/user", tags=["LumiNUS groups"], route_class=JsonBodyRoute)


UNPLACED_IN_HEADER = 100
"""At most this many user ids in `X-Unplaced-Users` (headers stay small); all are in the report."""


@router.post(
    "/Groups/Randomise",
    response_model=list[GroupWithMembers] | RandomiseReport,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 409, 411, 415, 500)},
    summary="Randomise class groups' users",
)
def randomise(body: RandomiseRequest, session: SessionDep, principal: Writer) -> Response:
    """Randomise users to the list of class groups, with the option to save it.

    1. The list of groups must be of the same main/parent group.
    2. No sub-groups under the list of groups.
    3. Mainly for batch import.
    4. Applicable for class groups only.
    5. If the user is already in an existing class group under the same main/parent group, it is
       over-written by the new grouping.

    Returns the groups, each with its members. Beyond the document: with `report: true` the answer
    is a `RandomiseReport`, which also lists every student no group had room for (`maxUser`). The
    headers always carry `X-Randomise-Seed` (send it back as `seed` to reproduce this grouping),
    `X-Unplaced-Count`, and `X-Unplaced-Users`: the first 100 of those students' user ids,
    comma-separated (`X-Unplaced-Users-Truncated: true` when there are more).
    """
    result = randomise_class_groups(
        session,
        principal,
        module_uuid=body.resource_id,
        parent_uuid=body.parent_group_id,
        to_update=body.to_update,
        exclude_guests=body.exclude_guest_student,
        options=Options(
            strategy=body.strategy,
            seed=body.seed,
            numeric=tuple(body.numeric_attributes),
            categorical=tuple(body.categorical_attributes),
            no_isolation=tuple(body.no_isolation),
            keep_together=tuple(tuple(s) for s in body.keep_together),
            keep_apart=tuple(tuple(s) for s in body.keep_apart),
            pinned=tuple((p.user_id, p.group_id) for p in body.pinned),
            top_up=body.top_up,
            spread_weight=grouping.spread_weight_of(body.objective),
            protected=protected_of(body.protected_values),
            minority_share=body.minority_share,
            sections=body.sections,
        ),
        request=body.model_dump(mode="json", by_alias=True),
    )
    groups = groups_with_members(session, result.siblings, result.siblings.targets, result.members)
    headers = {
        "X-Randomise-Seed": str(result.seed),
        "X-Randomise-Strategy": body.strategy,
        "X-Unplaced-Count": str(len(result.unplaced)),
        "X-Unplaced-Users": ",".join(result.unplaced[:UNPLACED_IN_HEADER]),
        "X-Randomise-Saved": "true" if result.saved else "false",
    }
    if len(result.unplaced) > UNPLACED_IN_HEADER:
        headers["X-Unplaced-Users-Truncated"] = "true"
    if result.formation_id is not None:
        headers["X-Formation-ID"] = str(result.formation_id)
    if not body.report:
        return json_response(groups, headers)
    report = {
        "groups": groups,
        "unplaced": result.unplaced,
        "seed": result.seed,
        "strategy": body.strategy,
        "saved": result.saved,
        "quality": quality_json(result.report),
        "formationID": result.formation_id,
    }
    return json_response(report, headers)


@router.post(
    "/Groups/ClassGroups",
    response_model=list[ClassGroupModel],
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 411, 415, 500)},
    summary="Add class group(s)",
)
def add_class_groups(body: AddClassGroupsRequest, session: SessionDep, principal: Writer) -> Response:
    """Add up to 100 class groups to a module, or sub-groups under a class group (`parentGroupID`)."""
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=body.resource_id)
    created = class_groups.add_class_groups(
        session,
        principal,
        module=module,
        parent_uuid=body.parent_group_id,
        groups=[g.model_dump(by_alias=False) for g in body.class_group],
    )
    rows = class_groups.group_rows_by_id(session, principal, module, [g.id for g in created])
    return json_response([class_group_json(r, module.uuid) for r in rows])


@router.put(
    "/Groups/Users",
    response_model=list[GroupWithMembers],
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 409, 411, 415, 500)},
    summary="Update groups' users",
)
def update_groups_users(
    body: UpdateGroupsUsersRequest, session: SessionDep, principal: LearnerWriter
) -> Response:
    """Set each group's users; the groups share one parent, are class groups, and have no sub-groups.

    With `allowMultiple` false (the default) a user may be in only one of the sub-groups of one
    main group: listing a user in two is refused, and a user in another sibling group is moved.
    Beyond the document: a seat left free in a group with a waiting list goes to the first in it.
    """
    siblings, groups, listed = class_groups.update_groups_users(
        session,
        principal,
        assignments=[(item.key, item.value) for item in body.ids_user_guids],
        allow_multiple=body.allow_multiple,
    )
    # The users placed leave the parent's waiting lists; a seat left free goes to the queue.
    enrolment.members_set_by_manager(session, siblings, listed)
    members = class_groups.members_by_group(session, principal.instance_id, [g.id for g in groups])
    return json_response(groups_with_members(session, siblings, groups, members))


@router.get(
    "/Resource/{ResourceID}/Group",
    response_model=ListEnvelope,
    responses={k: RESPONSES[k] for k in (400, 401, 404, 500)},
    summary="List a module's groups",
)
def list_module_groups(
    resource_id: ResourceId,
    session: SessionDep,
    principal: Reader,
    sortby: Annotated[
        str | None,
        Query(
            description="Comma-separated fields, each optionally `asc` or `desc`: "
            + ", ".join(class_groups.SORTABLE)
            + "."
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=2**31, description="Skip this many groups first.")] = 0,
    limit: Annotated[int | None, Query(ge=0, le=10_000, description="At most this many groups.")] = None,
    where: Annotated[str | None, Query(max_length=1_000, description=class_groups.WHERE_HELP)] = None,
) -> Response:
    """The module's groups the caller may see (`groupAccess`), in the documented envelope."""
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=resource_id)
    rows, total = class_groups.list_module_groups(
        session, principal, module=module, sortby=sortby, offset=offset, limit=limit, where=where
    )
    return json_response(
        {
            "status": "success",
            "code": 200,
            "total": total,
            "offset": offset,
            "data": [class_group_json(r, module.uuid) for r in rows],
        }
    )


@router.get(
    "/Resource/{ResourceID}/Group/Search",
    response_model=SearchEnvelope,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 500)},
    summary="Search a module's groups and students",
)
def search_module(
    resource_id: ResourceId,
    session: SessionDep,
    principal: Reader,
    text: Annotated[
        str | None,
        Query(
            max_length=255,
            description="Part of a student's name or uid, or of the name of a group they are in (any case).",
        ),
    ] = None,
    parent_group_id: ParentGroupQuery = None,
    group_type: Annotated[
        int | None,
        Query(
            alias="groupType",
            ge=-1,
            le=32,
            description="Only groups of this type (see `GroupType`); -1: the students in no group "
            "at this level (module managers only).",
        ),
    ] = None,
    exclude_guest_student: Annotated[
        bool, Query(alias="excludeGuestStudent", description="Leave out the module's guests.")
    ] = False,
    offset: Annotated[int, Query(ge=0, le=2**31, description="Skip this many students first.")] = 0,
    limit: Annotated[int | None, Query(ge=0, le=10_000, description="At most this many students.")] = None,
) -> Response:
    """The module's students that match, each with its groups at one level, by uid.

    The level is the sub-groups of `parentGroupID`, or the module's root groups (its roster and
    guest groups aside). Callers who do not manage the module see only the groups their
    `groupAccess` opens, and only the students in them. Read-only keys read no names; a
    learner reads its fellow members' names, not their uids.
    """
    if group_type is not None and group_type not in GROUP_TYPE_FILTER:
        raise BadRequest(f"groupType: {group_type} is not a documented group type, nor -1.")
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=resource_id)
    parent = class_parent(session, module, parent_uuid_of(parent_group_id))
    found, total = search.search_students(
        session,
        principal,
        module=module,
        parent=parent,
        text=text,
        group_type=group_type,
        include_guests=not exclude_guest_student,
        offset=offset,
        limit=limit,
    )
    shown = {student.id: permissions.student_fields(principal, student.id) for student in found}
    data = [
        {
            "userID": student.user_id,
            "uid": student.uid if shown[student.id] is not StudentFields.MEMBER else None,
            "name": student.name if shown[student.id] is not StudentFields.NO_PROFILE else None,
            "groups": [
                group_base(row[0], module.uuid, row.parent_uuid, row.creator_uuid) for row in student.groups
            ],
        }
        for student in found
    ]
    return json_response({"status": "success", "code": 200, "total": total, "offset": offset, "data": data})


def _include_subgroups(
    include_subgroups: Annotated[
        bool, Query(alias="includeSubgroups", description="Count the members of the group's sub-groups too.")
    ] = False,
) -> bool:
    return include_subgroups


IncludeSubgroups = Annotated[bool, Depends(_include_subgroups)]
"""A dependency, so that it is documented after the filters, as it always was."""


@router.get(
    "/Groups/{groupID}/Results",
    response_model=GroupResultsModel,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 500)},
    summary="A group's results, summed up",
)
def group_results(
    group_id: Annotated[uuid.UUID, Path(alias="groupID", description="Group id.")],
    session: SessionDep,
    principal: Reader,
    filters: Filters,
    include_subgroups: IncludeSubgroups,
) -> Response:
    """How a group (a class group, say) is doing: its members' results summed up.

    The same figures as `GET /student_groups/{id}/results`, camelCase; the group as the documented
    base group model. Needs the right to see the group (`groupAccess`).
    """
    group = find_group_by_uuid(
        session, instance_id=principal.instance_id, group_uuid=group_id, field="groupID"
    )
    access.require_view(session, principal, group)
    figures = results.group_figures(
        session,
        group=group,
        filters=filters.checked(),
        include_subgroups=include_subgroups,
    )
    return json_response(
        {
            **group_json(session, group),
            "threshold": filters.threshold,
            "includeSubgroups": include_subgroups,
            **figures_json(figures),
        }
    )


@router.get(
    "/Resource/{ResourceID}/Group/Results",
    response_model=ComparedGroupsModel,
    responses={k: RESPONSES[k] for k in (400, 401, 403, 404, 500)},
    summary="Compare the class groups under a parent",
)
def compare_class_groups(
    resource_id: ResourceId,
    session: SessionDep,
    principal: Reader,
    filters: Filters,
    parent_group_id: ParentGroupQuery = None,
) -> Response:
    """The class groups under a parent side by side (say, the groups Randomise made), and all
    their members together; only the groups the caller may see."""
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=resource_id)
    parent = class_parent(session, module, parent_uuid_of(parent_group_id))
    rows = class_groups.class_groups_under(session, principal, Siblings(module, parent))
    compared = results.compare_groups(
        session,
        instance_id=principal.instance_id,
        groups=[row[0] for row in rows],
        filters=filters.checked(),
        include_subgroups=False,
    )
    by_id = {row[0].id: row for row in rows}
    return json_response(
        {
            "resourceID": str(module.uuid),
            "parentGroupID": None if parent is None else str(parent.uuid),
            "threshold": filters.threshold,
            "whole": figures_json(compared.whole),
            "groups": [
                {
                    **group_base(
                        group, module.uuid, by_id[group.id].parent_uuid, by_id[group.id].creator_uuid
                    ),
                    "threshold": filters.threshold,
                    "includeSubgroups": False,
                    **figures_json(figures),
                }
                for group, figures in compared.groups
            ],
        }
    )
