"""How to write 100,000 memberships fastest: row order and COPY format, in alternating rounds.

The rows replace an existing grouping of a 100,000-student course (2,000 groups). Each round
clears the old rows, then writes the new ones one way, and commits; the ways take turns, so the
machine's noise falls on each alike. Figures are seconds per write, median over the rounds, and
each way's ratio to writing the rows group by group in text (the first way the service used).
Run: .venv/bin/python bench/membership_write.py [--sqlite] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from harness import fresh_database, pg_connection
from randomise import seed_course
from studentgroups.db import utcnow
from studentgroups.siblings import parent_scope

COLUMNS = "group_id, student_id, instance_id, sibling_scope, exclusive, created_at"
Rows = list[tuple[int, int]]


def orders(rows: Rows) -> dict[str, Rows]:
    """The same rows by group (as a grouping lists them), by student, and shuffled."""
    shuffled = list(rows)
    random.shuffle(shuffled)
    return {
        "by_group": sorted(rows),
        "by_student": sorted(rows, key=lambda r: r[1]),
        "random": shuffled,
    }


def postgres_writer(url: str, course: dict[str, Any]) -> tuple[Callable[[str, str, Rows], float], Any]:
    conn = pg_connection(url)
    scope, now = parent_scope(course["parent_id"]), utcnow().replace(tzinfo=None)

    def write(fmt: str, _order: str, rows: Rows) -> float:
        conn.execute("DELETE FROM memberships WHERE sibling_scope = %s", (scope,))
        start = time.perf_counter()
        option = " (FORMAT BINARY)" if fmt == "binary" else ""
        with conn.cursor().copy(f"COPY memberships ({COLUMNS}) FROM STDIN{option}") as copy:
            if fmt == "binary":
                copy.set_types(["int8", "int8", "int8", "varchar", "bool", "timestamp"])
            for group_id, student_id in rows:
                copy.write_row((group_id, student_id, course["instance_id"], scope, True, now))
        conn.commit()
        return time.perf_counter() - start

    return write, conn


def sqlite_writer(url: str, course: dict[str, Any]) -> tuple[Callable[[str, str, Rows], float], Any]:
    conn = sqlite3.connect(str(make_url(url).database), isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    scope, stamp = parent_scope(course["parent_id"]), utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")

    def write(_fmt: str, _order: str, rows: Rows) -> float:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM memberships WHERE sibling_scope = ?", (scope,))
        start = time.perf_counter()
        conn.executemany(
            f"INSERT INTO memberships ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608 - fixed columns
            ((g, s, course["instance_id"], scope, 1, stamp) for g, s in rows),
        )
        conn.execute("COMMIT")
        return time.perf_counter() - start

    return write, conn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kind = "sqlite" if args.sqlite else "postgresql"
    formats = ["prepared_insert"] if args.sqlite else ["text", "binary"]
    random.seed(1)
    with fresh_database(kind) as url:
        course = seed_course(url, 100_000, 2_000)
        targets = course["target_ids"]
        write, conn = (sqlite_writer if args.sqlite else postgres_writer)(url, course)
        write(
            formats[0],
            "by_group",
            [(targets[i % len(targets)], s) for i, s in enumerate(course["student_ids"])],
        )
        seconds: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            grouping = [(random.choice(targets), s) for s in course["student_ids"]]
            for order, rows in orders(grouping).items():
                for fmt in formats:
                    seconds.setdefault(f"{fmt}_{order}", []).append(write(fmt, order, rows))
        conn.close()
    medians = {way: statistics.median(values) for way, values in seconds.items()}
    reference = medians[f"{formats[0]}_by_group"]
    print(
        json.dumps(
            {
                "benchmark": "membership_write",
                "database": kind,
                "rows": len(course["student_ids"]),
                "rounds": args.rounds,
                "seconds": {way: round(value, 3) for way, value in medians.items()},
                "ratio_to_first_by_group": {
                    way: round(value / reference, 2) for way, value in medians.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
