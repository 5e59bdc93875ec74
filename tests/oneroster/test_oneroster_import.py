"""A OneRoster 1.2 bundle imported with the CLI, read back through the API: classes as modules,
enrollments as rosters and managers, demographics as attributes; re-imported idempotently, with
leavers recorded and undoable; a bad bundle refused by file, line and column, nothing written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select

from studentgroups.tables.instances import Role
from studentgroups.tables.modules import Module
from tests.factories import Tenant
from tests.oneroster.bundles import (
    HEADERS,
    BundleFiles,
    enrollment,
    person,
    school,
    university_rows,
    write_rows_zip,
)
from tests.test_cli import COMMAND, run

STUDENTS = [
    ("s-1", "Ada", "Lovelace"),
    ("s-2", "Alan", "Turing"),
    ("s-3", "Grace", "Hopper"),
    ("s-4", "Edsger", "Dijkstra"),
    ("s-5", "Barbara", "Liskov"),
    ("s-6", "Donald", "Knuth"),
]
ROSTERS = {"MATH101A": ["s-1", "s-2", "s-3", "s-4"], "MATH101B": ["s-5", "s-6"]}


def _import(database_url: str, tenant: Tenant, bundle: Path) -> Any:
    return run(database_url, "oneroster", "import", str(bundle), "-i", str(tenant.instance_id))


def _modules(tenant: Tenant) -> dict[str, dict[str, Any]]:
    return {m["code"]: m for m in tenant.get("/modules", params={"limit": 100}).json()}


def _roster(tenant: Tenant, module_id: int) -> list[str]:
    return sorted(s["uid"] for s in tenant.get(f"/modules/{module_id}/roster", params={"limit": 100}).json())


def test_a_bundle_becomes_modules_rosters_managers_and_attributes(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    imported = _import(database_url, tenant, school(STUDENTS, ROSTERS).write_zip(tmp_path / "sis.zip"))
    assert imported.returncode == 0, imported.stderr
    assert "2 classes from Example SIS: 2 modules created, 0 updated" in imported.stdout
    assert "students: 6 created, 0 updated; 6 joined a roster, 0 left one" in imported.stdout
    assert "managers: 2 added, 0 removed (1 new users)" in imported.stdout
    modules = _modules(tenant)
    assert modules["MATH101A"]["name"] == "Math 101 A"
    assert modules["MATH101A"]["description"] == "Mathematics 101, Fall 2026"
    assert _roster(tenant, modules["MATH101A"]["id"]) == ROSTERS["MATH101A"]
    assert _roster(tenant, modules["MATH101B"]["id"]) == ROSTERS["MATH101B"]
    students = {s["uid"]: s for s in tenant.get("/students", params={"limit": 100}).json()}
    assert students["s-2"]["name"] == "Alan Turing"
    assert students["s-1"]["sexe"] == "female"
    assert students["s-2"]["sexe"] == "male"
    assert students["s-3"]["sexe"] == "undefined"  # `other`: the Domoscio profile has no such value
    assert students["s-1"]["date_of_birth"] == "2010-01-10"
    assert students["s-2"]["attributes"] == {
        "sex": "male",
        "asian": "true",
        "white": "false",
        "hispanicorlatinoethnicity": "false",
        "countryofbirthcode": "US",
    }
    # The teacher's user (named by username) manages both modules; another staff user neither.
    teacher, other = tenant.new_key(Role.STAFF, user="jsmith"), tenant.new_key(Role.STAFF, user="someone")
    for code in ROSTERS:
        path = f"/modules/{modules[code]['id']}/groups"
        assert tenant.post(path, key=teacher, json={"name": "T1"}).status_code == 200
        assert tenant.post(path, key=other, json={"name": "T2"}).status_code == 403


def test_importing_the_same_bundle_again_changes_nothing(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    bundle = school(STUDENTS, ROSTERS).write_folder(tmp_path / "sis")
    assert _import(database_url, tenant, bundle).returncode == 0
    again = _import(database_url, tenant, bundle)
    assert again.returncode == 0, again.stderr
    assert "2 modules created" not in again.stdout
    assert "0 modules created, 0 updated" in again.stdout
    assert "students: 0 created, 0 updated; 0 joined a roster, 0 left one" in again.stdout
    assert "managers: 0 added, 0 removed (0 new users)" in again.stdout


def _form_under_roster(tenant: Tenant, module: dict[str, Any]) -> int:
    roster_id = module["roster_group_id"] if "roster_group_id" in module else module["student_roster_id"]
    formed = tenant.post(
        f"/student_groups/{roster_id}/formations",
        json={"strategy": "random", "seed": 1, "create": {"count": 2}, "save": True},
    )
    assert formed.status_code == 200, formed.text
    return int(roster_id)


def test_a_student_who_left_a_class_leaves_its_roster_and_groups_recorded_and_undoable(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    first = school(STUDENTS, ROSTERS)
    assert _import(database_url, tenant, first.write_zip(tmp_path / "1.zip")).returncode == 0
    module = _modules(tenant)["MATH101A"]
    roster_id = _form_under_roster(tenant, module)
    groups_before = _grouping(tenant, roster_id)
    assert sorted(groups_before) == ROSTERS["MATH101A"]

    # Next term's file: s-3 left MATH101A, s-7 joined it, s-2 changed their name.
    students = [*STUDENTS, ("s-7", "Frances", "Allen")]
    students[1] = ("s-2", "Alan M.", "Turing")
    second = school(students, {"MATH101A": ["s-1", "s-2", "s-4", "s-7"], "MATH101B": ROSTERS["MATH101B"]})
    changed = _import(database_url, tenant, second.write_zip(tmp_path / "2.zip"))
    assert changed.returncode == 0, changed.stderr
    assert "students: 1 created, 1 updated; 1 joined a roster, 1 left one" in changed.stdout
    assert "MATH101A: left: s-3; undo with formation(s)" in changed.stdout
    assert _roster(tenant, module["id"]) == ["s-1", "s-2", "s-4", "s-7"]
    assert "s-3" not in _grouping(tenant, roster_id)
    history = tenant.get(f"/modules/{module['id']}/formations").json()
    leaves = [f for f in history if f["strategy"] == "leave"]
    assert {f["parent_group_id"] for f in leaves} == {None, roster_id}  # the roster, and its sub-groups
    assert all(f["member_count"] == 1 for f in leaves)
    students_now = {s["uid"]: s for s in tenant.get("/students", params={"limit": 100}).json()}
    assert students_now["s-2"]["name"] == "Alan M. Turing"

    for saved in leaves:  # undo: s-3 back on the roster and in their group
        undone = tenant.post(f"/formations/{saved['id']}/revert")
        assert undone.status_code == 200, undone.text
    assert "s-3" in _roster(tenant, module["id"])
    assert _grouping(tenant, roster_id)["s-3"] == groups_before["s-3"]
    again = tenant.post(f"/formations/{leaves[0]['id']}/revert")
    assert again.status_code == 409


def _grouping(tenant: Tenant, parent_id: int) -> dict[str, str]:
    rows = tenant.get(f"/student_groups/{parent_id}/grouping").json()
    return {r["uid"]: r["group"] for r in rows}


def test_a_delta_file_changes_only_the_rows_it_lists(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    assert (
        _import(database_url, tenant, school(STUDENTS, ROSTERS).write_zip(tmp_path / "1.zip")).returncode == 0
    )
    delta = BundleFiles(
        rows={
            "classes": [],
            "users": [
                {**person("s-8", "Ken", "Thompson"), "status": "active", "dateLastModified": "2026-12-01"}
            ],
            "enrollments": [
                {**enrollment("class-math101a", "s-8"), "status": "active", "dateLastModified": "2026-12-01"},
                {
                    **enrollment("class-math101a", "s-1"),
                    "status": "tobedeleted",
                    "dateLastModified": "2026-12-01",
                },
            ],
        },
        modes={"classes": "delta", "users": "delta", "enrollments": "delta"},
    )
    result = _import(database_url, tenant, delta.write_zip(tmp_path / "delta.zip"))
    assert result.returncode == 0, result.stderr
    modules = _modules(tenant)
    assert _roster(tenant, modules["MATH101A"]["id"]) == ["s-2", "s-3", "s-4", "s-8"]
    assert _roster(tenant, modules["MATH101B"]["id"]) == ROSTERS["MATH101B"]


def test_a_bad_bundle_is_refused_by_file_line_and_column_and_nothing_is_written(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    bundle = school(STUDENTS, ROSTERS)
    bundle.rows["enrollments"].append(enrollment("class-nope", "s-1"))  # line 10
    bundle.rows["demographics"][1] = {**bundle.rows["demographics"][1], "sex": "m"}  # line 3
    bundle.rows["users"][0] = {**bundle.rows["users"][0], "enabledUser": "yes"}  # line 2
    refused = _import(database_url, tenant, bundle.write_zip(tmp_path / "bad.zip"))
    assert refused.returncode == 1
    assert (
        "enrollments.csv line 10, column classSourcedId: no class 'class-nope' in classes.csv"
        in refused.stderr
    )
    assert (
        "demographics.csv line 3, column sex: must be one of male, female, unspecified, other"
        in refused.stderr
    )
    assert "users.csv line 2, column enabledUser: must be one of true, false, not 'yes'" in refused.stderr
    assert "3 problem(s) on 3 line(s) of the OneRoster bundle; nothing was written" in refused.stderr
    assert _modules(tenant) == {}
    assert tenant.get("/students").json() == []


def test_a_missing_column_an_unknown_one_and_a_wrong_manifest_are_named(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    folder = school(STUDENTS, ROSTERS).write_folder(tmp_path / "sis")
    users = (folder / "users.csv").read_text().splitlines()
    users[0] = users[0].replace("givenName", "firstName")
    (folder / "users.csv").write_text("\r\n".join(users) + "\r\n")
    (folder / "manifest.csv").write_text(
        (folder / "manifest.csv").read_text().replace("oneroster.version,1.2", "oneroster.version,1.1")
    )
    refused = _import(database_url, tenant, folder)
    assert refused.returncode == 1
    assert "manifest.csv line 3, column value: oneroster.version must be 1.2 ('1.1')" in refused.stderr
    (folder / "manifest.csv").write_text(
        (folder / "manifest.csv").read_text().replace("oneroster.version,1.1", "oneroster.version,1.2")
    )
    refused = _import(database_url, tenant, folder)
    assert "users.csv line 1, column firstname: not a users.csv column (column 7)" in refused.stderr
    assert "users.csv line 1, column givenName: the header must name it [missing_column]" in refused.stderr
    assert "2 problem(s) on 1 line(s) of the OneRoster bundle" in refused.stderr
    assert _modules(tenant) == {}


def test_a_module_made_by_hand_is_adopted_by_code_and_one_of_another_class_is_a_problem(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    made = tenant.post("/modules", json={"code": "MATH101A", "name": "By hand"}).json()
    assert (
        _import(database_url, tenant, school(STUDENTS, ROSTERS).write_zip(tmp_path / "1.zip")).returncode == 0
    )
    modules = _modules(tenant)
    assert modules["MATH101A"]["id"] == made["id"]
    assert modules["MATH101A"]["name"] == "Math 101 A"
    other = school(STUDENTS, {"MATH101A": ["s-1"]})
    other.rows["classes"][0]["sourcedId"] = "class-elsewhere"
    for row in other.rows["enrollments"]:
        row["classSourcedId"] = "class-elsewhere"
    refused = _import(database_url, tenant, other.write_zip(tmp_path / "2.zip"))
    assert refused.returncode == 1
    assert (
        f"classes.csv line 2, column classCode: module {made['id']} of this instance has the code"
        in refused.stderr
    )


def test_an_import_stays_in_its_instance(
    database_url: str, tenant: Tenant, make_tenant: Any, tmp_path: Path
) -> None:
    neighbour = make_tenant()
    theirs = neighbour.post("/modules", json={"code": "MATH101A", "name": "Theirs"}).json()
    neighbour.post("/students", json={"uid": "s-1", "name": "Their s-1"})
    assert (
        _import(database_url, tenant, school(STUDENTS, ROSTERS).write_zip(tmp_path / "1.zip")).returncode == 0
    )
    assert _modules(neighbour) == {"MATH101A": theirs}
    assert [s["name"] for s in neighbour.get("/students").json()] == ["Their s-1"]
    assert _roster(neighbour, theirs["id"]) == []


def test_a_newcomer_is_placed_where_the_module_places_late_enrollees(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    assert (
        _import(database_url, tenant, school(STUDENTS, ROSTERS).write_zip(tmp_path / "1.zip")).returncode == 0
    )
    module = _modules(tenant)["MATH101B"]
    labs = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Labs"}).json()
    subs = [
        tenant.post(
            f"/modules/{module['id']}/groups", json={"name": f"L{i}", "parent_group_id": labs["id"]}
        ).json()
        for i in (1, 2)
    ]
    policy = tenant.put(
        f"/modules/{module['id']}/enrolment/policy",
        json={"parent_group_id": labs["id"], "place_late_enrollees": True},
    )
    assert policy.status_code == 200, policy.text
    students = [*STUDENTS, ("s-7", "Frances", "Allen")]
    later = school(students, {**ROSTERS, "MATH101B": [*ROSTERS["MATH101B"], "s-7"]})
    assert _import(database_url, tenant, later.write_zip(tmp_path / "2.zip")).returncode == 0
    placed = _grouping(tenant, labs["id"])
    assert list(placed) == ["s-7"]
    assert placed["s-7"] in {s["name"] for s in subs}


def test_a_university_of_100000_users_in_one_import(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    """The scale the issue names: 99,000 students and 1,000 teachers in 2,000 classes, every
    student in two; one command, every roster as the file has it."""
    rows = university_rows(100_000, 2_000)
    bundle = write_rows_zip(tmp_path / "university.zip", rows)
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": database_url}
    command = [COMMAND, "oneroster", "import", str(bundle), "-i", str(tenant.instance_id)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2000 classes: 2000 modules created, 0 updated" in done.stdout
    assert "students: 99000 created, 0 updated; 198000 joined a roster, 0 left one" in done.stdout
    assert "managers: 2000 added, 0 removed (1000 new users)" in done.stdout
    columns = HEADERS["enrollments"].split(",")
    expected: dict[str, list[str]] = {}
    for row in rows["enrollments"]:
        cells = dict(zip(columns, row, strict=True))
        if cells["role"] == "student":
            expected.setdefault(cells["classSourcedId"], []).append(cells["userSourcedId"])
    with tenant.sessions() as session:
        found = session.execute(
            select(Module.source_id, Module.id).where(Module.instance_id == tenant.instance_id)
        )
        ids = {source_id: module_id for source_id, module_id in found}
    assert set(ids) == set(expected)
    for class_id in ("class-00000", "class-00777", "class-01999"):
        assert _roster(tenant, ids[class_id]) == sorted(expected[class_id])


def test_a_teacher_named_as_the_service_names_its_own_actors_is_a_problem(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    bundle = school(STUDENTS, ROSTERS)
    teacher = next(i for i, u in enumerate(bundle.rows["users"]) if u["sourcedId"] == "t-1")
    bundle.rows["users"][teacher] = {**bundle.rows["users"][teacher], "username": "learner:12"}
    refused = _import(database_url, tenant, bundle.write_zip(tmp_path / "bad.zip"))
    assert refused.returncode == 1
    assert f"users.csv line {teacher + 2}, column username: may not start with learner:" in refused.stderr
    assert _modules(tenant) == {}
