"""The `studentgroups` command, run as a user runs it, against the run's database."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from studentgroups.db import transaction
from studentgroups.lookup import student_ids_by_uid
from studentgroups.migrations import upgrade_database
from studentgroups.modules import roster_import
from studentgroups.results import csv_import as results_import
from studentgroups.students.service import insert_students
from tests.factories import Tenant, unique
from tests.live_server import LiveServer

COMMAND = str(Path(sys.executable).with_name("studentgroups"))


def run(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": database_url}
    return subprocess.run(
        [COMMAND, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_instance_create_json_prints_exactly_the_id_and_key(database_url: str, server: LiveServer) -> None:
    result = run(database_url, "instance", "create", "Acme University", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert list(created) == ["instance_id", "api_key"]
    assert isinstance(created["instance_id"], int)
    response = httpx.get(f"{server.url}/student_groups", headers={"X-API-Key": created["api_key"]})
    assert response.status_code == 200


def test_key_create_list_revoke(database_url: str, server: LiveServer) -> None:
    instance = json.loads(run(database_url, "instance", "create", "Keys U", "--json").stdout)["instance_id"]
    made = run(
        database_url,
        "key",
        "create",
        "--instance",
        str(instance),
        "--role",
        "read-only",
        "--user",
        "ta",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["role"] == "read-only"
    headers = {"X-API-Key": key["api_key"]}
    assert httpx.get(f"{server.url}/students", headers=headers).status_code == 200
    assert httpx.post(f"{server.url}/students", headers=headers, json={"uid": "x"}).status_code == 403

    listed = run(database_url, "key", "list", "--instance", str(instance))
    assert listed.returncode == 0
    assert "read-only" in listed.stdout
    assert key["api_key"] not in listed.stdout

    revoked = run(database_url, "key", "revoke", str(key["id"]), "--instance", str(instance))
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{server.url}/students", headers=headers).status_code == 401


def test_key_create_for_a_learner_sees_the_groups_open_to_its_members(
    database_url: str, server: LiveServer
) -> None:
    made = json.loads(run(database_url, "instance", "create", "Learners U", "--json").stdout)
    admin = {"X-API-Key": made["api_key"]}
    module = httpx.post(f"{server.url}/modules", headers=admin, json={"code": "L101", "name": "L"}).json()
    student = httpx.post(f"{server.url}/students", headers=admin, json={"uid": "ada"}).json()
    httpx.post(f"{server.url}/modules/{module['id']}/roster", headers=admin, json={"uids": ["ada"]})
    groups = httpx.post(
        f"{server.url}/user/Groups/ClassGroups",
        headers=admin,
        json={"resourceID": module["uuid"], "classGroup": [{"groupName": "Mine"}, {"groupName": "Other"}]},
    ).json()
    httpx.put(
        f"{server.url}/user/Groups/Users",
        headers=admin,
        json={"iDs_UserGuids": [{"key": groups[0]["id"], "value": [student["uuid"]]}]},
    )
    key = run(
        database_url,
        "key",
        "create",
        "--instance",
        str(made["instance_id"]),
        "--user",
        "ada",
        "--student",
        "ada",
        "--role",
        "read-only",
        "--json",
    )
    assert key.returncode == 0, key.stderr
    learner = {"X-API-Key": json.loads(key.stdout)["api_key"]}
    listed = httpx.get(f"{server.url}/user/Resource/{module['uuid']}/Group", headers=learner).json()
    assert [g["groupName"] for g in listed["data"]] == ["Mine"]
    unknown = run(
        database_url, "key", "create", "--instance", str(made["instance_id"]), "--student", "nobody"
    )
    assert unknown.returncode == 1
    assert "nobody" in unknown.stderr


def test_key_create_for_an_unknown_instance_fails_cleanly(database_url: str) -> None:
    result = run(database_url, "key", "create", "--instance", "987654321")
    assert result.returncode == 1
    assert "error: No instance with id 987654321." in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_prints_a_key_that_reads_the_demo_data(database_url: str, server: LiveServer) -> None:
    result = run(database_url, "demo", "--port", str(server.port))
    assert result.returncode == 0, result.stderr
    key = next(line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith("demo API key"))
    assert f"curl -H 'Authorization: Token token={key}' {server.url}/student_groups" in result.stdout
    groups = httpx.get(f"{server.url}/student_groups", headers={"Authorization": f"Token token={key}"}).json()
    assert len(groups) == 5
    students = httpx.get(f"{server.url}/students", headers={"X-API-Key": key}).json()
    assert len(students) == 40
    assert all(s["student_group_id"] in {g["id"] for g in groups} for s in students)
    cluster_url = next(w for w in result.stdout.split() if w.endswith("/results"))
    figures = httpx.get(cluster_url, headers={"X-API-Key": key}).json()
    assert figures["whole"]["member_count"] == 16
    assert figures["whole"]["result_count"] == 64


def test_migrate_on_a_new_database(tmp_database: str) -> None:
    result = run(tmp_database, "migrate")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stderr
    assert run(tmp_database, "instance", "create", "After migrate", "--json").returncode == 0


# roster import -------------------------------------------------------------------------------------


def _module(tenant: Tenant, code: str | None = None) -> dict[str, Any]:
    response = tenant.post("/modules", json={"code": code or unique("CS"), "name": "Programming Methodology"})
    assert response.status_code == 200, response.text
    module: dict[str, Any] = response.json()
    return module


def _roster_uids(tenant: Tenant, module: dict[str, Any], kind: str = "roster") -> list[str]:
    response = tenant.get(f"/modules/{module['id']}/{kind}")
    assert response.status_code == 200, response.text
    return sorted(s["uid"] for s in response.json())


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / f"{unique('roster')}.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_roster_import_creates_new_students_and_puts_everyone_on_the_roster(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    module = _module(tenant, code="CS1010")
    known = tenant.student("e0000001", name="Known Already")
    roster_csv = _csv(
        tmp_path,
        "uid,name,sexe,date_of_birth,country_of_residence,city_of_residence\n"
        "e0000001,Another Name,male,,,\n"
        "e0000002,Ada Lovelace,female,1990-12-10,United Kingdom,London\n"
        "e0000003,Jun Tan,,,Singapore,\n",
    )
    result = run(
        database_url, "roster", "import", "CS1010", roster_csv, "--instance", str(tenant.instance_id)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "3 students on the roster of CS1010 (2 new students created, 0 already on it)\n"
    assert "adding to the roster" in result.stderr

    assert _roster_uids(tenant, module) == ["e0000001", "e0000002", "e0000003"]
    students = {s["uid"]: s for s in tenant.get("/students").json()}
    assert students["e0000001"] == known  # an existing student is left as they are
    ada = students["e0000002"]
    assert (ada["name"], ada["sexe"], ada["date_of_birth"]) == ("Ada Lovelace", "female", "1990-12-10")
    assert (ada["country_of_residence"], ada["city_of_residence"]) == ("United Kingdom", "London")
    jun = students["e0000003"]
    assert (jun["name"], jun["sexe"], jun["country_of_residence"], jun["city_of_residence"]) == (
        "Jun Tan",
        None,
        "Singapore",
        None,
    )
    assert tenant.get(f"/modules/{module['id']}/guests").json() == []


def test_roster_import_sets_the_files_other_columns_as_typed_attributes_usable_at_once(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    module = _module(tenant)
    kept = tenant.student("k1", attributes={"year": 2, "score": 1})
    roster_csv = _csv(
        tmp_path,
        "uid,name,score,gender,major,code\n"
        "k1,,71.5,F,law,007\n"
        "n1,New One,64,M,finance,12\n"
        "n2,,58,X,,x9\n"
        "n3,,80,F,law,\n",
    )
    args = ("roster", "import", module["code"], roster_csv, "-i", str(tenant.instance_id))
    result = run(database_url, *args, "--category", "gender=F,M,X", "--numeric", "score")
    assert result.returncode == 0, result.stderr
    students = {s["uid"]: s for s in tenant.get(f"/modules/{module['id']}/roster").json()}
    # Numbers as numbers (an int as an int), a column with a non-number in it as text, empty
    # cells not set, and an existing student's other attributes kept (its file values win).
    assert students["k1"]["attributes"] == {
        "year": 2,
        "score": 71.5,
        "gender": "F",
        "major": "law",
        "code": "007",
    }
    assert students["k1"]["name"] == kept["name"]
    assert students["n1"]["attributes"] == {"score": 64, "gender": "M", "major": "finance", "code": "12"}
    assert students["n2"]["attributes"] == {"score": 58, "gender": "X", "code": "x9"}
    assert students["n3"]["attributes"] == {"score": 80, "gender": "F", "major": "law"}
    # At once usable: the roster balanced on score, gender spread.
    preview = tenant.post(
        f"/student_groups/{module['roster_group_id']}/formations",
        json={
            "create": {"count": 2},
            "strategy": "balanced",
            "numeric": ["score"],
            "categorical": ["gender"],
        },
    )
    assert preview.status_code == 200, preview.text
    (score,) = preview.json()["report"]["numeric"]
    assert score["attribute"] == "score"
    assert score["sd_of_means"] < 5  # means 69.5 and 67.75, or closer: random can be 20 apart


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        (
            "uid,gender\na1,F\na2,Q\n",
            ("--category", "gender=F,M,X"),
            "line 3, column gender: 'Q' is not one of F, M, X",
        ),
        (
            "uid,score\na1,12\na2,twelve\n",
            ("--numeric", "score"),
            "line 3, column score: 'twelve' is not a number",
        ),
        (
            "uid,score\na1,12\n",
            ("--numeric", "grade"),
            "line 1, column grade: declared, but not an attribute column",
        ),
        ("uid," + "x" * 65 + "\na1,1\n", (), "an attribute's name has at most 64 characters"),
        ("uid,note\na1," + "y" * 256 + "\n", (), "line 2, column note: at most 255 characters"),
    ],
    ids=["unknown-category", "not-a-number", "declared-missing", "long-name", "long-text"],
)
def test_a_bad_attribute_cell_is_an_error_on_its_line_and_nothing_is_written(
    database_url: str, tenant: Tenant, tmp_path: Path, text: str, options: tuple[str, ...], message: str
) -> None:
    module = _module(tenant)
    args = ("roster", "import", module["code"], _csv(tmp_path, text), "-i", str(tenant.instance_id))
    result = run(database_url, *args, *options)
    assert result.returncode == 1
    assert message in result.stderr
    assert tenant.get("/students").json() == []


def test_importing_the_same_roster_twice_changes_nothing(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    module = _module(tenant)
    roster_csv = _csv(tmp_path, "uid\na1\na2\n")
    args = ("roster", "import", module["code"], roster_csv, "--instance", str(tenant.instance_id))
    assert run(database_url, *args).returncode == 0
    again = run(database_url, *args)
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout.strip()
        == f"2 students on the roster of {module['code']} (0 new students created, 2 already on it)"
    )
    assert len(tenant.get("/students").json()) == 2


def test_roster_import_reads_a_spreadsheet_export(database_url: str, tenant: Tenant, tmp_path: Path) -> None:
    module = _module(tenant)
    path = tmp_path / "export.csv"
    # A byte-order mark, CRLF line ends, capitalised headers, quoted commas and a line break in a cell.
    path.write_bytes(
        "\ufeffUID , Name,City_of_Residence\r\n"
        'e1,"Tan, Jun",Singapore\r\n'
        "\r\n"
        'e2,"Ada\r\nLovelace",\r\n'
        "e3,Zoë,Zürich\r\n".encode()
    )
    result = run(database_url, "roster", "import", module["code"], str(path), "-i", str(tenant.instance_id))
    assert result.returncode == 0, result.stderr
    students = {s["uid"]: s for s in tenant.get("/students").json()}
    assert students["e1"]["name"] == "Tan, Jun"
    assert students["e1"]["city_of_residence"] == "Singapore"
    assert students["e2"]["name"] == "Ada\r\nLovelace"
    assert (students["e3"]["name"], students["e3"]["city_of_residence"]) == ("Zoë", "Zürich")
    assert _roster_uids(tenant, module) == ["e1", "e2", "e3"]


def test_line_numbers_count_the_lines_of_the_file() -> None:
    text = 'uid,name\n\na1,"two\nlines"\na2,\x01\n'
    with pytest.raises(roster_import.InvalidRosterFile) as refused:
        roster_import.parse_roster_csv(text)
    assert [str(p) for p in refused.value.problems] == [
        "line 5, column name: must not contain control characters (tab and line breaks aside) "
        "[control_character]"
    ]


def test_a_roster_file_with_bad_rows_writes_nothing_and_names_each_line(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    module = _module(tenant)
    roster_csv = _csv(
        tmp_path,
        "uid,name,sexe,date_of_birth\n"
        "good-1,Fine,female,2001-02-03\n"
        "good-2,Fine too,,\n"
        "bad-3,Wrong,man,\n"
        "bad-4,Wrong date,,03/02/2001\n"
        "good-1,Twice,,\n",
    )
    result = run(database_url, "roster", "import", module["code"], roster_csv, "-i", str(tenant.instance_id))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{roster_csv}: line 4, column sexe:" in result.stderr
    assert f"{roster_csv}: line 5, column date_of_birth: must be a date written YYYY-MM-DD" in result.stderr
    assert f"{roster_csv}: line 6, column uid: uid 'good-1' is also on line 2 [duplicate]" in result.stderr
    assert "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert _roster_uids(tenant, module) == []
    assert tenant.get("/students").json() == []


def test_roster_import_into_an_unknown_module_fails_cleanly(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    _module(tenant, code="CS1010")
    roster_csv = _csv(tmp_path, "uid\nsomeone\n")
    result = run(
        database_url, "roster", "import", "CS9999", roster_csv, "--instance", str(tenant.instance_id)
    )
    assert result.returncode == 1
    assert f"error: No module with code or id 'CS9999' in instance {tenant.instance_id}." in result.stderr
    assert "Traceback" not in result.stderr
    assert tenant.get("/students").json() == []


def test_roster_import_of_another_instances_module_is_unknown(
    database_url: str, tenant: Tenant, make_tenant: Callable[[], Tenant], tmp_path: Path
) -> None:
    theirs = _module(make_tenant())
    roster_csv = _csv(tmp_path, "uid\nsomeone\n")
    for module in (theirs["code"], str(theirs["id"])):
        result = run(database_url, "roster", "import", module, roster_csv, "-i", str(tenant.instance_id))
        assert result.returncode == 1
        assert "error: No module with code or id" in result.stderr
    assert tenant.get("/students").json() == []


def test_roster_import_names_the_module_by_id_and_fills_the_guests_from_stdin(
    database_url: str, tenant: Tenant
) -> None:
    module = _module(tenant)
    tenant.student("visitor-1")
    result = run(
        database_url,
        "roster",
        "import",
        str(module["id"]),
        "-",
        "--guests",
        "--instance",
        str(tenant.instance_id),
        stdin="uid,name\nvisitor-1,\nvisitor-2,Exchange Student\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"2 students in the guest group of {module['code']} (1 new student created, 0 already in it)"
    )
    assert _roster_uids(tenant, module, "guests") == ["visitor-1", "visitor-2"]
    assert _roster_uids(tenant, module) == []


def test_no_create_missing_refuses_unknown_uids_and_writes_nothing(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    module = _module(tenant)
    tenant.student("known-1")
    roster_csv = _csv(tmp_path, "uid\nknown-1\nstranger-1\nstranger-2\n")
    args = ("roster", "import", module["code"], roster_csv, "-i", str(tenant.instance_id))
    result = run(database_url, *args, "--no-create-missing")
    assert result.returncode == 1
    assert "line 3, column uid: no student 'stranger-1'" in result.stderr
    assert "line 4, column uid: no student 'stranger-2'" in result.stderr
    assert _roster_uids(tenant, module) == []
    assert [s["uid"] for s in tenant.get("/students").json()] == ["known-1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the file is empty"),
        ("name\nAda\n", "line 1, column uid: the header must name a uid column"),
        ("uid, \na1,x\n", "line 1, column (empty, column 2): not a roster column"),
        ("uid\n", "line 1: the file has a header but no students"),
        ("uid,name\na1,Ada,extra\n", "line 2: 3 cell(s), but the header names 2 column(s)"),
    ],
    ids=["empty", "no-uid-column", "unnamed-column", "no-rows", "too-many-cells"],
)
def test_a_malformed_roster_file_is_refused_with_its_line(
    database_url: str, tenant: Tenant, tmp_path: Path, text: str, message: str
) -> None:
    module = _module(tenant)
    result = run(
        database_url, "roster", "import", module["code"], _csv(tmp_path, text), "-i", str(tenant.instance_id)
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert tenant.get("/students").json() == []


def test_import_roster_for_thousands_of_rows_is_set_based(tenant: Tenant) -> None:
    module = _module(tenant)
    existing = [f"old-{i:05}" for i in range(1_500)]
    with transaction(tenant.sessions) as session:
        old_ids = insert_students(
            session, instance_id=tenant.instance_id, students=[{"uid": u} for u in existing]
        )
    on_roster = [old_ids[u] for u in existing[:500]]
    assert tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": on_roster}).status_code == 200

    lines = ["uid,name,sexe\n", *(f"{u},,\n" for u in existing)]
    lines += [f"new-{i:05},Learner {i},{('male', 'female', 'undefined')[i % 3]}\n" for i in range(6_000)]
    entries = roster_import.parse_roster_csv("".join(lines))
    statements: list[str] = []
    stages: set[str] = set()
    with transaction(tenant.sessions) as session:
        engine = session.get_bind()

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            result = roster_import.import_roster(
                session,
                instance_id=tenant.instance_id,
                module=module["code"],
                entries=entries,
                on_progress=lambda stage, done, total: stages.add(stage),
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)

    assert (result.rows, result.created, result.already, result.total) == (7_500, 6_000, 500, 7_500)
    assert len(statements) < 40, "one query per chunk of students, never one per student"
    assert stages == {"looking up students", "creating students", "adding to the roster"}
    listed = tenant.get(f"/modules/{module['id']}/roster", params={"limit": 1})
    assert listed.headers["X-Total-Count"] == "7500"
    learner = tenant.get(f"/modules/{module['id']}/roster", params={"limit": 1, "offset": 7_499}).json()[0]
    assert (learner["uid"], learner["name"], learner["sexe"]) == ("new-05999", "Learner 5999", "undefined")


# results import ------------------------------------------------------------------------------------


def _results(tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = tenant.get("/results", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_results_import_stores_every_row_and_the_api_answers_them(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    ada, jun = tenant.student(unique("ada")), tenant.student(unique("jun"))
    results_csv = _csv(
        tmp_path,
        "uid,student_id,item,score,max_score,recorded_at\n"
        f"{ada['uid']},,quiz-1,0.5,,2014-09-17 09:21:03\n"
        f"{ada['uid']},,exam,17,20,2014-09-17T11:21:03+02:00\n"
        f",{jun['id']},quiz-1,1,,\n"
        f"{jun['uid']},,exam,12.5,20,\n",
    )
    result = run(database_url, "results", "import", results_csv, "--instance", str(tenant.instance_id))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4 results stored for 2 students (2 items)\n"
    assert "storing results" in result.stderr

    assert [
        (r["item"], r["score"], r["max_score"], r["recorded_at"]) for r in _results(tenant, uid=ada["uid"])
    ] == [
        ("quiz-1", 0.5, 1.0, "2014-09-17 09:21:03"),
        ("exam", 17.0, 20.0, "2014-09-17 09:21:03"),
    ]
    juns = _results(tenant, uid=jun["uid"])
    assert [(r["student_id"], r["item"], r["score"], r["max_score"]) for r in juns] == [
        (jun["id"], "quiz-1", 1.0, 1.0),
        (jun["id"], "exam", 12.5, 20.0),
    ]
    assert juns[0]["recorded_at"] == juns[1]["recorded_at"], "one time, the import's, for the whole file"
    assert juns[0]["recorded_at"] > "2014-09-17 09:21:03"


def test_a_results_file_with_bad_rows_writes_nothing_and_names_each_line(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    learner = tenant.student(unique("learner"))
    uid = learner["uid"]
    results_csv = _csv(
        tmp_path,
        "uid,student_id,item,score,max_score,recorded_at\n"
        f"{uid},,fine,1,,\n"
        f"{uid},,too high,3,2,\n"
        f"{uid},,no max,0,0,\n"
        f"{uid},,words,high,,\n"
        f"{uid},{learner['id']},two students,1,,\n"
        f"{uid},,bad date,1,,17/09/2014\n",
    )
    result = run(database_url, "results", "import", results_csv, "-i", str(tenant.instance_id))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{results_csv}: line 3, column score: Value error, 3.0 is above max_score 2.0" in result.stderr
    assert f"{results_csv}: line 4, column max_score: Input should be greater than 0" in result.stderr
    assert (
        f"{results_csv}: line 5, column score: Input should be a valid number [float_type]" in result.stderr
    )
    assert f"{results_csv}: line 6, column uid: Value error, name the student by exactly one" in result.stderr
    assert f"{results_csv}: line 7, column recorded_at:" in result.stderr
    assert "line 2" not in result.stderr
    assert "5 problem(s) on 5 line(s) of the results file; nothing was written." in result.stderr
    assert "Traceback" not in result.stderr
    assert _results(tenant) == []


def test_results_import_of_an_unknown_student_writes_nothing_and_names_its_line(
    database_url: str, tenant: Tenant, make_tenant: Callable[[], Tenant], tmp_path: Path
) -> None:
    learner = tenant.student(unique("learner"))
    stranger = make_tenant().student(unique("stranger"))  # another instance's student is unknown here
    results_csv = _csv(
        tmp_path,
        "uid,student_id,item,score\n"
        f"{learner['uid']},,quiz,1\n"
        "nobody-at-all,,quiz,1\n"
        f",{learner['id']},quiz,0\n"
        f",{stranger['id']},quiz,1\n",
    )
    result = run(database_url, "results", "import", results_csv, "-i", str(tenant.instance_id))
    assert result.returncode == 1
    assert f"{results_csv}: line 3, column uid: no student 'nobody-at-all' in this instance [not_found]" in (
        result.stderr
    )
    assert f"{results_csv}: line 5, column student_id: no student {stranger['id']} in this instance" in (
        result.stderr
    )
    assert "2 problem(s) on 2 line(s)" in result.stderr
    assert _results(tenant) == []


def test_results_import_reads_standard_input(database_url: str, tenant: Tenant) -> None:
    learner = tenant.student(unique("learner"))
    result = run(
        database_url,
        "results",
        "import",
        "-",
        "--instance",
        str(tenant.instance_id),
        stdin=f"item,uid,score\nkn-1,{learner['uid']},1\nkn-2,{learner['uid']},0\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2 results stored for 1 student (2 items)\n"
    assert [(r["item"], r["score"]) for r in _results(tenant, uid=learner["uid"])] == [
        ("kn-1", 1.0),
        ("kn-2", 0.0),
    ]


def test_import_results_for_25000_rows_is_set_based(tenant: Tenant) -> None:
    uids = [f"learner-{i:04}" for i in range(1_200)]
    with transaction(tenant.sessions) as session:
        ids = insert_students(session, instance_id=tenant.instance_id, students=[{"uid": u} for u in uids])
    lines = ["uid,student_id,item,score,max_score\n"]
    for i in range(25_000):
        uid = uids[i % len(uids)]
        student = f",{ids[uid]}" if i % 2 else f"{uid},"  # by id and by uid, alternately
        lines.append(f"{student},item-{i % 3},{i % 11},10\n")
    rows = results_import.parse_results_csv("".join(lines))
    statements: list[str] = []
    stages: set[str] = set()
    with transaction(tenant.sessions) as session:
        engine = session.get_bind()

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            stored = results_import.import_results(
                session,
                instance_id=tenant.instance_id,
                rows=rows,
                on_progress=lambda stage, done, total: stages.add(stage),
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)

    assert stored.summary() == "25000 results stored for 1200 students (3 items)"
    assert len(statements) < 20, "one query per chunk of students, never one per result"
    assert stages == {"looking up students", "storing results"}
    listed = tenant.get("/results", params={"limit": 1})
    assert listed.headers["X-Total-Count"] == "25000"
    # The file's last row: the rows are stored in student order, so look it up by its student.
    last_student = _results(tenant, uid=uids[24_999 % 1_200])
    assert ("item-0", 7, 10) in [(r["item"], r["score"], r["max_score"]) for r in last_student]
    assert len(_results(tenant, uid=uids[0])) == 21


def test_a_student_removed_after_the_check_is_still_named_by_its_line(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = tenant.student(unique("learner"))
    text = "uid,item,score\n" + f"{learner['uid']},q,1\n" * 10_001 + "ghost,q,1\n"
    rows = results_import.parse_results_csv(text)

    def found_then_removed(*args: Any, **kwargs: Any) -> dict[str, int]:
        return {**student_ids_by_uid(*args, **kwargs), "ghost": learner["id"] + 1_000_000}

    # The check finds "ghost"; the service's own look-up, in the second batch, does not.
    monkeypatch.setattr(results_import, "student_ids_by_uid", found_then_removed)
    with pytest.raises(results_import.InvalidResultsFile) as refused, transaction(tenant.sessions) as session:
        results_import.import_results(session, instance_id=tenant.instance_id, rows=rows)
    assert [str(p) for p in refused.value.problems] == [
        "line 10003, column uid: no student 'ghost' in this instance [not_found]"
    ]
    assert _results(tenant) == []


def _roster_csv(path: Path, students: int = 40) -> Path:
    lines = ["uid,score,gender,section"]
    for i in range(students):
        section = "minor" if i in {3, 17} else "major"
        lines.append(f"u{i:03d},{(i * 7 % 40) / 40},{('m', 'f')[i % 2]},{section}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_form_writes_balanced_groups_as_csv_and_reports_on_stderr(tmp_path: Path) -> None:
    roster = _roster_csv(tmp_path / "roster.csv")
    out = tmp_path / "groups.csv"
    args = [
        "form",
        str(roster),
        "--size",
        "5",
        "--strategy",
        "balanced",
        "--numeric",
        "score",
        "--categorical",
        "gender",
        "--no-isolation",
        "section",
        "--keep-apart",
        "u000,u001",
        "--seed",
        "9",
        "--output",
        str(out),
        "--names",
        "Team #",
    ]
    result = run("sqlite:///unused.db", *args)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert sorted(r["uid"] for r in rows) == [f"u{i:03d}" for i in range(40)]
    by_group: dict[str, list[str]] = {}
    for row in rows:
        by_group.setdefault(row["group"], []).append(row["uid"])
    assert sorted(by_group) == sorted(f"Team {i}" for i in range(1, 9))
    assert {len(members) for members in by_group.values()} == {5}
    assert next(g for g, m in by_group.items() if "u000" in m) != next(
        g for g, m in by_group.items() if "u001" in m
    )
    minors = [g for g, m in by_group.items() if {"u003", "u017"} & set(m)]
    assert len(minors) == 1  # the two minority members share a group: neither is alone
    assert "hard constraints broken: 0" in result.stderr
    assert "seed 9" in result.stderr
    again = run("sqlite:///unused.db", *args[:-4], "--names", "Team #")
    assert again.stdout == out.read_text()


def test_form_refuses_a_bad_roster_or_constraints_that_cannot_hold(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("uid,score\nu1,0.5\nu2,high\n")
    refused = run("sqlite:///unused.db", "form", str(bad), "--groups", "2", "--numeric", "score")
    assert refused.returncode == 1
    assert "line 3, column score" in refused.stderr
    roster = _roster_csv(tmp_path / "roster.csv", students=6)
    too_big = run(
        "sqlite:///unused.db", "form", str(roster), "--groups", "3", "--keep-together", "u000,u001,u002"
    )
    assert too_big.returncode == 1
    assert "cannot hold" in too_big.stderr
    neither = run("sqlite:///unused.db", "form", str(roster))
    assert neither.returncode == 2


# The database the CLI finds, and what it says when it cannot use it ---------------------------


def run_in(
    directory: Path, data_home: Path, *args: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command run from `directory`, with the embedded default database unless one is named."""
    env = {k: v for k, v in os.environ.items() if k != "STUDENTGROUPS_DATABASE_URL"}
    env["XDG_DATA_HOME"] = str(data_home)
    if database_url is not None:
        env["STUDENTGROUPS_DATABASE_URL"] = database_url
    return subprocess.run(
        [COMMAND, *args], env=env, cwd=directory, capture_output=True, text=True, timeout=60, check=False
    )


