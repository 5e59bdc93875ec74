"""API keys: how they are made, stored, read from a request, and checked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from studentgroups.errors import Forbidden, Unauthorized
from studentgroups.tables.instances import ApiKey, Role, User

KEY_PREFIX = "sg_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's instance, user and role, and the student that user is, if a learner."""

    instance_id: int
    user_id: int
    user_uuid: uuid.UUID
    role: Role
    key_id: int
    user_name: str = ""
    student_id: int | None = None

    def require(self, role: Role) -> None:
        """Raise Forbidden unless this key's role is at least `role`."""
        if self.role.rank < role.rank:
            raise Forbidden(f"This key's role ({self.role}) may not do this; it needs {role}.")


def generate_key() -> str:
    """A new secret key: 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key. Keys carry 256 random bits, so one SHA-256 suffices."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_from_headers(
    authorization: str | None, subscription_key: str | None, x_api_key: str | None
) -> str | None:
    """The key from whichever of the four accepted header forms the caller used."""
    if authorization:
        scheme, _, rest = authorization.strip().partition(" ")
        rest = rest.strip()
        if scheme.lower() == "bearer" and rest:
            return rest
        if scheme.lower() == "token" and rest:
            # Domoscio: `Token token=<key>` (the value may be quoted).
            name, _, value = rest.partition("=")
            if name.strip().lower() == "token" and value.strip():
                return value.strip().strip('"')
        return None
    if subscription_key:
        return subscription_key.strip() or None
    if x_api_key:
        return x_api_key.strip() or None
    return None


def authenticate(session: Session, key: str | None) -> Principal:
    """The principal behind a key; Unauthorized when it is missing, unknown or revoked."""
    if not key:
        raise Unauthorized("An API key is required (Authorization, Ocp-Apim-Subscription-Key or X-API-Key).")
    digest = hash_key(key)
    row = session.execute(
        select(
            ApiKey.id,
            ApiKey.instance_id,
            ApiKey.user_id,
            ApiKey.role,
            ApiKey.key_hash,
            User.uuid,
            User.name,
            User.student_id,
        )
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
    ).first()
    # The index finds the row; the constant-time compare keeps the final check free of timing leaks.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise Unauthorized("The API key is unknown or revoked.")
    return Principal(
        instance_id=row.instance_id,
        user_id=row.user_id,
        user_uuid=row.uuid,
        role=Role(row.role),
        key_id=row.id,
        user_name=row.name,
        student_id=row.student_id,
    )
