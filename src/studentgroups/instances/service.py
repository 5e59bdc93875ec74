"""The rules of instances, users and keys. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from studentgroups.auth import generate_key, hash_key
from studentgroups.db import utcnow
from studentgroups.errors import BadRequest, Conflict, FieldError, NotFound
from studentgroups.tables.instances import ApiKey, Instance, Role, User
from studentgroups.tables.students import Student
from studentgroups.tenancy import get_in_instance, scoped, scoped_columns

DEFAULT_USER = "admin"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just made: the only time its secret exists outside the caller's hands."""

    key: ApiKey
    secret: str
    user: User


def create_instance(
    session: Session, *, name: str, admin_user: str = DEFAULT_USER
) -> tuple[Instance, IssuedKey]:
    """A new instance and its first admin key."""
    instance = Instance(name=name)
    session.add(instance)
    session.flush()
    issued = create_key(
        session,
        instance_id=instance.id,
        role=Role.ADMIN,
        user_name=admin_user,
        name="first admin key",
    )
    return instance, issued


def get_instance(session: Session, *, instance_id: int) -> Instance:
    """The instance, or NotFound."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"No instance with id {instance_id}.")
    return instance


def list_instances(session: Session) -> Sequence[Instance]:
    """Every instance (operators only: the CLI, never HTTP)."""
    return session.scalars(select(Instance).order_by(Instance.id)).all()


RESERVED_PREFIXES = ("cli:", "system:", "learner:", "lti:")
"""The service names its own actors so: the CLI (`cli:<os user>`), its own jobs (`system:…`),
the users it makes for learners (`learner:<student id>`) and for staff launched from an LMS
(`lti:<platform id>:<sub>`). No caller may name a user so."""


def refuse_reserved_name(name: str, *, field: str) -> None:
    """BadRequest when `name` takes a prefix the service keeps for its own actors."""
    if name.strip().lower().startswith(RESERVED_PREFIXES):
        raise BadRequest(
            f"User names starting with {', '.join(RESERVED_PREFIXES)} are the service's own; choose another.",
            errors=[
                FieldError(
                    field=field,
                    rule="reserved_prefix",
                    message=f"may not start with {name.split(':', maxsplit=1)[0]}:",
                )
            ],
        )


def ensure_user(session: Session, *, instance_id: int, name: str) -> User:
    """The instance's user of that name, created if new."""
    user = session.scalar(scoped(User, instance_id).where(User.name == name))
    if user is None:
        user = User(instance_id=instance_id, name=name)
        session.add(user)
        session.flush()
    return user


def ensure_platform_user(session: Session, *, instance_id: int, name: str, field: str) -> User:
    """The platform's user of that name, created if new: never a name the service keeps for its
    own actors, nor a learner's user (its keys act for a student, never for the platform)."""
    refuse_reserved_name(name, field=field)
    user = ensure_user(session, instance_id=instance_id, name=name)
    if user.student_id is not None:
        raise Conflict(
            f"User {name!r} is a learner's user: it acts for a student, never for the platform.",
            errors=[FieldError(field=field, rule="learner_user", message=f"{name!r} is a learner's user")],
        )
    return user


def learner_user_name(student_id: int) -> str:
    """The name of the user the service makes for a learner."""
    return f"learner:{student_id}"


def _student_id_of(session: Session, instance_id: int, student_uid: str) -> int:
    student_id = session.scalar(
        scoped_columns(Student, instance_id, Student.id).where(Student.uid == student_uid)
    )
    if student_id is None:
        raise NotFound(
            f"No student with uid {student_uid!r} in this instance.",
            errors=[FieldError(field="student_uid", rule="not_found", message=f"no student {student_uid!r}")],
        )
    return int(student_id)


