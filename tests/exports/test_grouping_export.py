"""A grouping goes out (JSON, CSV in three layouts, API and CLI) and comes back in unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.test_cli import run


def _grouped(tenant: Tenant, count: int = 9, groups: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A root group of `count` students, formed (and saved) into `groups` sub-groups."""
    parent = tenant.group(unique("cohort"))
    students = [
        tenant.student(f"u{i:02d}", name=f"Student, {i}", student_group_id=parent["id"]) for i in range(count)
    ]
    saved = tenant.post(
        f"/student_groups/{parent['id']}/formations",
        json={"create": {"count": groups}, "seed": 5, "save": True},
    )
    assert saved.status_code == 200, saved.text
    return parent, students


def _rows(tenant: Tenant, parent: dict[str, Any]) -> list[tuple[str, str]]:
    """(group name, uid) of every membership under the parent, as the JSON export has them."""
    response = tenant.get(f"/student_groups/{parent['id']}/grouping")
    assert response.status_code == 200, response.text
    return [(r["group"], r["uid"]) for r in response.json()]


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_json_export_lists_every_membership_by_group_and_uid(tenant: Tenant) -> None:
    parent, students = _grouped(tenant)
    response = tenant.get(f"/student_groups/{parent['id']}/grouping")
    assert response.headers["content-type"].startswith("application/json")
    rows = response.json()
    assert len(rows) == 9
    assert set(rows[0]) == {"group_id", "group", "student_id", "uid", "name"}
    assert sorted(r["uid"] for r in rows) == [s["uid"] for s in students]
    assert [(r["group"], r["uid"]) for r in rows] == sorted((r["group"], r["uid"]) for r in rows)
    for row in rows:  # each row is a real membership
        members = tenant.get(f"/student_groups/{row['group_id']}/students").json()
        assert row["student_id"] in {m["id"] for m in members}


