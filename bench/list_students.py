"""GET /students with 100,000 students in the instance: the whole array, streamed (issue 14).

Baseline in the same run: the same rows and columns fetched with the bare driver on one open
connection and encoded with orjson in this process, i.e. the cost of the data without the
service. The server's resident memory is read before the first request and after the last:
streamed in chunks of 2,000 rows, the list is never held whole.
Aim: under 2 s a request on SQLite and on PostgreSQL; memory flat.
Run: .venv/bin/python bench/list_students.py [--sqlite] [--students 100000] [--requests 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx
import orjson
from sqlalchemy import insert

from harness import DriverQuery, bench_instance, fresh_database, running_server
from studentgroups.db import utcnow
from studentgroups.tables.students import Student

BASELINE_SQL = (
    "SELECT id, uid, uuid, name, sexe, date_of_birth, country_of_residence, city_of_residence, "
    "attributes, instance_id, created_at, updated_at FROM students WHERE instance_id = {p} ORDER BY id"
)


def seed(url: str, students: int) -> tuple[int, str]:
    with bench_instance(url) as (session, instance_id, key):
        now = utcnow()
        for start in range(0, students, 10_000):
            session.execute(
                insert(Student),
                [
                    {
                        "instance_id": instance_id,
                        "uid": f"e{i:07d}",
                        "name": f"Student {i}",
                        "sexe": ("female", "male", "undefined")[i % 3],
                        "city_of_residence": "Singapore",
                        "attributes": {"score": (i % 100) / 100, "major": "maths"},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(start + 10_000, students))
                ],
            )
    return instance_id, key


class Baseline:
    """The same rows through the bare driver on one open connection, encoded with orjson."""

    def __init__(self, url: str, instance_id: int) -> None:
        self.query = DriverQuery(url, BASELINE_SQL)
        self.instance_id = instance_id
        columns = BASELINE_SQL.split("FROM", maxsplit=1)[0].removeprefix("SELECT")
        self.names = [c.strip() for c in columns.split(",")]

    def once(self) -> float:
        start = time.perf_counter()
        rows = self.query.rows(self.instance_id)
        body = orjson.dumps([dict(zip(self.names, row, strict=True)) for row in rows], default=str)
        assert body
        return time.perf_counter() - start

    def close(self) -> None:
        self.query.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()

    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        instance_id, key = seed(url, args.students)
        with running_server(url) as server, httpx.Client(base_url=server.url, timeout=120) as client:
            headers = {"Authorization": f"Token token={key}"}
            rss_before = server.rss_mb()
            baseline = Baseline(url, instance_id)
            api_s, base_s = [], []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get("/students", headers=headers)
                api_s.append(time.perf_counter() - start)
                assert response.status_code == 200
                assert response.headers["X-Total-Count"] == str(args.students)
                base_s.append(baseline.once())
            assert len(response.json()) == args.students
            rss_after = server.rss_mb()
            baseline.close()

    result = {
        "benchmark": "list_students",
        "database": "sqlite" if args.sqlite else "postgresql",
        "students": args.students,
        "requests": args.requests,
        "response_mb": round(len(response.content) / 1e6, 1),
        "api_p50_s": round(statistics.median(api_s), 2),
        "api_max_s": round(max(api_s), 2),
        "baseline_driver_and_json_p50_s": round(statistics.median(base_s), 2),
        "ratio_api_to_baseline": round(statistics.median(api_s) / statistics.median(base_s), 2),
        "server_rss_before_mb": round(rss_before, 1),
        "server_rss_after_mb": round(rss_after, 1),
        "aim_s": 2,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
