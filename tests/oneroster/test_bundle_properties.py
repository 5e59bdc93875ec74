"""The bundle reader, as properties: any bundle of valid rows reads back as those rows, and any
one broken cell is one problem that names its file, line and column."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studentgroups.oneroster.bundle import InvalidBundle, read_bundle
from tests.oneroster.bundles import BundleFiles, enrollment, person, school_class

ids = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)


@st.composite
def bundles(draw: st.DrawFn) -> BundleFiles:
    classes = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    users = draw(st.lists(ids, min_size=1, max_size=12, unique=True))
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(classes),
                st.sampled_from(users),
                st.sampled_from(["student", "teacher", "proctor"]),
            ),
            max_size=30,
            unique_by=lambda p: (p[0], p[1]),
        )
    )
    return BundleFiles(
        rows={
            "classes": [school_class(f"c-{c}", f"CODE-{c}", f"Class {c}") for c in classes],
            "users": [person(f"u-{u}", "Given", u) for u in users],
            "enrollments": [enrollment(f"c-{c}", f"u-{u}", role) for c, u, role in pairs],
        }
    )


def _files(bundle: BundleFiles) -> dict[str, bytes]:
    return {name: text.encode() for name, text in bundle.texts().items()}


@settings(max_examples=60, deadline=None)
@given(bundles())
def test_a_valid_bundle_reads_back_as_its_rows(bundle: BundleFiles) -> None:
    read = read_bundle(_files(bundle))
    assert list(read.classes) == [r["sourcedId"] for r in bundle.rows["classes"]]
    assert [c.code for c in read.classes.values()] == [r["classCode"] for r in bundle.rows["classes"]]
    assert list(read.users) == [r["sourcedId"] for r in bundle.rows["users"]]
    assert [(e.class_id, e.user_id, e.role) for e in read.enrollments] == [
        (r["classSourcedId"], r["userSourcedId"], r["role"]) for r in bundle.rows["enrollments"]
    ]
    assert all(not e.deleted for e in read.enrollments)


BREAKS = {
    "users": [("enabledUser", "yes", "enum"), ("givenName", "", "missing"), ("status", "gone", "enum")],
    "classes": [("classType", "lecture", "enum"), ("title", "", "missing")],
    "enrollments": [("role", "boss", "enum"), ("beginDate", "2026-13-01", "date"), ("primary", "1", "enum")],
}


@settings(max_examples=60, deadline=None)
@given(bundles(), st.sampled_from(sorted(BREAKS)), st.data())
def test_one_broken_cell_is_one_problem_naming_its_file_line_and_column(
    bundle: BundleFiles, kind: str, data: st.DataObject
) -> None:
    rows = bundle.rows[kind]
    if not rows:
        return
    index = data.draw(st.integers(0, len(rows) - 1))
    column, value, rule = data.draw(st.sampled_from(BREAKS[kind]))
    rows[index] = {**rows[index], column: value}
    with pytest.raises(InvalidBundle) as refusal:
        read_bundle(_files(bundle))
    assert [(p.file, p.line, p.column, p.rule) for p in refusal.value.problems] == [
        (f"{kind}.csv", index + 2, column, rule)
    ]
