"""Results at scale: 5,000,000 results of 100,000 students (50 each, 200 items, over a year).

Measures over HTTP, one worker (aims from the issue, PostgreSQL):
- a group of 500 students' figures (`GET /student_groups/{id}/results`): p50 < 50 ms, and within
  1.5x of the same SQL run directly through psycopg on one open connection in this process;
- a cluster of 50 groups compared (`GET /student_clusters/{id}/results`): < 500 ms;
- ingest through `POST /results` in batches of 10,000, students named by uid: >= 50,000 results/s.
Run: .venv/bin/python bench/results.py [--sqlite] [--students 100000] [--per-student 50]
     [--cluster-sizes 20,40,100] [--requests 30] [--batches 6]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import make_url

from harness import fresh_database, percentile, pg_connection, running_server
from studentgroups.db import create_db_engine, create_session_factory, transaction, utcnow
from studentgroups.groups.service import write_memberships
from studentgroups.instances.service import create_instance
from studentgroups.results.aggregates import ResultFilters, figures_statement
from studentgroups.settings import Settings
from studentgroups.tables.clusters import StudentCluster
from studentgroups.tables.groups import ROOT_SCOPE, Group
from studentgroups.tables.students import Student

ITEMS = [f"kn-{i:03d}" for i in range(200)]
START = datetime(2026, 1, 1)


def seed(url: str, students: int, per_student: int, cluster_sizes: list[int]) -> dict[str, Any]:
    """The instance, its students, a 500-student group, 50-group clusters and the results."""
    rng = random.Random(7)
    engine = create_db_engine(Settings(database_url=url))
    with transaction(create_session_factory(engine)) as session:
        instance, issued = create_instance(session, name="bench")
        now = utcnow()
        for start in range(0, students, 10_000):
            session.execute(
                insert(Student),
                [
                    {
                        "instance_id": instance.id,
                        "uid": f"s{i:06d}",
                        "attributes": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(start + 10_000, students))
                ],
            )
        ids = list(
            session.scalars(select(Student.id).where(Student.instance_id == instance.id).order_by(Student.id))
        )
        big = Group(instance_id=instance.id, name="500 students")
        session.add(big)
        session.flush()
        shuffled = list(ids)
        rng.shuffle(shuffled)
        rows = [(big.id, s) for s in shuffled[:500]]
        taken = 500
        clusters: dict[int, int] = {}
        for size in cluster_sizes:
            cohort = StudentCluster(instance_id=instance.id, name=f"50 groups of {size}")
            session.add(cohort)
            session.flush()
            clusters[size] = cohort.id
            tutorials = [
                Group(instance_id=instance.id, name=f"tutorial {i:02d}", student_cluster_id=cohort.id)
                for i in range(50)
            ]
            session.add_all(tutorials)
            session.flush()
            for group in tutorials:
                rows += [(group.id, s) for s in shuffled[taken : taken + size]]
                taken += size
        session.flush()
        write_memberships(session, rows, instance_id=instance.id, scope=ROOT_SCOPE, exclusive=True)
        course = {
            "key": issued.secret,
            "instance_id": instance.id,
            "group_id": big.id,
            "clusters": clusters,
        }
    engine.dispose()
    started = time.perf_counter()
    _load_results(url, instance.id, ids, per_student, rng)
    course["load_s"] = round(time.perf_counter() - started, 1)
    course["results"] = len(ids) * per_student
    course["student_uids"] = [f"s{i:06d}" for i in range(students)]
    return course


def _result_rows(instance_id: int, ids: list[int], per_student: int, rng: random.Random) -> Any:
    for student_id in ids:
        for _ in range(per_student):
            max_score = rng.choice((1.0, 1.0, 10.0, 20.0))
            yield (
                instance_id,
                student_id,
                rng.choice(ITEMS),
                float(rng.randint(0, int(max_score))),
                max_score,
                START + timedelta(minutes=rng.randrange(525_600)),
            )


def _load_results(url: str, instance_id: int, ids: list[int], per_student: int, rng: random.Random) -> None:
    """Bulk-load the results: the secondary indexes and the key are made once the rows are in."""
    parsed = make_url(url)
    columns = "instance_id, student_id, item, score, max_score, recorded_at"
    rows = _result_rows(instance_id, ids, per_student, rng)
    if parsed.get_backend_name() == "postgresql":
        with pg_connection(parsed) as conn:
            definitions = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'results' AND indexname <> 'pk_results'"
            ).fetchall()
            key = conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'results'::regclass AND contype = 'f'"
            ).fetchall()
            for name, _ in definitions:
                conn.execute(f'DROP INDEX "{name}"')
            for name, _ in key:
                conn.execute(f'ALTER TABLE results DROP CONSTRAINT "{name}"')
            with conn.cursor().copy(f"COPY results ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8", "varchar", "float8", "float8", "timestamp"])
                for row in rows:
                    copy.write_row(row)
            for _, definition in definitions:
                conn.execute(definition)
            for name, definition in key:
                conn.execute(f'ALTER TABLE results ADD CONSTRAINT "{name}" {definition}')
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        return
    lite = sqlite3.connect(str(parsed.database), isolation_level=None)
    lite.execute("BEGIN")
    lite.executemany(
        f"INSERT INTO results ({columns}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608 - fixed columns
        ((*row[:5], row[5].strftime("%Y-%m-%d %H:%M:%S.%f")) for row in rows),
    )
    lite.execute("COMMIT")
    lite.execute("ANALYZE")
    lite.close()


class DirectSql:
    """The service's own statement for the group, compiled once, run through the bare driver."""

    def __init__(self, url: str, course: dict[str, Any]) -> None:
        parsed = make_url(url)
        self.is_pg = parsed.get_backend_name() == "postgresql"
        statement = figures_statement(
            course["instance_id"],
            {course["group_id"]: [course["group_id"]]},
            ResultFilters(),
            "postgresql" if self.is_pg else "sqlite",
        )
        dialect = create_engine(url).dialect
        self.sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if self.is_pg:
            self.conn: Any = pg_connection(parsed, autocommit=True)
        else:
            self.conn = sqlite3.connect(str(parsed.database))

    def run(self) -> float:
        start = time.perf_counter()
        rows = self.conn.execute(self.sql).fetchall()
        orjson.dumps([list(r) for r in rows])
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        self.conn.close()


