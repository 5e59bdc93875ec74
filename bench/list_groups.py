"""GET /student_groups with 10,000 groups in the instance (the whole array, as a Domoscio client asks).

Baseline in the same run: the same rows fetched with the bare driver on one open connection and
encoded with orjson in this process, i.e. the cost of the data itself without the service.
Run: .venv/bin/python bench/list_groups.py [--sqlite] [--groups 10000] [--requests 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx
import orjson
from sqlalchemy import insert

from harness import DriverQuery, bench_instance, fresh_database, percentile, running_server
from studentgroups.db import utcnow
from studentgroups.tables.groups import Group

BASELINE_SQL = (
    "SELECT id, name, student_cluster_id, instance_id, created_at, updated_at "
    "FROM groups WHERE instance_id = {p} ORDER BY id"
)


def seed(url: str, groups: int) -> tuple[int, str]:
    with bench_instance(url) as (session, instance_id, key):
        now = utcnow()
        session.execute(
            insert(Group),
            [
                {
                    "instance_id": instance_id,
                    "name": f"Tutorial group {i:05d}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(groups)
            ],
        )
    return instance_id, key


class Baseline:
    """The same rows through the bare driver on one open connection, encoded with orjson."""

    def __init__(self, url: str, instance_id: int) -> None:
        self.query = DriverQuery(url, BASELINE_SQL)
        self.instance_id = instance_id

    def once(self) -> float:
        start = time.perf_counter()
        rows = self.query.rows(self.instance_id)
        body = orjson.dumps(
            [
                {
                    "id": r[0],
                    "name": r[1],
                    "student_cluster_id": r[2],
                    "instance_id": r[3],
                    "created_at": str(r[4])[:19],
                    "updated_at": str(r[5])[:19],
                }
                for r in rows
            ]
        )
        assert body
        return time.perf_counter() - start

    def close(self) -> None:
        self.query.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        instance_id, key = seed(url, args.groups)
        with running_server(url) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            headers = {"Authorization": f"Token token={key}"}
            assert len(client.get("/student_groups", headers=headers).json()) == args.groups  # warm-up
            baseline = Baseline(url, instance_id)
            api_ms, base_ms = [], []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get("/student_groups", headers=headers)
                api_ms.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
                base_ms.append(baseline.once() * 1000)
            size = len(response.content)
            baseline.close()

    result = {
        "benchmark": "list_groups",
        "database": "sqlite" if args.sqlite else "postgresql",
        "groups": args.groups,
        "requests": args.requests,
        "response_bytes": size,
        "api_p50_ms": round(statistics.median(api_ms), 1),
        "api_p99_ms": round(percentile(api_ms, 99), 1),
        "baseline_driver_and_json_p50_ms": round(statistics.median(base_ms), 1),
        "ratio_api_to_baseline": round(statistics.median(api_ms) / statistics.median(base_ms), 2),
        "aim_ms": 150,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
