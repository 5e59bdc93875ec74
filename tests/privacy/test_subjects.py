"""Where a record names a student, and how an erasure takes them out of it (pure functions)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from studentgroups.privacy.subjects import (
    Subject,
    names_in_event,
    pseudonymise_path,
    pseudonymise_request,
    rewrite_event_path,
)
from studentgroups.tables.audit import AuditEvent

SUBJECT = Subject(id=17, uid="ada", uuid=uuid.UUID("6f1c0a4e-1111-4222-8333-444455556666"), user_ids=(5,))
NAMING = [
    "/students/17",
    "/v1/instances/3/students/17",
    "/student_groups/4/students/17",
    "/students/17/export",
    "/modules/2/enrolment/groups/9?student_id=17",
    f"/user/Groups/{uuid.uuid4()}/SelfEnrol?userID={SUBJECT.uuid}",
    f"/user/Groups/x/SelfEnrol?userID={str(SUBJECT.uuid).upper()}",
    "/results?uid=ada&item=q",
]
NOT_NAMING = [
    "/students/170",
    "/students/1",
    "/student_groups/17",
    "/student_groups/17/students/3",
    "/modules/17/roster",
    "/results?uid=adam",
    "/modules/2/enrolment/groups/17?student_id=171",
]


def _event(path: str, method: str = "PUT", user_id: int | None = None) -> AuditEvent:
    return AuditEvent(path=path, method=method, user_id=user_id, actor="someone")


def test_the_paths_that_name_a_student_and_those_that_do_not() -> None:
    assert all(names_in_event(_event(p), SUBJECT) for p in NAMING)
    assert not any(names_in_event(_event(p), SUBJECT) for p in NOT_NAMING)
    assert names_in_event(_event("/user/Groups/x/SelfEnrol", user_id=5), SUBJECT)  # made with their key
    assert names_in_event(_event("studentgroups student export ada --instance 1", "CLI"), SUBJECT)
    assert names_in_event(_event("studentgroups key create --student=ada -i 1", "CLI"), SUBJECT)
    assert not names_in_event(_event("studentgroups student export adam --instance 1", "CLI"), SUBJECT)


@given(st.sampled_from(NAMING), st.sampled_from(NOT_NAMING))
def test_a_pseudonymised_path_no_longer_names_the_student_and_keeps_the_rest(naming: str, other: str) -> None:
    rewritten = pseudonymise_path(naming, SUBJECT, "erased-0a1b2c")
    assert "erased-0a1b2c" in rewritten
    assert not names_in_event(_event(rewritten), SUBJECT)
    assert rewritten.count("/") == naming.count("/")
    assert pseudonymise_path(other, SUBJECT, "erased-0a1b2c") == other
    assert rewrite_event_path(_event(other), SUBJECT, lambda _raw: "x") == (other, False)


def test_a_formations_request_loses_the_student_and_keeps_everyone_else() -> None:
    request = {
        "keep_together": [[17, 18], [3, 4]],
        "keep_apart": [[19, 17]],
        "pinned": [{"student_id": 17, "group_id": 17}, {"student_id": 20, "group_id": 1}],
        "keepTogether": [[str(SUBJECT.uuid), "other"]],
        "seed": 17,
    }
    rewritten, named = pseudonymise_request(request, SUBJECT, "P")
    assert named
    assert rewritten == {
        "keep_together": [["P", 18], [3, 4]],
        "keep_apart": [[19, "P"]],
        "pinned": [{"student_id": "P", "group_id": 17}, {"student_id": 20, "group_id": 1}],
        "keepTogether": [["P", "other"]],
        "seed": 17,
    }
    assert request["keep_together"] == [[17, 18], [3, 4]]  # a copy: the original is untouched
    assert pseudonymise_request({"keep_together": [[1, 2]], "seed": 17}, SUBJECT, "P") == (
        {"keep_together": [[1, 2]], "seed": 17},
        False,
    )
