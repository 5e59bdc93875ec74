"""Forming groups in the console: the form, the preview with its quality drawn, moves, and save.

The preview is the engine's (`formations.service.form`, not saved) read back through
`formations.service.adjust`, which gives the report and the pictures of any grouping of the
pool. A move in the page (drag and drop, or each member's "Move to" list, by keyboard) asks
`adjust` again for the new grouping's report (`/assess`, a fragment of the page); Save posts the
grouping the page shows, and `adjust` writes exactly it, recorded in the history as any
formation. The page works without its script too: the preview as formed, saved as shown.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from studentgroups import permissions
from studentgroups.console import service
from studentgroups.console.router import SignedDep, needs_sign_in, posted, redirect, render
from studentgroups.db import roll_back
from studentgroups.dependencies import SessionDep
from studentgroups.errors import AppError, BadRequest, FieldError
from studentgroups.exports.service import attribute_keys
from studentgroups.formations import service as formations
from studentgroups.groups import access
from studentgroups.groups.service import sub_groups
from studentgroups.lookup import student_ids_by_uid
from studentgroups.tables.groups import Group
from studentgroups.wire import Name

forming = APIRouter(prefix="/console", include_in_schema=False)

FIELDS = (
    "strategy",
    "count",
    "size",
    "prevent_small_last",
    "name_pattern",
    "numeric",
    "categorical",
    "no_isolation",
    "keep_together",
    "keep_apart",
    "pinned",
    "top_up",
    "seed",
)
"""The form's fields: what the preview was made with travels with it (as JSON) to a move and a save."""
MAX_SEED = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_NAME: TypeAdapter[str] = TypeAdapter(Name)


@dataclass(frozen=True, slots=True)
class Chosen:
    """What the form asked for, checked: where (the groups to make, if any) and how."""

    create: formations.GroupsToCreate | None
    options: formations.Options
    fields: dict[str, str]


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))


def _whole(fields: dict[str, str], name: str, low: int, high: int) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise BadRequest(
            f"{name}: a whole number from {low} to {high}.",
            errors=[FieldError(field=name, rule="range", message=f"a whole number from {low} to {high}")],
        )
    return int(text)


def _sets(
    session: Session, instance_id: int, fields: dict[str, str], name: str
) -> tuple[tuple[int, ...], ...]:
    """A rule's sets, one a line, of uids separated by commas, as student ids."""
    lines = [_names_kept_case(line) for line in fields.get(name, "").splitlines() if line.strip()]
    uids = [u for line in lines for u in line]
    found = student_ids_by_uid(session, instance_id=instance_id, uids=uids)
    missing = [u for u in uids if u not in found]
    if missing:
        raise BadRequest(
            f"{name}: no student {', '.join(map(repr, missing[:10]))} in this instance.",
            errors=[
                FieldError(field=name, rule="not_found", message=f"no student {u!r}") for u in missing[:50]
            ],
        )
    return tuple(tuple(found[u] for u in line) for line in lines)


def _names_kept_case(line: str) -> list[str]:
    return [u.strip() for u in line.split(",") if u.strip()]


def _pins(session: Session, parent: Group, fields: dict[str, str]) -> tuple[tuple[int, int], ...]:
    """`uid = group name` lines as (student id, group id) pins, the groups among the parent's."""
    by_name = {g.name: g.id for g in sub_groups(session, parent)}
    lines = [line.split("=", 1) for line in fields.get("pinned", "").splitlines() if line.strip()]
    problems = [
        FieldError(field="pinned", rule="format", message=f"{'='.join(line)!r}: uid = group name")
        for line in lines
        if len(line) != 2
    ]
    pairs = [(uid.strip(), name.strip()) for uid, name in (line for line in lines if len(line) == 2)]
    problems += [
        FieldError(field="pinned", rule="not_found", message=f"no sub-group {name!r} of {parent.name}")
        for _, name in pairs
        if name not in by_name
    ]
    found = student_ids_by_uid(session, instance_id=parent.instance_id, uids=[u for u, _ in pairs])
    problems += [
        FieldError(field="pinned", rule="not_found", message=f"no student {uid!r}")
        for uid, _ in pairs
        if uid not in found
    ]
    if problems:
        raise BadRequest(
            "pinned: each line a uid, =, and the name of one of the parent's sub-groups.", errors=problems
        )
    return tuple((found[uid], by_name[name]) for uid, name in pairs)


