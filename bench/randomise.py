"""Randomise at the scale of a whole course: 100,000 students, 2,000 class groups under one parent.

Measures over HTTP, one worker: the preview (aim < 1 s), the save that replaces an existing
grouping (aim < 3 s, and within 3x of a baseline in the same run that only writes the same
100,000 membership rows through the bare driver: binary COPY, or one prepared INSERT on SQLite),
and the server's peak RSS during the save (aim < 300 MB).
Run: .venv/bin/python bench/randomise.py [--sqlite] [--students 100000] [--groups 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import threading
import time
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from harness import Server, fresh_database, pg_connection, running_server
from studentgroups.db import create_db_engine, create_session_factory, transaction, utcnow
from studentgroups.demo import course_with_class_groups
from studentgroups.groups.service import write_memberships
from studentgroups.settings import Settings
from studentgroups.siblings import parent_scope
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group
from studentgroups.tables.students import Student


def seed_course(url: str, students: int, groups: int) -> dict[str, Any]:
    """A module with `students` on its roster and `groups` class groups under one parent."""
    engine = create_db_engine(Settings(database_url=url))
    with transaction(create_session_factory(engine)) as session:
        seeded = course_with_class_groups(
            session, instance_name="bench", code="BIG1000", name="Big course", groups=groups
        )
        now = utcnow()
        for start in range(0, students, 10_000):
            session.execute(
                insert(Student),
                [
                    {
                        "instance_id": seeded.instance_id,
                        "uid": f"s{i:06d}",
                        "attributes": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(start + 10_000, students))
                ],
            )
        student_ids = list(
            session.scalars(select(Student.id).where(Student.instance_id == seeded.instance_id))
        )
        write_memberships(
            session,
            [(seeded.module.roster_group_id, s) for s in student_ids],
            instance_id=seeded.instance_id,
            scope=f"module:{seeded.module.module.id}:type:{GroupType.STUDENT_ROSTER}",
            exclusive=True,
        )
        target_ids = list(session.scalars(select(Group.id).where(Group.parent_group_id == seeded.parent.id)))
        course = {
            "key": seeded.api_key,
            "resource": str(seeded.module.module.uuid),
            "parent": str(seeded.parent.uuid),
            "parent_id": seeded.parent.id,
            "instance_id": seeded.instance_id,
            "student_ids": student_ids,
            "target_ids": target_ids,
        }
    with engine.connect() as conn:
        # What autovacuum does soon after a bulk load in production: the planner's statistics.
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    return course


def baseline_write(url: str, course: dict[str, Any]) -> float:
    """Only write the same membership rows (after clearing the old ones), then roll back; seconds."""
    rows = [
        (course["target_ids"][i % len(course["target_ids"])], s) for i, s in enumerate(course["student_ids"])
    ]
    scope = parent_scope(course["parent_id"])
    parsed = make_url(url)
    start = time.perf_counter()
    if parsed.get_backend_name() == "postgresql":
        with pg_connection(parsed) as conn:
            start = time.perf_counter()
            conn.execute("DELETE FROM memberships WHERE group_id = ANY(%s)", (course["target_ids"],))
            now = utcnow().replace(tzinfo=None)
            columns = "group_id, student_id, instance_id, sibling_scope, exclusive, created_at"
            with conn.cursor().copy(f"COPY memberships ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8", "int8", "varchar", "bool", "timestamp"])
                for group_id, student_id in rows:
                    copy.write_row((group_id, student_id, course["instance_id"], scope, True, now))
            elapsed = time.perf_counter() - start
            conn.rollback()
        return elapsed
    lite = sqlite3.connect(str(parsed.database), isolation_level=None)
    try:
        lite.execute("PRAGMA foreign_keys=ON")
        start = time.perf_counter()
        lite.execute("BEGIN IMMEDIATE")
        marks = ", ".join("?" * len(course["target_ids"]))
        lite.execute(f"DELETE FROM memberships WHERE group_id IN ({marks})", course["target_ids"])  # noqa: S608
        stamp = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        lite.executemany(
            "INSERT INTO memberships "
            "(group_id, student_id, instance_id, sibling_scope, exclusive, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((g, s, course["instance_id"], scope, 1, stamp) for g, s in rows),
        )
        elapsed = time.perf_counter() - start
        lite.execute("ROLLBACK")
    finally:
        lite.close()
    return elapsed


def timed_call(
    client: httpx.Client, body: dict[str, Any], server: Server | None = None
) -> tuple[float, float]:
    """Seconds for one Randomise call, and the server's peak RSS (MB) while it ran."""
    peak = [server.rss_mb() if server else 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_mb() if server else 0.0)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    response = client.post("/user/Groups/Randomise", json=body)
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    assert response.status_code == 200, response.text[:500]
    assert response.headers["X-Unplaced-Count"] == "0"
    return elapsed, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        started = time.perf_counter()
        course = seed_course(url, args.students, args.groups)
        seeding = time.perf_counter() - started
        body = {"resourceID": course["resource"], "parentGroupID": course["parent"], "seed": 12345}
        with (
            running_server(url) as server,
            httpx.Client(base_url=server.url, timeout=300, headers={"X-API-Key": course["key"]}) as client,
        ):
            timed_call(client, {**body, "toUpdate": True, "seed": 1})  # an existing grouping to replace
            rss_before = server.rss_mb()
            previews = [timed_call(client, body)[0] for _ in range(args.runs)]
            saves, peaks, baselines = [], [], []
            for run in range(args.runs):
                seconds, peak = timed_call(client, {**body, "toUpdate": True, "seed": 100 + run}, server)
                saves.append(seconds)
                peaks.append(peak)
                baselines.append(baseline_write(url, course))
            with create_engine(url).connect() as conn:
                stored = conn.execute(
                    text("SELECT count(*) FROM memberships WHERE sibling_scope = :s"),
                    {"s": parent_scope(course["parent_id"])},
                ).scalar()
            assert stored == args.students, stored

    save = statistics.median(saves)
    baseline = statistics.median(baselines)
    print(
        json.dumps(
            {
                "benchmark": "randomise",
                "database": "sqlite" if args.sqlite else "postgresql",
                "students": args.students,
                "groups": args.groups,
                "runs": args.runs,
                "seeding_s": round(seeding, 1),
                "preview_s": round(statistics.median(previews), 3),
                "save_s": round(save, 3),
                "baseline_write_only_s": round(baseline, 3),
                "save_to_baseline_ratio": round(save / baseline, 2),
                "server_rss_before_mb": round(rss_before, 1),
                "server_peak_rss_during_save_mb": round(max(peaks), 1),
                "aims": {"preview_s": 1, "save_s": 3, "save_to_baseline_ratio": 3, "peak_rss_mb": 300},
            }
        )
    )


if __name__ == "__main__":
    main()
