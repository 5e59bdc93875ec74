"""Exports and imports at the scale of a large module, each beside a plain statement of its rows (issue 17).

- `grouping`: GET /student_groups/{id}/grouping.csv of 100,000 students in 5,000 sub-groups of
  20, against the same rows (group name, uid, name; the same join and order) read with the bare
  driver on one open connection and written as CSV in this process;
- `roster_import`: `studentgroups roster import` of a CSV of 100,000 new students with three
  attributes (score, gender, major) into a module of an instance of its own, the whole command
  (the process's start included), against a plain COPY of the rows it wrote (PostgreSQL; an
  executemany INSERT on SQLite) into a fresh database of the same schema, keys and indexes
  (`harness.copy_baseline`), in the same run. Beside it, the file's rows copied into a scratch
  TEMP table of the same columns (no keys, no indexes, no WAL): the floor of reading the file.
The first export runs on tables just loaded (no planner statistics: the worst case, which the
service plans for, `db.for_whole_joins`); then statistics are gathered and the service and the
baseline alternate. The server's resident memory is read before the first export and after the last.
Aim (issue 17): each at most 3 x its baseline.
Run: .venv/bin/python bench/exports.py [--sqlite] [--students 100000] [--requests 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from harness import DriverQuery, bench_instance, copy_baseline, fresh_database, pg_connection, running_server
from studentgroups.db import utcnow
from studentgroups.groups.service import create_group, write_memberships
from studentgroups.modules.service import create_module
from studentgroups.siblings import parent_scope
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import ROOT_SCOPE, Group
from studentgroups.tables.students import Student

GROUP_SIZE = 20
COMMAND = str(Path(sys.executable).with_name("studentgroups"))
GROUPING_SQL = (
    "SELECT g.name, s.uid, s.name FROM memberships m JOIN groups g ON g.id = m.group_id "
    "JOIN students s ON s.id = m.student_id WHERE m.instance_id = {p} AND g.parent_group_id = {p} "
    "ORDER BY g.name, g.id, s.uid"
)


def seed(url: str, students: int) -> tuple[int, str, int]:
    """An instance with `students` students in one root group, formed into sub-groups of 20."""
    with bench_instance(url) as (session, instance_id, key):
        now = utcnow()
        ids: list[int] = []
        for start in range(0, students, 10_000):
            rows = session.execute(
                insert(Student).returning(Student.id),
                [
                    {
                        "instance_id": instance_id,
                        "uid": f"e{i:07d}",
                        "name": f"Student {i}",
                        "attributes": {"score": (i % 100) / 100},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(start + 10_000, students))
                ],
            )
            ids.extend(r.id for r in rows)
        parent = create_group(
            session, instance_id=instance_id, name="cohort", student_cluster_id=None, creator_id=None
        )
        write_memberships(
            session, [(parent.id, s) for s in ids], instance_id=instance_id, scope=ROOT_SCOPE, exclusive=True
        )
        groups = [
            Group(
                instance_id=instance_id,
                parent_group_id=parent.id,
                group_type=GroupType.CLASS_GROUP,
                name=f"Team {g:05d}",
            )
            for g in range(students // GROUP_SIZE)
        ]
        session.add_all(groups)
        session.flush()
        write_memberships(
            session,
            [(groups[i // GROUP_SIZE].id, s) for i, s in enumerate(ids)],
            instance_id=instance_id,
            scope=parent_scope(parent.id),
            exclusive=True,
        )
        return instance_id, key, parent.id


def analyze(url: str) -> None:
    """Statistics for the planner (PostgreSQL; SQLite plans without them)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        with pg_connection(parsed, autocommit=True) as conn:
            conn.execute("ANALYZE")


def baseline_grouping(query: DriverQuery, instance_id: int, parent_id: int) -> float:
    start = time.perf_counter()
    out = io.StringIO()
    csv.writer(out).writerows(query.rows(instance_id, parent_id))
    assert out.tell()
    return time.perf_counter() - start


