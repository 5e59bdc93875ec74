"""Randomise class groups' users (LumiNUS), exactly as the contract's section says.

1. The targets are the module's class groups under `parentGroupID` (its root when empty).
2. None of them may have sub-groups.  3. Class groups only.
4. The pool is the module's roster, plus its guest groups unless `excludeGuestStudent`.
5. The new grouping replaces the old one under that parent, for the whole pool, in one transaction.
6. `toUpdate=false` changes nothing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from studentgroups import grouping
from studentgroups.auth import Principal
from studentgroups.errors import BadRequest, FieldError
from studentgroups.formations.service import Options, Place, form
from studentgroups.modules.service import get_module_by_uuid, pool_of, require_manager
from studentgroups.siblings import Siblings, class_parent, lock_module, siblings_under


@dataclass(frozen=True, slots=True)
class RandomiseOptions:
    """Beyond the document: how to form, with members named by user id (uuid) and groups by id."""

    strategy: str = "random"
    seed: int | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    no_isolation: tuple[str, ...] = ()
    keep_together: tuple[tuple[uuid.UUID, ...], ...] = ()
    keep_apart: tuple[tuple[uuid.UUID, ...], ...] = ()
    pinned: tuple[tuple[uuid.UUID, uuid.UUID], ...] = ()
    top_up: bool = False
    request: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Randomised:
    """What Randomise did (or would do): each target's members, who had no room, the seed, and
    (beyond the document) the quality report and, once saved, the formation's id in the history."""

    siblings: Siblings
    members: dict[int, list[str]]
    unplaced: list[str]
    seed: int
    saved: bool
    seconds: float
    report: grouping.QualityReport
    formation_id: int | None


def _student_ids(
    pool: dict[str, int], sets: tuple[tuple[uuid.UUID, ...], ...], field_name: str
) -> tuple[tuple[int, ...], ...]:
    unknown = [u for s in sets for u in s if str(u) not in pool]
    if unknown:
        raise BadRequest(
            f"User {unknown[0]} ({field_name}) is not among the students being randomised.",
            errors=[
                FieldError(field=field_name, rule="not_in_pool", message=f"user {u}") for u in unknown[:100]
            ],
        )
    return tuple(tuple(pool[str(u)] for u in s) for s in sets)


def _options(options: RandomiseOptions, pool: dict[str, int], siblings: Siblings) -> Options:
    """The formation's options, the users and groups named in them found in the pool and targets."""
    group_id = {g.uuid: g.id for g in siblings.targets}
    missing_groups = [g for _, g in options.pinned if g not in group_id]
    if missing_groups:
        raise BadRequest(
            f"Group {missing_groups[0]} (pinned) is not one of the class groups randomised into.",
            errors=[
                FieldError(field="pinned.group_id", rule="not_a_target", message=f"group {g}")
                for g in missing_groups
            ],
        )
    pinned_students = _student_ids(pool, tuple((u,) for u, _ in options.pinned), "pinned.user_id")
    return Options(
        strategy=options.strategy,
        seed=options.seed,
        numeric=options.numeric,
        categorical=options.categorical,
        no_isolation=options.no_isolation,
        keep_together=_student_ids(pool, options.keep_together, "keep_together"),
        keep_apart=_student_ids(pool, options.keep_apart, "keep_apart"),
        pinned=tuple(
            (student[0], group_id[g]) for student, (_, g) in zip(pinned_students, options.pinned, strict=True)
        ),
        top_up=options.top_up,
    )


def randomise_class_groups(
    session: Session,
    principal: Principal,
    *,
    module_uuid: uuid.UUID,
    parent_uuid: uuid.UUID | None,
    to_update: bool,
    exclude_guests: bool,
    options: RandomiseOptions,
) -> Randomised:
    """Deal the module's pool into the class groups under the parent; save when `to_update`.

    The formation engine deals them: with no option beyond the document, exactly the seeded
    shuffle Randomise has always made (a seed reproduces it). A save is recorded in the history.
    """
    started = time.perf_counter()
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=module_uuid)
    require_manager(session, principal, module)
    if to_update:
        lock_module(session, module)  # before reading, so a concurrent save is seen whole or not at all
    siblings = siblings_under(session, module, class_parent(session, module, parent_uuid))
    pool = pool_of(session, module, include_guests=not exclude_guests)
    place = Place.of(siblings, pool)
    outcome = form(
        session,
        principal.user_id,
        place=place,
        options=_options(options, pool, siblings),
        save=to_update,
        request_record={**options.request, "call": "Randomise"},
    )
    return Randomised(
        siblings=siblings,
        members={group.id: keys for group, _, keys in outcome.groups if group is not None},
        unplaced=outcome.unplaced,
        seed=outcome.seed,
        saved=to_update,
        seconds=time.perf_counter() - started,
        report=outcome.report,
        formation_id=outcome.saved.id if outcome.saved else None,
    )
