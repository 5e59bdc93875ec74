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
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from studentgroups import grouping
from studentgroups.auth import Principal
from studentgroups.formations.service import Options, Place, form
from studentgroups.modules.service import get_module_by_uuid, pool_of, require_manager
from studentgroups.siblings import Siblings, class_parent, lock_module, siblings_under
from studentgroups.tables.modules import Module


@dataclass(frozen=True, slots=True)
class Randomised:
    """What Randomise did (or would do): each target's members, who had no room, the seed, and
    (beyond the document) the quality report and, once saved, the formation's id in the history."""

    siblings: Siblings[Module]
    members: dict[int, list[str]]
    unplaced: list[str]
    seed: int
    saved: bool
    seconds: float
    report: grouping.QualityReport
    formation_id: int | None


def randomise_class_groups(
    session: Session,
    principal: Principal,
    *,
    module_uuid: uuid.UUID,
    parent_uuid: uuid.UUID | None,
    to_update: bool,
    exclude_guests: bool,
    options: Options,
    request: dict[str, Any],
) -> Randomised:
    """Deal the module's pool into the class groups under the parent; save when `to_update`.

    The formation engine deals them: with no option beyond the document, exactly the seeded
    shuffle Randomise has always made (a seed reproduces it). The options name members and
    groups by their LumiNUS ids; `request` is the call as sent, recorded with a save in the
    history.
    """
    started = time.perf_counter()
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=module_uuid)
    require_manager(session, principal, module)
    if to_update:
        lock_module(session, module)  # before reading, so a concurrent save is seen whole or not at all
    siblings = siblings_under(session, module, class_parent(session, module, parent_uuid))
    pool = pool_of(session, module, include_guests=not exclude_guests)
    place = Place(siblings, pool)
    outcome = form(
        session,
        principal.user_id,
        place=place,
        options=options,
        save=to_update,
        request_record={**request, "call": "Randomise"},
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
