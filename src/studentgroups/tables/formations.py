"""The history of saved formations: who formed which groups, when, how, and the memberships
before and after, so that one can be undone."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, UTCDateTime, utcnow

JsonValue = JSON().with_variant(JSONB(), "postgresql")


class SavedFormation(Base, InstanceEntity):
    """One saved formation of the groups under a parent (a parent group, or a module's root).

    `before` and `after` hold the memberships under the parent as sorted (group id, student id)
    pairs (`pack_pairs`): 100,000 of them are 1.6 MB. On PostgreSQL the database packs them itself,
    so a save of 100,000 memberships sends none of them back and forth to record its history.
    """

    __tablename__ = "formations"
    __table_args__ = (Index(None, "instance_id", "scope", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), default=None)
    parent_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    scope: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    strategy: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int] = mapped_column(BigInteger)
    request: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    group_ids: Mapped[list[int]] = mapped_column(JsonValue)
    created_group_ids: Mapped[list[int]] = mapped_column(JsonValue)
    member_count: Mapped[int] = mapped_column(Integer)
    before: Mapped[bytes] = mapped_column(LargeBinary)
    after: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reverted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


def pack_pairs(pairs: Iterable[tuple[int, int]]) -> bytes:
    """(group id, student id) pairs, sorted, as big-endian signed 64-bit integers: the bytes
    PostgreSQL makes itself with `int8send` (see `formations.service.snapshot`).

    A membership that is not exclusive (a parent that allows multiple) is stored with its group
    id negated.
    """
    flat = array("q", chain.from_iterable(sorted(pairs)))
    if sys.byteorder == "little":
        flat.byteswap()
    return flat.tobytes()


def unpack_pairs(packed: bytes) -> list[tuple[int, int]]:
    """The pairs `pack_pairs` wrote, in their sorted order."""
    flat = array("q")
    flat.frombytes(packed)
    if sys.byteorder == "little":
        flat.byteswap()
    values: Sequence[int] = flat
    return list(zip(values[0::2], values[1::2], strict=True))