def _one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_without_a_database_a_command_says_to_migrate_and_creates_no_file(tmp_path: Path) -> None:
    here, data = tmp_path / "somewhere", tmp_path / "data"
    here.mkdir()
    line = _one_clear_line(run_in(here, data, "instance", "list"))
    assert "studentgroups migrate" in line
    assert str(data / "studentgroups" / "studentgroups.db") in line
    assert list(here.iterdir()) == []
    assert not data.exists()
    assert "studentgroups migrate" in _one_clear_line(run_in(here, data, "serve", "--port", "1"))


def test_the_cli_finds_the_same_database_wherever_it_runs(tmp_path: Path) -> None:
    first, second, data = tmp_path / "one", tmp_path / "two", tmp_path / "data"
    first.mkdir()
    second.mkdir()
    assert run_in(first, data, "migrate").returncode == 0
    made = run_in(first, data, "instance", "create", "Found everywhere", "--json")
    assert made.returncode == 0, made.stderr
    listed = run_in(second, data, "instance", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Found everywhere" in listed.stdout
    assert (data / "studentgroups" / "studentgroups.db").is_file()
    assert list(first.iterdir()) == list(second.iterdir()) == []


def test_a_database_behind_the_migrations_is_named_with_what_to_do(tmp_database: str, tmp_path: Path) -> None:
    upgrade_database(tmp_database, "0008")
    line = _one_clear_line(run_in(tmp_path, tmp_path, "instance", "list", database_url=tmp_database))
    assert "at migration 0008" in line
    assert "run `studentgroups migrate`" in line
    assert "run `studentgroups migrate`" in _one_clear_line(
        run_in(tmp_path, tmp_path, "serve", "--port", "1", database_url=tmp_database)
    )


def test_a_database_that_cannot_be_reached_is_one_line_never_a_traceback(tmp_path: Path) -> None:
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    line = _one_clear_line(run_in(tmp_path, tmp_path, "instance", "list", database_url=unreachable))
    assert "127.0.0.1:1/nowhere" in line
    assert "STUDENTGROUPS_DATABASE_URL" in line


def test_help_says_where_the_database_is(tmp_path: Path) -> None:
    shown = run_in(tmp_path, tmp_path, "--help")
    assert shown.returncode == 0
    assert "STUDENTGROUPS_DATABASE_URL" in shown.stdout
    assert "XDG_DATA_HOME" in shown.stdout


def test_form_takes_an_objective_and_the_values_to_protect(tmp_path: Path) -> None:
    roster = _roster_csv(tmp_path / "roster.csv")
    base = ["form", str(roster), "--size", "5", "--strategy", "balanced", "--numeric", "score", "--seed", "3"]
    protected = run(
        "sqlite:///unused.db",
        *base,
        "--no-isolation",
        "section",
        "--protect",
        "section=minor",
        "--objective",
        "means",
    )
    assert protected.returncode == 0, protected.stderr
    rows = list(csv.DictReader(protected.stdout.splitlines()))
    group_of = {r["uid"]: r["group"] for r in rows}
    assert group_of["u003"] == group_of["u017"]  # the two protected members keep each other company
    for bad, words in [
        (["--objective", "spread"], "means_and_spreads, spreads"),
        (["--objective", "11"], "0 to 10"),
        (["--no-isolation", "section", "--protect", "gender=m"], "--protect"),
    ]:
        refused = run("sqlite:///unused.db", *base, *bad)
        assert refused.returncode == 2, refused.stderr
        assert words in refused.stderr


def test_form_by_sections_keeps_each_group_in_one_section(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("uid,section,score\n" + "".join(f"u{i:03d},{'AB'[i % 2]},{i}\n" for i in range(40)))
    args = ("form", str(roster), "--groups", "4", "--strategy", "balanced", "--numeric", "score")
    result = run("sqlite:///unused.db", *args, "--sections", "section", "--seed", "1")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    section = {f"u{i:03d}": "AB"[i % 2] for i in range(40)}
    by_group: dict[str, set[str]] = {}
    for row in rows:
        by_group.setdefault(row["group"], set()).add(section[row["uid"]])
    assert sorted(map(sorted, by_group.values())) == [["A"], ["A"], ["B"], ["B"]]