def roster_file(folder: Path, students: int) -> Path:
    path = folder / "roster.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["uid", "name", "score", "gender", "major"])
        writer.writerows(
            (f"n{i:07d}", f"New {i}", f"{(i * 37) % 100}.5", "FMX"[i % 3], ("law", "maths")[i % 2])
            for i in range(students)
        )
    return path


def baseline_copy(url: str, path: Path) -> float:
    """The file's rows into a scratch table of the same columns: COPY, or executemany on SQLite."""
    parsed = make_url(url)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    start = time.perf_counter()
    if parsed.get_backend_name() == "postgresql":
        with pg_connection(parsed) as pg:
            pg.execute(
                "CREATE TEMP TABLE scratch (uid text, name text, score float8, gender text, major text)"
            )
            with pg.cursor().copy("COPY scratch FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            pg.commit()
    else:
        lite = sqlite3.connect(parsed.database or "")
        lite.execute("CREATE TEMP TABLE scratch (uid text, name text, score real, gender text, major text)")
        lite.executemany("INSERT INTO scratch VALUES (?, ?, ?, ?, ?)", rows)
        lite.commit()
        lite.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "exports",
        "database": "sqlite" if args.sqlite else "postgresql",
        "students": args.students,
    }
    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        instance_id, key, parent_id = seed(url, args.students)
        query = DriverQuery(url, GROUPING_SQL)
        with running_server(url) as server, httpx.Client(base_url=server.url, timeout=300) as client:
            headers = {"Authorization": f"Token token={key}"}
            rss_before = server.rss_mb()
            # Once on tables just loaded (no statistics yet: the planner's worst case), then
            # with statistics, as the baseline's plain SELECT deserves.
            start = time.perf_counter()
            assert client.get(f"/student_groups/{parent_id}/grouping.csv", headers=headers).status_code == 200
            stale_s = time.perf_counter() - start
            analyze(url)
            api_s, base_s = [], []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get(f"/student_groups/{parent_id}/grouping.csv", headers=headers)
                api_s.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
                assert response.text.count("\n") == args.students + 1
                base_s.append(baseline_grouping(query, instance_id, parent_id))
            rss_after = server.rss_mb()
        query.close()
        result["grouping"] = {
            "csv_mb": round(len(response.content) / 1e6, 1),
            "api_before_statistics_s": round(stale_s, 2),
            "api_p50_s": round(statistics.median(api_s), 2),
            "baseline_driver_and_csv_p50_s": round(statistics.median(base_s), 3),
            "ratio": round(statistics.median(api_s) / statistics.median(base_s), 2),
            "server_rss_before_mb": round(rss_before, 1),
            "server_rss_after_mb": round(rss_after, 1),
        }
        with bench_instance(url) as (session, importer, _):  # its own instance: its rows are the import's
            create_module(
                session, instance_id=importer, code="BIG1", name="Big", description=None, creator_id=None
            )
        with tempfile.TemporaryDirectory() as folder:
            path = roster_file(Path(folder), args.students)
            scratch_s = baseline_copy(url, path)
            env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": url}
            start = time.perf_counter()
            done = subprocess.run(
                [
                    COMMAND,
                    "roster",
                    "import",
                    "BIG1",
                    str(path),
                    "-i",
                    str(importer),
                    "--numeric",
                    "score",
                    "--category",
                    "gender=F,M,X",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            import_s = time.perf_counter() - start
            assert done.returncode == 0, done.stderr
        copy_s = copy_baseline(url, importer)
        result["roster_import"] = {
            "rows": args.students,
            "command_s": round(import_s, 2),
            "baseline_copy_of_its_rows_s": round(copy_s, 2),
            "ratio": round(import_s / copy_s, 2),
            "scratch_copy_of_the_file_s": round(scratch_s, 2),
            "ratio_to_scratch": round(import_s / scratch_s, 2),
            "said": done.stdout.strip(),
        }
    result["aim_ratio"] = 3
    print(json.dumps(result))


if __name__ == "__main__":
    main()