def chosen(session: Session, instance_id: int, fields: dict[str, str], parent: Group) -> Chosen:
    """The form's fields as a formation's options; BadRequest naming the field otherwise."""
    strategy = fields.get("strategy", "random")
    if strategy not in ("random", "balanced"):
        raise BadRequest(
            "strategy: random or balanced.",
            errors=[FieldError(field="strategy", rule="enum", message="random or balanced")],
        )
    count, size = _whole(fields, "count", 1, 1_000), _whole(fields, "size", 1, 100_000)
    if count is not None and size is not None:
        raise BadRequest(
            "Give the number of groups or their size, not both.",
            errors=[FieldError(field="size", rule="exclusive", message="with count, not both")],
        )
    create = None
    if count is not None or size is not None:
        pattern = fields.get("name_pattern", "").strip() or "Group @"
        try:
            pattern = _NAME.validate_python(pattern)
        except ValidationError:
            raise BadRequest(
                "name_pattern: 1 to 255 characters on one line, no control characters.",
                errors=[
                    FieldError(field="name_pattern", rule="name", message="1 to 255 characters, one line")
                ],
            ) from None
        create = formations.GroupsToCreate(
            count=count,
            size=size,
            prevent_small_last=fields.get("prevent_small_last") == "1",
            name_pattern=pattern,
        )
    options = formations.Options(
        strategy=strategy,
        seed=_whole(fields, "seed", 0, MAX_SEED),
        numeric=_names(fields.get("numeric", "")),
        categorical=_names(fields.get("categorical", "")),
        no_isolation=_names(fields.get("no_isolation", "")),
        keep_together=_sets(session, instance_id, fields, "keep_together"),
        keep_apart=_sets(session, instance_id, fields, "keep_apart"),
        pinned=_pins(session, parent, fields),
        top_up=fields.get("top_up") == "1",
    )
    return Chosen(create, options, {k: fields.get(k, "") for k in FIELDS})


def _parent(session: Session, signed: Any, group_id: int) -> Group:
    """The parent to form under, as the API's formation route admits it: a platform key that
    writes (never a learner's), and who may change its members."""
    permissions.require_platform_writer(signed.principal)
    return access.manageable_group(session, signed.principal, group_id, membership=True)


def _may_create(session: Session, signed: Any, parent: Group, picked: Chosen) -> None:
    """Making new groups under the parent needs the right to change the parent itself."""
    if picked.create is not None:
        access.require_manage(session, signed.principal, parent, membership=False)


