"""Signing in to the console: one-time sign-in links, a pasted key, and the sessions they open.

A platform hands its signed-in teacher over with a link it asks for with its key
(`create_sign_in_link`: a user, a role no higher than the key's, five minutes, once). Staff may
also sign in by pasting a key. Either opens a server-side session (`open_session`) whose secret
lives only in the browser's cookie: the database keeps its SHA-256, as it keeps keys'. A session
acts as its user with its role, vouched for by its key: the same `Principal` a key gives the API,
so every rule (roles, the tenant wall, module managers, `groupAccess`) is the API's own code. It
ends when it expires, when it signs out, or when its key is revoked. Each form carries a token
derived from the session's secret (`csrf_token`), so a page of another site cannot post one.
Flushes, never commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from studentgroups.auth import Principal, authenticate, hash_key
from studentgroups.db import utcnow
from studentgroups.errors import BadRequest, FieldError, Forbidden, Unauthorized
from studentgroups.instances.service import ensure_platform_user, learner_user
from studentgroups.tables.console import ConsoleSession, SignInLink
from studentgroups.tables.instances import ApiKey, Role, User

LINK_LIFETIME = timedelta(minutes=5)
"""How long a sign-in link stays good: long enough to follow, short enough to be worth little."""
SESSION_LIFETIME = timedelta(hours=8)
"""How long a console session lasts: a working day; then sign in again."""
LINK_PREFIX = "sgl_"
SESSION_PREFIX = "sgs_"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A sign-in link's secret (shown once) and when it expires."""

    secret: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session's secret (the cookie's value, never stored) and when it expires."""

    secret: str
    expires_at: datetime


def create_sign_in_link(
    session: Session,
    principal: Principal,
    *,
    role: Role,
    user_name: str | None = None,
    student_uid: str | None = None,
) -> IssuedLink:
    """A one-time link that signs a platform user (`user_name`, made if new) or a learner (the
    student `student_uid`, as their own user) in with `role`.

    Asked for with an admin key; the role is at most the key's. The key vouches for the sessions
    it opens: revoking it ends them."""
    principal.require(Role.ADMIN)
    if role.rank > principal.role.rank:
        raise Forbidden(
            f"A link may not sign in with more than the key's own role ({principal.role}).",
            errors=[FieldError(field="role", rule="above_key", message=f"at most {principal.role}")],
        )
    if (user_name is None) == (student_uid is None):
        raise BadRequest(
            "Name the user, or the student (a learner), whom the link signs in: one of them.",
            errors=[FieldError(field="user", rule="one_of", message="user or student_uid, exactly one")],
        )
    if student_uid is not None:
        if role == Role.ADMIN:
            raise BadRequest(
                "A learner's link never signs in as admin.",
                errors=[
                    FieldError(field="role", rule="learner_admin", message="staff or read-only for a learner")
                ],
            )
        user = learner_user(
            session, instance_id=principal.instance_id, student_uid=student_uid, user_name=None
        )
    else:
        assert user_name is not None
        user = ensure_platform_user(session, instance_id=principal.instance_id, name=user_name, field="user")
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + LINK_LIFETIME
    session.add(
        SignInLink(
            instance_id=principal.instance_id,
            user_id=user.id,
            key_id=principal.key_id,
            role=role.value,
            token_hash=hash_key(secret),
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedLink(secret, expires_at)


def redeem_link(session: Session, secret: str) -> OpenedSession:
    """Open a session with a link, once: a link used, expired or unknown is Unauthorized. The
    link is taken by one conditional UPDATE, so two browsers racing for it cannot both win."""
    now = utcnow()
    taken = session.execute(
        update(SignInLink)
        .where(
            SignInLink.token_hash == hash_key(secret),
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInLink.instance_id, SignInLink.user_id, SignInLink.key_id, SignInLink.role)
    ).first()
    if taken is None:
        raise Unauthorized("This sign-in link is unknown, used already, or expired: ask for a new one.")
    return open_session(session, taken.instance_id, taken.user_id, taken.key_id, Role(taken.role))


def sign_in_with_key(session: Session, key: str) -> OpenedSession:
    """Open a session with an API key, as the key's user with the key's role (a learner's key
    opens none: the learners' page is not this console)."""
    principal = authenticate(session, key.strip())
    if principal.student_id is not None:
        raise Forbidden("A learner's key does not open the staff console.")
    return open_session(session, principal.instance_id, principal.user_id, principal.key_id, principal.role)


def open_session(session: Session, instance_id: int, user_id: int, key_id: int, role: Role) -> OpenedSession:
    """A new session acting as the user with the role, vouched for by the key (a sign-in link's,
    a pasted key, or the key that registered an LTI platform whose launch opens it)."""
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + SESSION_LIFETIME
    session.add(
        ConsoleSession(
            instance_id=instance_id,
            user_id=user_id,
            key_id=key_id,
            role=role.value,
            token_hash=hash_key(secret),
            expires_at=expires_at,
        )
    )
    session.flush()
    return OpenedSession(secret, expires_at)


def principal_of_session(session: Session, secret: str | None) -> Principal:
    """Who a session acts as; Unauthorized when it is unknown, expired, signed out, or its key
    revoked. The same `Principal` a key gives the API."""
    if not secret:
        raise Unauthorized("Sign in to the console.")
    digest = hash_key(secret)
    row = session.execute(
        select(
            ConsoleSession.token_hash,
            ConsoleSession.instance_id,
            ConsoleSession.user_id,
            ConsoleSession.key_id,
            ConsoleSession.role,
            User.uuid,
            User.name,
            User.student_id,
        )
        .join(User, User.id == ConsoleSession.user_id)
        .join(ApiKey, ApiKey.id == ConsoleSession.key_id)
        .where(
            ConsoleSession.token_hash == digest,
            ConsoleSession.signed_out_at.is_(None),
            ConsoleSession.expires_at > utcnow(),
            ApiKey.revoked_at.is_(None),
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise Unauthorized("This console session has ended: sign in again.")
    return Principal(
        instance_id=row.instance_id,
        user_id=row.user_id,
        user_uuid=row.uuid,
        role=Role(row.role),
        key_id=row.key_id,
        user_name=row.name,
        student_id=row.student_id,
    )


def sign_out(session: Session, secret: str) -> None:
    """End the session (nothing happens for one already ended)."""
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == hash_key(secret), ConsoleSession.signed_out_at.is_(None))
        .values(signed_out_at=utcnow())
    )


def csrf_token(secret: str) -> str:
    """The token every form of a session carries: derived from the session's secret, which only
    its browser holds, so no other site can know it (and nothing more is stored)."""
    return hmac.new(secret.encode(), b"studentgroups console csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, token: str | None) -> bool:
    """Whether a form's token is its session's."""
    return token is not None and hmac.compare_digest(csrf_token(secret), token)


def new_form_token() -> str:
    """A token for a form shown before there is a session (the sign-in form's, double submit)."""
    return secrets.token_urlsafe(32)


def form_token_matches(expected: str, token: str | None) -> bool:
    """Whether a form's token is the one its page set."""
    return token is not None and hmac.compare_digest(expected, token)
