"""What the LumiNUS surface answers: the documented group model and its extensions, in
camelCase with UUIDs, built from the services' rows (the schemas in `luminus.schemas` document
them; lists are built as dicts and encoded by orjson, for speed)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import Row
from sqlalchemy.orm import Session

from studentgroups import grouping
from studentgroups.class_groups import service as class_groups
from studentgroups.results.aggregates import Figures
from studentgroups.siblings import Siblings
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group
from studentgroups.tables.modules import Module


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC, `Z`-suffixed."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def group_base(
    group: Group, module_uuid: uuid.UUID | None, parent_uuid: uuid.UUID | None, creator_uuid: uuid.UUID | None
) -> dict[str, Any]:
    group_type = GroupType(group.group_type)
    return {
        "id": str(group.uuid),
        "groupName": group.name,
        "groupType": int(group_type),
        "groupTypeName": group_type.display_name,
        "creatorID": str(creator_uuid) if creator_uuid else None,
        "resourceID": str(module_uuid) if module_uuid else None,
        "parentGroupID": str(parent_uuid) if parent_uuid else None,
        "groupAccess": group.group_access,
    }


def class_group_json(row: Row[Any], module_uuid: uuid.UUID) -> dict[str, Any]:
    """A row of `class_groups.visible_groups` as the LumiNUS class-group model."""
    group: Group = row[0]
    return class_group_fields(group, module_uuid, row.parent_uuid, row.creator_uuid, row.member_count)


def class_group_fields(
    group: Group,
    module_uuid: uuid.UUID,
    parent_uuid: uuid.UUID | None,
    creator_uuid: uuid.UUID | None,
    member_count: int,
) -> dict[str, Any]:
    """The LumiNUS class-group model of a group with this many members."""
    return {
        **group_base(group, module_uuid, parent_uuid, creator_uuid),
        "description": group.description,
        "selfEnrol": group.self_enrol,
        "maxUser": group.max_user,
        "selfEnrolOpenDate": iso(group.self_enrol_open_date),
        "selfEnrolCloseDate": iso(group.self_enrol_close_date),
        "memberCount": member_count,
        "waitlist": group.waitlist,
    }


def groups_with_members(
    session: Session, siblings: Siblings[Module], groups: list[Group], members: dict[int, list[str]]
) -> list[dict[str, Any]]:
    """The documented group model of each group, with its members' user ids."""
    creators = class_groups.creator_uuids(session, siblings.instance_id, groups)
    parent_uuid = siblings.parent.uuid if siblings.parent else None
    answer = []
    for group in groups:
        creator = creators.get(group.creator_id or 0)
        answer.append(
            {**group_base(group, siblings.module.uuid, parent_uuid, creator), "members": members[group.id]}
        )
    return answer


def camel_keys(value: Any) -> Any:
    """Plain data (dicts, lists, and the services' dataclasses) with every key in camelCase, as
    the LumiNUS surface names the services' snake_case fields."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {to_camel(k): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def quality_json(report: grouping.QualityReport) -> dict[str, Any]:
    """A formation's quality report, camelCase."""
    out: dict[str, Any] = camel_keys(report)
    return out


def figures_json(figures: Figures) -> dict[str, Any]:
    """A group's figures, camelCase."""
    out: dict[str, Any] = camel_keys(figures)
    return out


def group_json(session: Session, group: Group) -> dict[str, Any]:
    """The documented base model of any group, with its module's, parent's and creator's ids."""
    return group_base(group, *class_groups.linked_uuids(session, group))