@forming.get("/groups/{group_id}/form")
def form_page(group_id: int, request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """How to form the group's members into sub-groups: random or balanced, on which attributes,
    with which rules, into its sub-groups or into new ones."""
    if signed is None:
        return needs_sign_in(request)
    try:
        parent = _parent(session, signed, group_id)
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    return _form_page(request, session, signed, parent, {"strategy": "balanced"})


def _form_page(
    request: Request,
    session: Session,
    signed: Any,
    parent: Group,
    fields: dict[str, str],
    problem: AppError | None = None,
) -> Response:
    return render(
        request,
        "form.html",
        problem.status if problem else 200,
        signed=signed,
        parent=parent,
        children=sub_groups(session, parent),
        attributes=attribute_keys(session, instance_id=parent.instance_id, group_id=parent.id),
        fields=fields,
        problem=problem,
    )


@forming.post("/groups/{group_id}/preview")
async def preview(group_id: int, request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """The groups the form would make, with their quality drawn; nothing is saved."""
    checked = await posted(request, signed, (*FIELDS,))
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    try:
        parent = _parent(session, signed, group_id)
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    try:
        picked = chosen(session, signed.principal.instance_id, form, parent)
        _may_create(session, signed, parent, picked)
        place = formations.place_under(session, parent, create=picked.create)
        formed = formations.form(
            session,
            signed.principal.user_id,
            place=place,
            options=picked.options,
            save=False,
            request_record={},
        )
        keys = formations.target_keys(place)
        by_key = {key: members for key, (_, _, members) in zip(keys, formed.groups, strict=True)}
        # Top-up keeps who is placed: shown as formed, saved by forming again with its seed.
        outcome = (
            formed
            if picked.options.top_up
            else formations.adjust(
                session,
                signed.principal.user_id,
                place=place,
                options=picked.options,
                seed=formed.seed,
                groups=by_key,
                save=False,
                request_record={},
            )
        )
    except AppError as error:
        return _form_page(request, session, signed, parent, form, error)
    # As formed: the engine's own strategy (`adjust` names any grouping it reads "adjusted").
    outcome = dataclasses.replace(
        outcome, report=dataclasses.replace(outcome.report, strategy=formed.report.strategy)
    )
    fields = {**picked.fields, "seed": str(outcome.seed)}
    return render(
        request,
        "preview.html",
        signed=signed,
        parent=parent,
        **_preview_context(session, place, keys, outcome, fields),
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """A group as the preview shows it: its engine key, name, limit and members."""

    key: str
    name: str
    capacity: int | None
    members: list[formations.PoolMember]


def _shown(
    members: dict[str, formations.PoolMember], keys: list[str], outcome: formations.Outcome
) -> list[Shown]:
    return [
        Shown(key, name, group.max_user if group else None, [members[m] for m in keys_of])
        for key, (group, name, keys_of) in zip(keys, outcome.groups, strict=True)
    ]


def _preview_context(
    session: Session,
    place: formations.Place,
    keys: list[str],
    outcome: formations.Outcome,
    fields: dict[str, str],
) -> dict[str, Any]:
    members = formations.pool_members(session, place)
    groups = _shown(members, keys, outcome)
    return {
        "top_up": fields.get("top_up") == "1",
        "groups": groups,
        "unplaced": [members[m] for m in outcome.unplaced],
        "fields_json": json.dumps(fields),
        "groups_json": json.dumps({g.key: [m.key for m in g.members] for g in groups}),
        **_report_context(outcome, groups),
    }


def _report_context(outcome: formations.Outcome, groups: list[Shown]) -> dict[str, Any]:
    return {
        "report": outcome.report,
        "pictures": outcome.pictures,
        "isolated": {k for p in outcome.pictures for k in p.isolated},
        "over": [g.name for g in groups if g.capacity and len(g.members) > g.capacity],
        "names": [g.name for g in groups],
        "seed": outcome.seed,
    }


async def _arranged(
    request: Request, session: Session, signed: Any, group_id: int, body: dict[str, Any], *, save: bool
) -> tuple[formations.Place, list[str], formations.Outcome, dict[str, str]]:
    fields = body.get("fields")
    groups = body.get("groups")
    if (
        not isinstance(fields, dict)
        or not all(isinstance(v, str) for v in fields.values())
        or set(fields) - set(FIELDS)
    ):
        raise BadRequest(
            "fields: the preview's form, as it was sent.",
            errors=[FieldError(field="fields", rule="type", message="an object of the form's fields")],
        )
    if not isinstance(groups, dict) or not all(
        isinstance(v, list) and all(isinstance(k, str) for k in v) for v in groups.values()
    ):
        raise BadRequest(
            "groups: each group's key to its members' keys.",
            errors=[FieldError(field="groups", rule="type", message="an object of lists of keys")],
        )
    parent = _parent(session, signed, group_id)
    picked = chosen(session, signed.principal.instance_id, fields, parent)
    _may_create(session, signed, parent, picked)
    if picked.options.seed is None:
        raise BadRequest(
            "seed: the preview's seed is needed.",
            errors=[FieldError(field="seed", rule="missing", message="required")],
        )
    place = formations.place_under(session, parent, create=picked.create)
    if picked.options.top_up:
        if not save:
            raise BadRequest(
                "A top-up is shown as formed: members move in a preview that replaces the grouping."
            )
        outcome = formations.form(
            session,
            signed.principal.user_id,
            place=place,
            options=picked.options,
            save=True,
            request_record={"console": picked.fields},
        )
        return place, formations.target_keys(place), outcome, picked.fields
    outcome = formations.adjust(
        session,
        signed.principal.user_id,
        place=place,
        options=picked.options,
        seed=picked.options.seed,
        groups=groups,
        save=save,
        request_record={"console": picked.fields},
    )
    return place, formations.target_keys(place), outcome, picked.fields


@forming.post("/groups/{group_id}/assess")
async def assess(
    group_id: int,
    request: Request,
    session: SessionDep,
    signed: SignedDep,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> Response:
    """The report of the grouping the page shows now (after a move): a fragment of the page."""
    if signed is None:
        return needs_sign_in(request)
    if not service.csrf_matches(signed.secret, x_csrf_token):
        return render(
            request, "error.html", 403, signed=signed, message="The request's token is missing or wrong."
        )
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise BadRequest("The body is a JSON object of fields and groups.")
        place, keys, outcome, _ = await _arranged(request, session, signed, group_id, body, save=False)
    except (AppError, ValueError) as error:
        message = error.detail if isinstance(error, AppError) else "The body is not JSON."
        return render(request, "problem_fragment.html", 400, message=message)
    groups = _shown(formations.pool_members(session, place), keys, outcome)
    return render(request, "report.html", **_report_context(outcome, groups))


@forming.post("/groups/{group_id}/save")
async def save(group_id: int, request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """Save the grouping the page shows, exactly, as one formation of the parent's history."""
    checked = await posted(request, signed, ("fields", "groups"))
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    try:
        body = {"fields": json.loads(form.get("fields", "")), "groups": json.loads(form.get("groups", ""))}
        place, _, outcome, _ = await _arranged(request, session, signed, group_id, body, save=True)
    except (AppError, ValueError) as error:
        roll_back(session)
        message = (
            error.detail
            if isinstance(error, AppError)
            else "The preview's data was damaged: form the groups again."
        )
        return render(request, "error.html", getattr(error, "status", 400), signed=signed, message=message)
    assert outcome.saved is not None
    module_id = place.siblings.module_id
    if module_id is None:
        return redirect(request, f"/console/groups/{group_id}/form?saved={outcome.saved.id}")
    return redirect(request, f"/console/modules/{module_id}/history?saved={outcome.saved.id}")
