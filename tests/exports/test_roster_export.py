"""A module's roster goes out as CSV (API and CLI), with every attribute, and comes back in unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.test_cli import run


def _module_with_roster(tenant: Tenant, kind: str = "roster") -> dict[str, Any]:
    module = tenant.post("/modules", json={"code": unique("CS"), "name": "Programming"}).json()
    students = [
        {"uid": "r-03", "name": "Tan, Jun", "attributes": {"score": 64, "gender": "M", "major": "law"}},
        {
            "uid": "r-01",
            "name": "Ada",
            "sexe": "female",
            "date_of_birth": "1990-12-10",
            "attributes": {"score": 71.5, "gender": "F", "code": "007"},
        },
        {
            "uid": "r-02",
            "country_of_residence": "Singapore",
            "attributes": {"score": 0.125, "note": 'said "hi"'},
        },
    ]
    made = tenant.post("/students", json=students)
    assert made.status_code == 200, made.text
    added = tenant.post(f"/modules/{module['id']}/{kind}", json={"uids": [s["uid"] for s in students]})
    assert added.status_code == 200, added.text
    return dict(module)


def _table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("kind", ["roster", "guests"])
def test_the_roster_csv_has_the_profile_then_every_attribute_by_uid(tenant: Tenant, kind: str) -> None:
    module = _module_with_roster(tenant, kind)
    by_path = tenant.get(f"/modules/{module['id']}/{kind}.csv")
    by_accept = tenant.get(f"/modules/{module['id']}/{kind}", headers={"Accept": "text/csv"})
    assert by_path.status_code == 200, by_path.text
    assert by_path.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="{module["code"]}-{kind}.csv"' in by_path.headers["content-disposition"]
    assert by_accept.text == by_path.text
    rows = _table(by_path.text)
    assert rows == [
        [
            "uid",
            "name",
            "sexe",
            "date_of_birth",
            "country_of_residence",
            "city_of_residence",
            "code",
            "gender",
            "major",
            "note",
            "score",
        ],
        ["r-01", "Ada", "female", "1990-12-10", "", "", "007", "F", "", "", "71.5"],
        ["r-02", "", "", "", "Singapore", "", "", "", "", 'said "hi"', "0.125"],
        ["r-03", "Tan, Jun", "", "", "", "", "", "M", "law", "", "64"],
    ]
    # JSON stays the list it was (by id).
    listed = tenant.get(f"/modules/{module['id']}/{kind}").json()
    assert [s["uid"] for s in listed] == ["r-03", "r-01", "r-02"]


def test_only_the_modules_managers_export_its_roster_and_other_instances_see_nothing(
    tenant: Tenant, make_tenant: Any
) -> None:
    module = _module_with_roster(tenant)
    outsider = tenant.new_key(Role.STAFF, user="not-a-manager")
    reader = tenant.new_key(Role.READ_ONLY, user="auditor")
    for key in (outsider, reader):
        assert tenant.get(f"/modules/{module['id']}/roster.csv", key=key).status_code == 403
        assert (
            tenant.get(f"/modules/{module['id']}/roster", key=key, headers={"Accept": "text/csv"}).status_code
            == 403
        )
    other = make_tenant()
    assert other.get(f"/modules/{module['id']}/roster.csv").status_code == 404


def test_an_empty_roster_is_its_header(tenant: Tenant) -> None:
    module = tenant.post("/modules", json={"code": unique("CS"), "name": "Empty"}).json()
    response = tenant.get(f"/modules/{module['id']}/roster.csv")
    assert _table(response.text) == [
        ["uid", "name", "sexe", "date_of_birth", "country_of_residence", "city_of_residence"]
    ]


def test_the_export_reimports_into_another_instance_unchanged(
    database_url: str, tenant: Tenant, make_tenant: Any, tmp_path: Path
) -> None:
    module = _module_with_roster(tenant)
    exported = run(database_url, "roster", "export", module["code"], "-i", str(tenant.instance_id))
    assert exported.returncode == 0, exported.stderr
    api = tenant.get(f"/modules/{module['id']}/roster.csv").text
    assert exported.stdout == api.replace("\r\n", "\n")  # the CLI writes what the API does
    other = make_tenant()
    copy = other.post("/modules", json={"code": module["code"], "name": "The same, elsewhere"}).json()
    path = tmp_path / "roster.csv"
    path.write_text(exported.stdout, encoding="utf-8")
    imported = run(database_url, "roster", "import", copy["code"], str(path), "-i", str(other.instance_id))
    assert imported.returncode == 0, imported.stderr
    assert "3 new students created" in imported.stdout
    again = other.get(f"/modules/{copy['id']}/roster.csv").text
    assert again == api
    students = {s["uid"]: s for s in other.get("/students").json()}
    assert students["r-02"]["attributes"] == {"score": 0.125, "note": 'said "hi"'}
    assert students["r-01"]["attributes"]["code"] == "007"