def timed_get(client: httpx.Client, path: str, requests: int) -> list[float]:
    client.get(path)  # warm-up
    out = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text[:300]
    return out


def ingest(url: str, key: str, uids: list[str], batches: int, clients: int) -> tuple[float, int]:
    """POST batches of 10,000 new results by uid from `clients` connections at once; seconds and
    results stored (each client sends `batches`, after one warm-up batch)."""
    rng = random.Random(11 + clients)

    def body() -> bytes:
        return orjson.dumps(
            [
                {
                    "uid": rng.choice(uids),
                    "item": rng.choice(ITEMS),
                    "score": rng.randint(0, 10),
                    "max_score": 10,
                    "recorded_at": "2026-11-22 10:00:00",
                }
                for _ in range(10_000)
            ]
        )

    bodies = [[body() for _ in range(batches + 1)] for _ in range(clients)]
    stored = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def send(i: int) -> None:
        with httpx.Client(base_url=url, timeout=300, headers={"X-API-Key": key}) as client:
            client.post("/results", content=bodies[i][0], headers={"Content-Type": "application/json"})
            barrier.wait()
            for content in bodies[i][1:]:
                response = client.post(
                    "/results", content=content, headers={"Content-Type": "application/json"}
                )
                assert response.status_code == 200, response.text[:300]
                stored[i] += response.json()["created"]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(stored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--per-student", type=int, default=50)
    parser.add_argument(
        "--cluster-sizes", default="20,40,100", help="students per group, one 50-group cluster each"
    )
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--batches", type=int, default=6, help="batches of 10,000 per client")
    args = parser.parse_args()

    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        started = time.perf_counter()
        sizes = [int(x) for x in args.cluster_sizes.split(",")]
        course = seed(url, args.students, args.per_student, sizes)
        seeding = time.perf_counter() - started
        direct = DirectSql(url, course)
        with (
            running_server(url) as server,
            httpx.Client(base_url=server.url, timeout=300, headers={"X-API-Key": course["key"]}) as client,
        ):
            group_path = f"/student_groups/{course['group_id']}/results"
            answer = client.get(group_path).json()
            api, sql = [], []
            for _ in range(args.requests):  # alternate, so noise falls on both alike
                api += timed_get(client, group_path, 1)
                sql.append(direct.run())
            clusters = {
                size: statistics.median(
                    timed_get(client, f"/student_clusters/{cluster_id}/results", max(5, args.requests // 3))
                )
                for size, cluster_id in course["clusters"].items()
            }
            ingested = {
                clients: ingest(server.url, course["key"], course["student_uids"], args.batches, clients)
                for clients in (1, 2)
            }
        direct.close()

    print(
        json.dumps(
            {
                "benchmark": "results",
                "database": "sqlite" if args.sqlite else "postgresql",
                "results": course["results"],
                "students": args.students,
                "seeding_s": round(seeding, 1),
                "group_members": answer["member_count"],
                "group_results": answer["result_count"],
                "group_api_p50_ms": round(statistics.median(api), 1),
                "group_api_p99_ms": round(percentile(api, 99), 1),
                "group_direct_sql_p50_ms": round(statistics.median(sql), 1),
                "group_api_to_sql_ratio": round(statistics.median(api) / statistics.median(sql), 2),
                "cluster_of_50_groups_api_p50_ms_by_group_size": {
                    str(size): round(ms, 1) for size, ms in clusters.items()
                },
                "ingest_results_per_s_by_clients": {
                    str(clients): round(stored / seconds) for clients, (seconds, stored) in ingested.items()
                },
                "aims": {"group_p50_ms": 50, "group_ratio": 1.5, "cluster_ms": 500, "ingest_per_s": 50_000},
            }
        )
    )


if __name__ == "__main__":
    main()
