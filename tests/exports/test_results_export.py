"""Results go out as CSV (API and CLI) and come back in unchanged; figures go out one row per group."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tests.factories import Tenant, unique
from tests.test_cli import run

RESULTS = [
    {"uid": "x-1", "item": "quiz-1", "score": 7, "max_score": 10, "recorded_at": "2026-09-01 10:00:00"},
    {"uid": "x-2", "item": "quiz-1", "score": 9.5, "max_score": 10, "recorded_at": "2026-09-01 10:05:00"},
    {"uid": "x-1", "item": "quiz-2", "score": 0.25, "max_score": 1, "recorded_at": "2026-09-08 09:00:00"},
]


def _with_results(tenant: Tenant) -> dict[str, Any]:
    group = tenant.group(unique("g"))
    for uid in ("x-1", "x-2", "x-3"):
        tenant.student(uid, student_group_id=group["id"])
    stored = tenant.post("/results", json=RESULTS)
    assert stored.status_code == 200, stored.text
    return group


def _table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_results_csv_is_what_the_results_import_reads_by_path_and_by_accept(tenant: Tenant) -> None:
    _with_results(tenant)
    by_path = tenant.get("/results.csv")
    by_accept = tenant.get("/results", headers={"Accept": "text/csv"})
    assert by_path.headers["content-type"] == "text/csv; charset=utf-8"
    assert by_accept.text == by_path.text
    header, *rows = _table(by_path.text)
    assert header == ["uid", "item", "score", "max_score", "recorded_at"]
    assert sorted(rows) == [
        ["x-1", "quiz-1", "7.0", "10.0", "2026-09-01 10:00:00"],
        ["x-1", "quiz-2", "0.25", "1.0", "2026-09-08 09:00:00"],
        ["x-2", "quiz-1", "9.5", "10.0", "2026-09-01 10:05:00"],
    ]
    listed = tenant.get("/results").json()  # in the list's order: by id
    assert rows == [
        [r["uid"], r["item"], repr(r["score"]), repr(r["max_score"]), r["recorded_at"]] for r in listed
    ]
    only = tenant.get("/results.csv", params={"item": "quiz-2"})
    assert [r[1] for r in _table(only.text)[1:]] == ["quiz-2"]
    # A learner's key exports its own results only, as it lists them.
    learner = tenant.post("/api_keys", json={"role": "read-only", "student_uid": "x-2"}).json()["api_key"]
    mine = tenant.get("/results.csv", key=learner)
    assert [r[0] for r in _table(mine.text)[1:]] == ["x-2"]


def test_results_reimport_into_another_instance_unchanged(
    database_url: str, tenant: Tenant, make_tenant: Any, tmp_path: Path
) -> None:
    _with_results(tenant)
    exported = run(database_url, "results", "export", "-i", str(tenant.instance_id))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == tenant.get("/results.csv").text.replace("\r\n", "\n")
    other = make_tenant()
    for uid in ("x-1", "x-2"):
        other.student(uid)
    path = tmp_path / "results.csv"
    path.write_text(exported.stdout, encoding="utf-8")
    imported = run(database_url, "results", "import", str(path), "-i", str(other.instance_id))
    assert imported.returncode == 0, imported.stderr
    assert other.get("/results.csv").text == tenant.get("/results.csv").text


def test_a_groups_and_a_clusters_figures_are_one_csv_row_per_group(tenant: Tenant) -> None:
    group = _with_results(tenant)
    figures = tenant.get(f"/student_groups/{group['id']}/results").json()
    for response in (
        tenant.get(f"/student_groups/{group['id']}/results.csv"),
        tenant.get(f"/student_groups/{group['id']}/results", headers={"Accept": "text/csv"}),
    ):
        assert response.status_code == 200, response.text
        header, row = _table(response.text)
        assert header[:2] == ["student_group_id", "name"]
        assert dict(zip(header, row, strict=True))["member_count"] == "3"
        assert float(dict(zip(header, row, strict=True))["mean_score"]) == figures["mean_score"]
    cluster = tenant.cluster()
    second = tenant.group(unique("g"))
    for g in (group, second):
        assert (
            tenant.put(f"/student_groups/{g['id']}", json={"student_cluster_id": cluster["id"]}).status_code
            == 200
        )
    table = _table(tenant.get(f"/student_clusters/{cluster['id']}/results.csv").text)
    assert [r[0] for r in table[1:]] == [
        str(group["id"]),
        str(second["id"]),
        "",
    ]  # the groups, then the cluster
    assert table[-1][1] == cluster["name"]