@pytest.mark.parametrize(
    ("layout", "header"),
    [
        ("own", ["group_id", "group", "student_id", "uid", "name"]),
        ("canvas", ["name", "user_id", "group_name"]),
        ("moodle", ["username", "course1", "group1"]),
    ],
)
def test_the_csv_layouts_carry_the_same_rows_by_path_and_by_accept(
    tenant: Tenant, layout: str, header: list[str]
) -> None:
    parent, _ = _grouped(tenant)
    expected = _rows(tenant, parent)
    by_path = tenant.get(f"/student_groups/{parent['id']}/grouping.csv", params={"layout": layout})
    by_accept = tenant.get(
        f"/student_groups/{parent['id']}/grouping", params={"layout": layout}, headers={"Accept": "text/csv"}
    )
    for response in (by_path, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "attachment" in response.headers["content-disposition"]
        rows = _csv_rows(response.text)
        assert rows[0] == header
        uid, group = (
            header.index(c)
            for c in {
                "own": ("uid", "group"),
                "canvas": ("user_id", "group_name"),
                "moodle": ("username", "group1"),
            }[layout]
        )
        assert [(r[group], r[uid]) for r in rows[1:]] == expected
    assert by_path.text == by_accept.text
    assert "Student, 1" not in by_path.text or '"Student, 1"' in by_path.text  # a comma is quoted


def test_an_unknown_layout_is_refused_naming_it(tenant: Tenant) -> None:
    parent, _ = _grouped(tenant)
    response = tenant.get(f"/student_groups/{parent['id']}/grouping.csv", params={"layout": "blackboard"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "layout"


def test_another_instances_parent_is_unknown_and_a_reader_exports_nothing(
    tenant: Tenant, make_tenant: Any
) -> None:
    parent, _ = _grouped(tenant)
    other = make_tenant()
    assert other.get(f"/student_groups/{parent['id']}/grouping").status_code == 404
    assert other.get(f"/student_groups/{parent['id']}/grouping.csv").status_code == 404
    reader = tenant.new_key(Role.READ_ONLY, user="auditor")
    assert tenant.get(f"/student_groups/{parent['id']}/grouping", key=reader).status_code == 403
    learner = tenant.post("/api_keys", json={"role": "staff", "student_uid": "u01"}).json()["api_key"]
    assert tenant.get(f"/student_groups/{parent['id']}/grouping.csv", key=learner).status_code == 403


@pytest.mark.parametrize("layout", ["own", "canvas", "moodle"])
def test_each_layout_reimports_unchanged_and_the_import_undoes(
    database_url: str, tenant: Tenant, tmp_path: Path, layout: str
) -> None:
    parent, _ = _grouped(tenant)
    grouped = _rows(tenant, parent)
    instance = ("-i", str(tenant.instance_id))
    exported = run(database_url, "grouping", "export", str(parent["id"]), *instance, "--layout", layout)
    assert exported.returncode == 0, exported.stderr
    api = tenant.get(f"/student_groups/{parent['id']}/grouping.csv", params={"layout": layout})
    # The CLI writes what the API does (its \r\n line ends read back as \n by `run`'s text mode).
    assert exported.stdout == api.text.replace("\r\n", "\n")
    path = tmp_path / f"grouping-{layout}.csv"
    path.write_bytes(exported.stdout.encode())
    # Onto the grouping it came from: nothing changes, but one more formation in the history.
    same = run(database_url, "grouping", "import", str(parent["id"]), str(path), *instance)
    assert same.returncode == 0, same.stderr
    assert "9 students in 3 groups under" in same.stdout
    assert "(0 new groups)" in same.stdout
    assert _rows(tenant, parent) == grouped
    # With the groups gone (the first formation undone, then the import's), it makes them again.
    history = tenant.get(f"/student_groups/{parent['id']}/formations").json()
    assert [h["strategy"] for h in history] == ["import", "random"]
    for entry in history:
        assert tenant.post(f"/formations/{entry['id']}/revert").status_code == 200, entry
    assert _rows(tenant, parent) == []
    again = run(database_url, "grouping", "import", str(parent["id"]), str(path), *instance)
    assert again.returncode == 0, again.stderr
    assert "(3 new groups)" in again.stdout
    assert _rows(tenant, parent) == grouped
    reexported = run(database_url, "grouping", "export", str(parent["id"]), *instance, "--layout", layout)
    if layout == "own":  # the groups are new: their ids differ, their names and members do not
        assert [r[1::2] for r in _csv_rows(reexported.stdout)] == [
            r[1::2] for r in _csv_rows(exported.stdout)
        ]
    else:
        assert reexported.stdout == exported.stdout


def test_a_bad_grouping_file_names_each_line_and_writes_nothing(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    parent, _ = _grouped(tenant)
    outsider = tenant.student("outsider")
    path = tmp_path / "bad.csv"
    path.write_text(f"uid,group\nu00,A\nnobody,A\n{outsider['uid']},B\nu00,B\n", encoding="utf-8")
    before = _rows(tenant, parent)
    instance = ("-i", str(tenant.instance_id))
    result = run(database_url, "grouping", "import", str(parent["id"]), str(path), *instance)
    assert result.returncode == 1
    for message in (
        "line 3, column uid: no student 'nobody' in this instance",
        "line 4, column uid: 'outsider' is not in group",
        "line 5, column uid: 'u00' is also on line 2",
    ):
        assert message in result.stderr, result.stderr
    # A row without its group is found before the database is asked anything.
    path.write_text("uid,group\nu00,A\nu01,\n", encoding="utf-8")
    result = run(database_url, "grouping", "import", str(parent["id"]), str(path), *instance)
    assert result.returncode == 1
    assert "line 3, column group: required" in result.stderr
    assert _rows(tenant, parent) == before
    assert len(tenant.get(f"/student_groups/{parent['id']}/formations").json()) == 1
