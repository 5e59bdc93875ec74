"""Who a record names: a student, by their id, uid, user id (uuid) or their learner's users.

The audit log keeps each write's path and query (never its body): a student is named there by
`/students/{id}` (with any prefix), `/student_groups/{g}/students/{id}`, a `student_id`, `uid`
or `userID` query parameter, their uuid as a path segment, a CLI command's argument, or as the
actor, when the write was made with their own key. Formations name them in their before- and
after-states and, when the request constrained them, in its `keep_together`, `keep_apart` and
`pinned` (Domoscio ids, or LumiNUS user ids).
"""

from __future__ import annotations

import copy
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from sqlalchemy import ColumnElement, func, or_

from studentgroups.tables.audit import AuditEvent


@dataclass(frozen=True, slots=True)
class Subject:
    """A student as records name them."""

    id: int
    uid: str
    uuid: uuid.UUID
    user_ids: tuple[int, ...] = field(default=())
    """Their learner's users: the actors of the writes made with their own keys."""

    def is_named_by_segment(self, previous: str, segment: str) -> bool:
        """Whether one path segment (after `previous`) names the student."""
        return (previous == "students" and segment == str(self.id)) or _is_uuid(segment, self.uuid)

    def is_named_by_parameter(self, name: str, value: str) -> bool:
        """Whether one query parameter names the student."""
        return (
            (name == "student_id" and value == str(self.id))
            or (name == "uid" and value == self.uid)
            or (name == "userID" and _is_uuid(value, self.uuid))
        )


def _is_uuid(text: str, wanted: uuid.UUID) -> bool:
    return len(text) in (32, 36) and text.lower().replace("-", "") == wanted.hex


def _rewrite_path(path: str, subject: Subject, replace: Callable[[str], str]) -> tuple[str, bool]:
    """The path and query with every part that names the subject passed through `replace`."""
    route, question, query = path.partition("?")
    named = False
    segments = route.split("/")
    for i, raw in enumerate(segments):
        if i and subject.is_named_by_segment(unquote_plus(segments[i - 1]), unquote_plus(raw)):
            segments[i] = replace(raw)
            named = True
    parts = query.split("&") if query else []
    for i, part in enumerate(parts):
        raw_name, equals, raw_value = part.partition("=")
        if equals and subject.is_named_by_parameter(unquote_plus(raw_name), unquote_plus(raw_value)):
            parts[i] = f"{raw_name}={replace(raw_value)}"
            named = True
    return "/".join(segments) + (question + "&".join(parts) if question else ""), named


def _rewrite_command(command: str, subject: Subject, replace: Callable[[str], str]) -> tuple[str, bool]:
    """A CLI command with every argument that is the subject's uid (or `--opt=uid`) replaced."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command, False
    named = False
    for i, word in enumerate(words):
        option, equals, value = word.partition("=")
        if word == subject.uid:
            words[i], named = replace(word), True
        elif equals and option.startswith("--") and value == subject.uid:
            words[i], named = f"{option}={replace(value)}", True
    return (shlex.join(words), True) if named else (command, False)


def names_in_event(event: AuditEvent, subject: Subject) -> bool:
    """Whether the audit event names the student."""
    return rewrite_event_path(event, subject, lambda raw: raw)[1] or event.user_id in subject.user_ids


def rewrite_event_path(
    event: AuditEvent, subject: Subject, replace: Callable[[str], str]
) -> tuple[str, bool]:
    """The event's path with what names the subject passed through `replace`, and whether any did."""
    if event.method == "CLI":
        return _rewrite_command(event.path, subject, replace)
    return _rewrite_path(event.path, subject, replace)


def pseudonymise_path(path: str, subject: Subject, pseudonym: str) -> str:
    """A request's path with the subject replaced by the pseudonym."""
    return _rewrite_path(path, subject, lambda _raw: pseudonym)[0]


def event_candidates(subject: Subject) -> ColumnElement[bool]:
    """A condition on `AuditEvent` that every event naming the student meets (and a few more,
    which `names_in_event` then tells apart): one query, however long the log."""
    path = func.lower(AuditEvent.path)
    conditions: list[ColumnElement[bool]] = [
        AuditEvent.path.contains(f"/students/{subject.id}", autoescape=True),
        AuditEvent.path.contains(f"student_id={subject.id}", autoescape=True),
        AuditEvent.path.contains("uid=", autoescape=True),
        path.contains(str(subject.uuid), autoescape=True),
        path.contains(subject.uuid.hex, autoescape=True),
        (AuditEvent.method == "CLI") & AuditEvent.path.contains(subject.uid, autoescape=True),
    ]
    if subject.user_ids:
        conditions.append(AuditEvent.user_id.in_(subject.user_ids))
    return or_(*conditions)


def pseudonymise_request(
    request: dict[str, Any], subject: Subject, pseudonym: str
) -> tuple[dict[str, Any], bool]:
    """A copy of a formation's recorded request with every reference to the student replaced by
    the pseudonym, and whether there was any."""
    request = copy.deepcopy(request)
    named = False

    def same(value: Any, by_uuid: bool) -> bool:
        if by_uuid:
            return isinstance(value, str) and _is_uuid(value, subject.uuid)
        return value == subject.id and not isinstance(value, bool)

    def sets(key: str, by_uuid: bool) -> None:
        nonlocal named
        found = request.get(key)
        if not isinstance(found, list):
            return
        for members in found:
            if isinstance(members, list):
                for i, member in enumerate(members):
                    if same(member, by_uuid):
                        members[i], named = pseudonym, True

    for key, by_uuid in (
        ("keep_together", False),
        ("keep_apart", False),
        ("keepTogether", True),
        ("keepApart", True),
    ):
        sets(key, by_uuid)
    for pin in request.get("pinned") or []:
        if not isinstance(pin, dict):
            continue
        for key, by_uuid in (("student_id", False), ("userID", True)):
            if key in pin and same(pin[key], by_uuid):
                pin[key], named = pseudonym, True
    return request, named
