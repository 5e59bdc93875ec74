"""The rules of instances, users and keys. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from studentgroups.auth import generate_key, hash_key
from studentgroups.db import utcnow
from studentgroups.errors import Conflict, FieldError, NotFound
from studentgroups.instances.models import ApiKey, Instance, Role, User
from studentgroups.students.models import Student
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


def ensure_user(session: Session, *, instance_id: int, name: str) -> User:
    """The instance's user of that name, created if new."""
    user = session.scalar(scoped(User, instance_id).where(User.name == name))
    if user is None:
        user = User(instance_id=instance_id, name=name)
        session.add(user)
        session.flush()
    return user


def link_learner(session: Session, *, user: User, student_uid: str) -> None:
    """Make the user the learner `student_uid`: their keys see and manage groups as its member."""
    student_id = session.scalar(
        scoped_columns(Student, user.instance_id, Student.id).where(Student.uid == student_uid)
    )
    if student_id is None:
        raise NotFound(
            f"No student with uid {student_uid!r} in this instance.",
            errors=[FieldError(field="student_uid", rule="not_found", message=f"no student {student_uid!r}")],
        )
    if user.student_id == student_id:
        return
    if user.student_id is not None:
        raise Conflict(
            f"User {user.name!r} is already another student's user; a user is one learner.",
            errors=[
                FieldError(field="student_uid", rule="one_learner", message="the user is another student")
            ],
        )
    other = session.scalar(
        scoped_columns(User, user.instance_id, User.name).where(User.student_id == student_id)
    )
    if other is not None:
        raise Conflict(
            f"Student {student_uid!r} is already user {other!r}.",
            errors=[FieldError(field="student_uid", rule="unique", message=f"already user {other!r}")],
        )
    user.student_id = student_id
    session.flush()


def create_key(
    session: Session,
    *,
    instance_id: int,
    role: Role,
    user_name: str = DEFAULT_USER,
    name: str = "",
    student_uid: str | None = None,
) -> IssuedKey:
    """A new key for a user of the instance; its secret is returned here and never again.

    With `student_uid`, the user is that learner (see `groups.access`).
    """
    get_instance(session, instance_id=instance_id)
    user = ensure_user(session, instance_id=instance_id, name=user_name)
    if student_uid is not None:
        link_learner(session, user=user, student_uid=student_uid)
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


def list_keys(session: Session, *, instance_id: int) -> Sequence[tuple[ApiKey, User]]:
    """The instance's keys (never their secrets) with their users."""
    rows = session.execute(
        scoped_columns(ApiKey, instance_id, ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .order_by(ApiKey.id)
    )
    return [(row[0], row[1]) for row in rows]


def revoke_key(
    session: Session, *, instance_id: int, key_id: int, by_key_id: int | None = None
) -> tuple[ApiKey, User]:
    """Revoke a key at once (a revoked key answers 401 from then on); returns it and its user."""
    key = get_in_instance(session, ApiKey, key_id, instance_id, what="API key")
    if by_key_id == key.id:
        raise Conflict("A key cannot revoke itself; use another admin key.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    user = session.scalar(scoped(User, instance_id).where(User.id == key.user_id))
    assert user is not None  # a key's user is in the key's instance (foreign key)
    return key, user