def learner_user(session: Session, *, instance_id: int, student_uid: str, user_name: str | None) -> User:
    """The user a learner's key acts as: the student's own, made for it when new.

    A learner has one user, and that user is theirs alone: naming a user that acts for the
    platform, or for another student, is a Conflict that says so (its other keys would otherwise
    become this learner's).
    """
    student_id = _student_id_of(session, instance_id, student_uid)
    own = session.scalar(scoped(User, instance_id).where(User.student_id == student_id))
    named = (
        own if user_name is None else session.scalar(scoped(User, instance_id).where(User.name == user_name))
    )
    if named is not None and named.student_id == student_id:
        return named
    if named is not None and named.student_id is not None:
        raise Conflict(
            f"User {named.name!r} is already another student's user; a user is one learner.",
            errors=[
                FieldError(field="student_uid", rule="one_learner", message="the user is another student")
            ],
        )
    if named is not None:
        raise Conflict(
            f"User {named.name!r} acts for the platform: binding it to student {student_uid!r} would make "
            "its other keys this learner's. Leave `user` out (the learner gets a user of its own) or name "
            "a new one.",
            errors=[
                FieldError(
                    field="user", rule="platform_user", message=f"{named.name!r} acts for the platform"
                )
            ],
        )
    if own is not None:
        raise Conflict(
            f"Student {student_uid!r} is already user {own.name!r}.",
            errors=[FieldError(field="student_uid", rule="unique", message=f"already user {own.name!r}")],
        )
    user = User(
        instance_id=instance_id,
        name=user_name if user_name is not None else learner_user_name(student_id),
        student_id=student_id,
    )
    session.add(user)
    session.flush()
    return user


def create_key(
    session: Session,
    *,
    instance_id: int,
    role: Role,
    user_name: str | None = None,
    name: str = "",
    student_uid: str | None = None,
) -> IssuedKey:
    """A new key for a user of the instance; its secret is returned here and never again.

    With `student_uid`, a learner's key (`studentgroups.permissions`): it acts as that student and
    nothing more, with role `read-only` (a learner's reads) or `staff` (also a learner's writes);
    `admin` is refused. Without it, a key of the platform's user `user_name` (`admin` by default).
    """
    get_instance(session, instance_id=instance_id)
    if user_name is not None:
        refuse_reserved_name(user_name, field="user")
    if student_uid is not None:
        user = learner_user(session, instance_id=instance_id, student_uid=student_uid, user_name=user_name)
    else:
        user = ensure_user(session, instance_id=instance_id, name=user_name or DEFAULT_USER)
    if user.student_id is not None and role == Role.ADMIN:
        raise BadRequest(
            "A learner's key acts as that learner and nothing more: its role is read-only or staff, "
            "never admin.",
            errors=[FieldError(field="role", rule="learner_role", message="a learner's key is never admin")],
        )
    secret = generate_key()
    key = ApiKey(
        instance_id=instance_id,
        user_id=user.id,
        role=role.value,
        name=name,
        prefix=secret[:11],
        key_hash=hash_key(secret),
    )
    session.add(key)
    session.flush()
    return IssuedKey(key=key, secret=secret, user=user)


def list_keys(session: Session, *, instance_id: int) -> Sequence[tuple[ApiKey, User, str | None]]:
    """The instance's keys (never their secrets) with their users, and the uid of the student a
    learner's key acts for."""
    rows = session.execute(
        scoped_columns(ApiKey, instance_id, ApiKey, User, Student.uid)
        .join(User, User.id == ApiKey.user_id)
        .outerjoin(Student, Student.id == User.student_id)
        .order_by(ApiKey.id)
    )
    return [(row[0], row[1], row[2]) for row in rows]


def revoke_key(
    session: Session, *, instance_id: int, key_id: int, by_key_id: int | None = None
) -> tuple[ApiKey, User, str | None]:
    """Revoke a key at once (a revoked key answers 401 from then on); returns it, its user, and
    the uid of the student it acted for, if a learner's."""
    key = get_in_instance(session, ApiKey, key_id, instance_id, what="API key")
    if by_key_id == key.id:
        raise Conflict("A key cannot revoke itself; use another admin key.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    user = session.scalar(scoped(User, instance_id).where(User.id == key.user_id))
    assert user is not None  # a key's user is in the key's instance (foreign key)
    uid = None
    if user.student_id is not None:
        uid = session.scalar(
            scoped_columns(Student, instance_id, Student.uid).where(Student.id == user.student_id)
        )
    return key, user, uid
