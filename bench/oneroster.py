"""A OneRoster 1.2 bundle of a university imported whole, beside a plain COPY of its rows (issue 17).

The bundle (tests/oneroster/bundles.py's headers, the specification's) holds `--users` users
(1 in 100 a teacher, the rest students), `--classes` classes, every student enrolled in two
classes and every class taught by one teacher, and a demographics row per student. The service's
number is the whole command, `studentgroups oneroster import BUNDLE.zip`, in a fresh instance
(the process's start included); the baseline is a plain COPY of the rows it wrote (students,
modules, their groups, memberships, staff; an executemany INSERT on SQLite) into a fresh database
of the same schema, keys and indexes (`harness.copy_baseline`), in the same run. Beside it, the
bundle's rows (every cell as text) copied into scratch TEMP tables of the same columns: no keys,
no indexes, no WAL. A second import of the same bundle (nothing to change) is measured too, and
the floor any checking import stands on: the bundle's files only read by `csv.reader`.
Aim (issue 17): at most 3 x the baseline.

Run: .venv/bin/python bench/oneroster.py [--sqlite] [--users 100000] [--classes 2000]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from sqlalchemy.engine import make_url

from harness import bench_instance, copy_baseline, fresh_database, pg_connection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_bundles = __import__("tests.oneroster.bundles", fromlist=["HEADERS"])  # the suite's bundles
HEADERS: dict[str, str] = _bundles.HEADERS
university_rows = _bundles.university_rows
write_rows_zip = _bundles.write_rows_zip

COMMAND = str(Path(sys.executable).with_name("studentgroups"))
KINDS = ("users", "classes", "enrollments", "demographics")
"""The files the baseline copies."""


def baseline_copy(url: str, rows: dict[str, list[list[str]]]) -> float:
    """The bundle's rows into scratch tables of the same columns (text): COPY, or executemany on SQLite."""
    start = time.perf_counter()
    if make_url(url).get_backend_name() == "postgresql":
        with pg_connection(url) as pg:
            for kind in KINDS:
                names = ", ".join(f'"{c}" text' for c in HEADERS[kind].split(","))
                pg.execute(f"CREATE TEMP TABLE scratch_{kind} ({names})")
                with pg.cursor().copy(f"COPY scratch_{kind} FROM STDIN") as copy:
                    for row in rows[kind]:
                        copy.write_row(row)
            pg.commit()
    else:
        lite = sqlite3.connect(make_url(url).database or "")
        for kind in KINDS:
            columns = HEADERS[kind].split(",")
            lite.execute(f"CREATE TEMP TABLE scratch_{kind} ({', '.join(f'{c!r} text' for c in columns)})")
            marks = ", ".join("?" * len(columns))
            lite.executemany(f"INSERT INTO scratch_{kind} VALUES ({marks})", rows[kind])  # noqa: S608
        lite.commit()
        lite.close()
    return time.perf_counter() - start


def bare_csv_read(path: Path) -> float:
    """The bundle's files unzipped and read by csv.reader, and nothing more."""
    start = time.perf_counter()
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            for _ in csv.reader(io.StringIO(archive.read(name).decode("utf-8"), newline="")):
                pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=2_000)
    args = parser.parse_args()
    rows = university_rows(args.users, args.classes)
    result: dict[str, object] = {
        "benchmark": "oneroster",
        "database": "sqlite" if args.sqlite else "postgresql",
        "users": args.users,
        "classes": args.classes,
        "enrollments": len(rows["enrollments"]),
    }
    with (
        fresh_database("sqlite" if args.sqlite else "postgresql") as url,
        tempfile.TemporaryDirectory() as folder,
    ):
        path = Path(folder) / "bundle.zip"
        write_rows_zip(path, rows)
        with bench_instance(url) as (_, instance_id, _key):
            pass
        scratch_s = baseline_copy(url, rows)
        read_s = bare_csv_read(path)
        zip_mb = path.stat().st_size / 1e6
        env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": url}
        command = [COMMAND, "oneroster", "import", str(path), "-i", str(instance_id)]
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            timings.append(time.perf_counter() - start)
            assert done.returncode == 0, done.stderr[-3000:]
            result.setdefault("said_first", done.stdout.strip().splitlines()[:3])
        result["said_again"] = done.stdout.strip().splitlines()[:3]
        copy_s = copy_baseline(url, instance_id)
    result |= {
        "zip_mb": round(zip_mb, 1),
        "bare_csv_read_s": round(read_s, 2),
        "import_s": round(timings[0], 2),
        "reimport_s": round(timings[1], 2),
        "baseline_copy_of_its_rows_s": round(copy_s, 2),
        "ratio": round(timings[0] / copy_s, 2),
        "reimport_ratio": round(timings[1] / copy_s, 2),
        "scratch_copy_of_the_bundle_s": round(scratch_s, 2),
        "ratio_to_scratch": round(timings[0] / scratch_s, 2),
        "aim_ratio": 3,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
