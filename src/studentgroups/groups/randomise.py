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

from sqlalchemy.orm import Session

from studentgroups.auth import Principal
from studentgroups.formation import Target, new_seed, random_assignment
from studentgroups.groups.class_groups import (
    Siblings,
    class_parent,
    lock_module,
    pool_of,
    siblings_under,
)
from studentgroups.groups.models import Group, Membership
from studentgroups.groups.service import write_memberships
from studentgroups.modules.service import get_module_by_uuid, require_manager
from studentgroups.tenancy import scoped_delete


@dataclass(frozen=True, slots=True)
class Randomised:
    """What Randomise did (or would do): each target's members, who had no room, and the seed."""

    siblings: Siblings
    members: dict[int, list[str]]
    unplaced: list[str]
    seed: int
    saved: bool
    seconds: float


def randomise_class_groups(
    session: Session,
    principal: Principal,
    *,
    module_uuid: uuid.UUID,
    parent_uuid: uuid.UUID | None,
    to_update: bool,
    exclude_guests: bool,
    seed: int | None,
) -> Randomised:
    """Deal the module's pool into the class groups under the parent; save when `to_update`."""
    started = time.perf_counter()
    module = get_module_by_uuid(session, instance_id=principal.instance_id, module_uuid=module_uuid)
    require_manager(session, principal, module)
    if to_update:
        lock_module(session, module)  # before reading, so a concurrent save is seen whole or not at all
    siblings = siblings_under(session, module, class_parent(session, module, parent_uuid))
    student_by_uuid = pool_of(session, module, include_guests=not exclude_guests)
    group_by_key = {str(g.uuid): g for g in siblings.targets}
    used_seed = new_seed() if seed is None else seed
    assignment = random_assignment(
        list(student_by_uuid),
        [Target(key=k, capacity=g.max_user) for k, g in group_by_key.items()],
        used_seed,
    )
    members = {group_by_key[k].id: keys for k, keys in assignment.groups.items()}
    if to_update:
        _save(session, siblings, assignment.groups, group_by_key, student_by_uuid)
    return Randomised(
        siblings=siblings,
        members=members,
        unplaced=assignment.unplaced,
        seed=used_seed,
        saved=to_update,
        seconds=time.perf_counter() - started,
    )


def _save(
    session: Session,
    siblings: Siblings,
    grouping: dict[str, list[str]],
    group_by_key: dict[str, Group],
    student_by_uuid: dict[str, int],
) -> None:
    instance_id = siblings.module.instance_id
    # The whole grouping under the parent is replaced: the targets are every sibling (rules 1 and 3).
    target_ids = [g.id for g in siblings.targets]
    session.execute(scoped_delete(Membership, instance_id).where(Membership.group_id.in_(target_ids)))
    rows = [(group_by_key[k].id, student_by_uuid[s]) for k, keys in grouping.items() for s in keys]
    write_memberships(session, rows, instance_id=instance_id, scope=siblings.scope, exclusive=True)
    session.flush()
