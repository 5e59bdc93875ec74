"""HTTP for formations under a parent group, their history and undo."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from studentgroups import grouping
from studentgroups.dependencies import PlatformReader, SessionDep, Writer
from studentgroups.formations import service
from studentgroups.formations.schemas import (
    FormationIn,
    FormationOut,
    SavedFormationOut,
    protected_of,
)
from studentgroups.groups import access
from studentgroups.pagination import PageDep, set_page_headers
from studentgroups.problems import error_responses
from studentgroups.responses import json_response
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.siblings import parent_scope
from studentgroups.tables.formations import SavedFormation

router = APIRouter(tags=["Formations"], route_class=JsonBodyRoute)
GroupId = Annotated[int, id_path("parent group")]
FormationId = Annotated[int, id_path("formation")]


def options_of(body: FormationIn) -> service.Options:
    """The service's options from the wire's."""
    return service.Options(
        strategy=body.strategy,
        seed=body.seed,
        numeric=tuple(body.numeric),
        categorical=tuple(body.categorical),
        no_isolation=tuple(body.no_isolation),
        keep_together=tuple(tuple(s) for s in body.keep_together),
        keep_apart=tuple(tuple(s) for s in body.keep_apart),
        pinned=tuple((p.student_id, p.group_id) for p in body.pinned),
        top_up=body.top_up,
        spread_weight=grouping.spread_weight_of(body.objective),
        protected=protected_of(body.protected_values),
        minority_share=body.minority_share,
        sections=body.sections,
    )


def report_out(report: Any) -> dict[str, Any]:
    """The engine's quality report as plain data."""
    return asdict(report)


@router.post(
    "/student_groups/{student_group_id}/formations",
    response_model=FormationOut,
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def form_sub_groups(
    student_group_id: GroupId, body: FormationIn, session: SessionDep, principal: Writer
) -> Response:
    """Form the group's members into its sub-groups (or into new ones, with `create`): a preview,
    or with `save` the new grouping, recorded in the history so that it can be undone.

    The same engine as Randomise's: `random` or `balanced`, with keep-together, keep-apart and
    pinned members as hard constraints (a 400 says which cannot hold and why), `max_user` never
    exceeded, sizes within one, and a quality report beside seeded random.
    """
    parent = access.manageable_group(session, principal, student_group_id, membership=body.create is None)
    create = None
    if body.create is not None:
        create = service.GroupsToCreate(
            count=body.create.count,
            size=body.create.size,
            prevent_small_last=body.create.prevent_small_last_group,
            name_pattern=body.create.name_pattern,
        )
    place = service.place_under(session, parent, create=create)
    outcome = service.form(
        session,
        principal.user_id,
        place=place,
        options=options_of(body),
        save=body.save,
        request_record={**body.model_dump(mode="json"), "seed": None},
    )
    student_of = place.pool
    return json_response(
        {
            "formation_id": outcome.saved.id if outcome.saved else None,
            "saved": outcome.saved is not None,
            "parent_group_id": parent.id,
            "groups": [
                {
                    "id": group.id if group else None,
                    "name": name,
                    "members": sorted(student_of[k] for k in keys),
                }
                for group, name, keys in outcome.groups
            ],
            "unplaced": sorted(student_of[k] for k in outcome.unplaced),
            "report": report_out(outcome.report),
        }
    )


def saved_out(saved: SavedFormation) -> SavedFormationOut:
    """A history entry as the wire shows it."""
    return SavedFormationOut(
        id=saved.id,
        parent_group_id=saved.parent_group_id,
        module_id=saved.module_id,
        strategy=saved.strategy,
        seed=saved.seed,
        request=saved.request,
        group_ids=saved.group_ids,
        created_group_ids=saved.created_group_ids,
        member_count=saved.member_count,
        user_id=saved.user_id,
        created_at=saved.created_at,
        reverted_at=saved.reverted_at,
        instance_id=saved.instance_id,
    )


@router.get(
    "/student_groups/{student_group_id}/formations",
    response_model=list[SavedFormationOut],
    responses=error_responses(400, 401, 403, 404),
)
def list_formations(
    student_group_id: GroupId,
    request: Request,
    response: Response,
    page: PageDep,
    session: SessionDep,
    principal: PlatformReader,
) -> list[SavedFormationOut]:
    """The formations saved under the group, newest first (pages with `limit` and `offset`)."""
    parent = access.viewable_group(session, principal, student_group_id)
    saved, total = service.list_formations(
        session, instance_id=principal.instance_id, scope=parent_scope(parent.id), page=page
    )
    set_page_headers(request, response, page, total)
    return [saved_out(s) for s in saved]


def _viewable_formation(session: SessionDep, principal: Any, formation_id: int) -> SavedFormation:
    saved = service.get_formation(session, instance_id=principal.instance_id, formation_id=formation_id)
    if saved.parent_group_id is not None:
        access.viewable_group(session, principal, saved.parent_group_id)
    return saved


@router.get(
    "/formations/{formation_id}",
    response_model=SavedFormationOut,
    responses=error_responses(400, 401, 403, 404),
)
def get_formation(
    formation_id: FormationId, session: SessionDep, principal: PlatformReader
) -> SavedFormationOut:
    """One saved formation."""
    return saved_out(_viewable_formation(session, principal, formation_id))


@router.post(
    "/formations/{formation_id}/revert",
    response_model=SavedFormationOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
def revert_formation(formation_id: FormationId, session: SessionDep, principal: Writer) -> SavedFormationOut:
    """Undo a saved formation: the memberships under its parent go back to what they were before
    it, and the groups it created are deleted. 409, saying what changed, when anything changed since."""
    return saved_out(service.undo(session, principal, formation_id=formation_id))
