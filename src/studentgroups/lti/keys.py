"""The tool's signing keys, one set per instance, and the JWKS that publishes them.

The newest key not retired signs (the client assertions the tool sends a platform's token
endpoint). Rotating adds a new key and keeps the old one published, so a platform that cached
the JWKS, or a token signed a moment before, still checks; retiring a key (after a platform's
cache has had time to refresh) takes it out. Keys are RSA 2048, RS256, made by joserfc.
Flushes, never commits.
"""

from __future__ import annotations

import secrets
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from studentgroups.db import utcnow
from studentgroups.tables.lti import LtiToolKey
from studentgroups.tenancy import scoped

ALGORITHM = "RS256"


def _new_key(session: Session, instance_id: int) -> LtiToolKey:
    kid = secrets.token_urlsafe(16)
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
    row = LtiToolKey(
        instance_id=instance_id,
        kid=kid,
        private_pem=key.as_pem(private=True).decode("ascii"),
        public_jwk=dict(key.as_dict(private=False)),
    )
    session.add(row)
    session.flush()
    return row


def published(session: Session, instance_id: int) -> list[LtiToolKey]:
    """The instance's keys not retired, newest first (the first one signs)."""
    return list(
        session.scalars(
            scoped(LtiToolKey, instance_id)
            .where(LtiToolKey.retired_at.is_(None))
            .order_by(LtiToolKey.created_at.desc(), LtiToolKey.id.desc())
        )
    )


def signing_key(session: Session, instance_id: int) -> LtiToolKey:
    """The key that signs for the instance, made on first use."""
    keys = published(session, instance_id)
    return keys[0] if keys else _new_key(session, instance_id)


def jwks(session: Session, instance_id: int) -> dict[str, Any]:
    """The instance's public keys as a JWK Set (made on first use, so a platform always finds one)."""
    keys = published(session, instance_id) or [_new_key(session, instance_id)]
    return {"keys": [k.public_jwk for k in keys]}


def rotate(session: Session, instance_id: int) -> LtiToolKey:
    """A new signing key; the ones before it stay published until retired."""
    return _new_key(session, instance_id)


def retire_older(session: Session, instance_id: int) -> int:
    """Retire every published key but the one that signs; how many were retired."""
    keys = published(session, instance_id)
    now = utcnow()
    for key in keys[1:]:
        key.retired_at = now
    session.flush()
    return len(keys[1:])


def sign(session: Session, instance_id: int, claims: dict[str, Any]) -> str:
    """`claims` as a JWT signed with the instance's signing key (its `kid` in the header)."""
    row = signing_key(session, instance_id)
    key = RSAKey.import_key(row.private_pem, parameters={"kid": row.kid})
    return jwt.encode({"alg": ALGORITHM, "kid": row.kid}, claims, key, algorithms=[ALGORITHM])
