"""The roles a key may have: here alone, with no database behind it, so the CLI starts fast."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a key may do: read-only reads, staff also writes, admin also manages keys."""

    ADMIN = "admin"
    STAFF = "staff"
    READ_ONLY = "read-only"

    @property
    def rank(self) -> int:
        return {Role.READ_ONLY: 0, Role.STAFF: 1, Role.ADMIN: 2}[self]
