"""Self-enrolment under contention: joins that all take one module's lock, against the same joins
spread over modules of their own, in the same run.

Contended: 2,000 learners on one module's roster join the class groups under one parent, 64
groups of `maxUser` 30; learner i asks for group i mod 64, so each group is asked by 31 or 32
for its 30 seats and the last to ask are refused (full). Every join takes the module's row lock
(`SELECT … FOR UPDATE`) before it counts the seats, so the joins of the module run one at a
time, however many connections send them. Baseline: the same joins, groups and seats, but each
group under a parent of a module of its own, with the learners who ask for it on that module's
roster: 64 modules, no lock that two groups share. The learner, the group asked for and the
order of the requests are the same in both; only the lock is shared or not.

The real server (`studentgroups serve --workers 2`), 64 keep-alive connections pulling the joins
from one list in order (LumiNUS `POST /user/Groups/{groupID}/SelfEnrol`, an admin key acting for
the learner). Each round seeds fresh modules for both runs and alternates which goes first.
Checked after every run, and the script exits 1 otherwise: each answer is 200 `joined` or 409
"Refused (full)" (no 5xx, no collision answered with `Retry-After`), the joins answered equal the
seats taken, which equal the seats asked for within each group's limit, and no group holds more
than its `maxUser` (`memberCount` of the module's group list).
On SQLite (`--sqlite`) every writer begins IMMEDIATE: the whole database is the lock, so the
baseline is serialised too and the ratio says what the module lock costs on top of that.
The server runs at the service's defaults, its self-enrolment sweep (every 30 s) included;
`--sweep-seconds 0` turns the sweep off, to measure the lock alone (docs/benchmarks.md, issue 7).

Run: .venv/bin/python bench/self_enrol.py [--sqlite] [--students 2000] [--groups 64]
     [--seats 30] [--connections 64] [--workers 2] [--rounds 3] [--sweep-seconds S]
     [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
from sqlalchemy import select

from harness import RawConnection, fresh_database, percentile, running_server
from studentgroups.db import create_db_engine, create_session_factory, transaction
from studentgroups.instances.service import create_instance
from studentgroups.modules.roster_import import RosterEntry, StudentProfile, import_roster
from studentgroups.modules.service import create_module
from studentgroups.settings import Settings
from studentgroups.tables.students import Student

SCENARIOS = ("contended", "baseline")
SWEEP_ENV = "STUDENTGROUPS_ENROLMENT_SWEEP_SECONDS"
OPEN = {
    "selfEnrol": True,
    "selfEnrolOpenDate": "2020-01-01T00:00:00Z",
    "selfEnrolCloseDate": "2099-01-01T00:00:00Z",
    "waitlist": False,
}


@dataclass(frozen=True)
class Plan:
    """What a run sends: the key, each join (group id, user id) in order, and each module's id."""

    key: str
    joins: list[tuple[str, str]]
    modules: list[str]


@dataclass
class Run:
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[str]
    """`joined`, `full`, or the unexpected: `<status> <body>`."""
    seats_taken: int
    seats_expected: int
    groups_over_limit: int
    largest_over_limit: int

    @property
    def joins_per_s(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def unexpected(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in ("joined", "full"))

    @property
    def sound(self) -> bool:
        return (
            self.unexpected == 0
            and self.groups_over_limit == 0
            and self.statuses["joined"] == self.seats_taken == self.seats_expected
        )

    def summary(self) -> dict[str, Any]:
        return {
            "joins_per_s": round(self.joins_per_s, 1),
            "last_answer_s": round(self.seconds, 2),  # from the first join sent to the last answered
            "p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "p99_ms": round(percentile(self.latencies_ms, 99), 1),
            "joined": self.statuses["joined"],
            "refused_full": self.statuses["full"],
            "unexpected": self.unexpected,
            "seats_taken": self.seats_taken,
            "groups_over_limit": self.groups_over_limit,
        }


def seed(url: str, *, name: str, modules: int, students: int) -> tuple[str, list[str], list[list[str]]]:
    """A new instance with `modules` modules; learner i on the roster of module i mod `modules`, as
    `studentgroups roster import` puts them there. Its admin key, each module's id (uuid), and the
    user ids (uuids) of each module's learners in the order of i."""
    engine = create_db_engine(Settings(database_url=url))
    try:
        with transaction(create_session_factory(engine)) as session:
            instance, issued = create_instance(session, name=name)
            uuids, learners = [], []
            for m in range(modules):
                view = create_module(
                    session,
                    instance_id=instance.id,
                    code=f"CS{m:04d}",
                    name=f"Module {m}",
                    description=None,
                    creator_id=issued.user.id,
                )
                uids = [f"learner{i:06d}" for i in range(m, students, modules)]
                entries = [RosterEntry(line, StudentProfile(uid=u)) for line, u in enumerate(uids, start=2)]
                import_roster(session, instance_id=instance.id, module=view.module.code, entries=entries)
                uuids.append(str(view.module.uuid))
                learners.append(uids)
            session.flush()
            rows = session.execute(
                select(Student.uid, Student.uuid).where(Student.instance_id == instance.id)
            )
            by_uid = {uid: user_id for uid, user_id in rows}
            return issued.secret, uuids, [[str(by_uid[u]) for u in uids] for uids in learners]
    finally:
        engine.dispose()


def class_groups(
    client: httpx.Client, key: str, module: str, names: list[str], parent: str | None, **fields: Any
) -> list[str]:
    response = client.post(
        "/user/Groups/ClassGroups",
        headers={"Authorization": f"Token token={key}"},
        json={
            "resourceID": module,
            "parentGroupID": parent,
            "classGroup": [{"groupName": n, **fields} for n in names],
        },
    )
    response.raise_for_status()
    return [g["id"] for g in response.json()]


def plan(url: str, client: httpx.Client, scenario: str, tag: str, args: argparse.Namespace) -> Plan:
    """Fresh modules for one run; learner i asks for group i mod `groups` in both scenarios."""
    groups = args.groups
    modules = 1 if scenario == "contended" else groups
    key, uuids, learners = seed(url, name=f"{scenario} {tag}", modules=modules, students=args.students)
    seats = {**OPEN, "maxUser": args.seats}
    if scenario == "contended":
        (parent,) = class_groups(client, key, uuids[0], ["Tutorials"], None)
        targets = class_groups(client, key, uuids[0], [f"T{g:03d}" for g in range(groups)], parent, **seats)
        users = learners[0]
    else:
        targets = []
        for module in uuids:
            (parent,) = class_groups(client, key, module, ["Tutorials"], None)
            targets += class_groups(client, key, module, ["T000"], parent, **seats)
        users = [learners[i % groups][i // groups] for i in range(args.students)]
    return Plan(key, [(targets[i % groups], users[i]) for i in range(args.students)], uuids)


async def _send(port: int, plan: Plan, connections: int) -> tuple[float, list[float], Counter[str]]:
    head = f"Authorization: Token token={plan.key}\r\n".encode()
    pending = iter(plan.joins)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    conns = [RawConnection(port) for _ in range(connections)]
    for conn in conns:  # every connection open before the first join
        assert (await conn.request("GET", "/healthz")).status == 200

    async def connection(conn: RawConnection) -> None:
        for group, user in pending:
            body = orjson.dumps({"userID": user, "switch": False, "queue": False})
            sent = time.perf_counter()
            answer = await conn.request("POST", f"/user/Groups/{group}/SelfEnrol", head, body)
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses[_outcome(answer.status, answer.headers, answer.body)] += 1

    start = time.perf_counter()
    await asyncio.gather(*(connection(c) for c in conns))
    seconds = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return seconds, latencies, statuses


def _outcome(status: int, headers: dict[bytes, bytes], body: bytes) -> str:
    if status == 200 and orjson.loads(body).get("status") == "joined":
        return "joined"
    if status == 409 and b"retry-after" not in headers and body.startswith(b'"Refused (full)'):
        return "full"
    return f"{status} {body[:120].decode(errors='replace')}"


def measure(
    url: str, port: int, client: httpx.Client, scenario: str, tag: str, args: argparse.Namespace
) -> Run:
    work = plan(url, client, scenario, tag, args)
    seconds, latencies, statuses = uvloop.run(_send(port, work, args.connections))
    asked = Counter(group for group, _ in work.joins)
    counts: dict[str, tuple[int, int]] = {}
    for module in work.modules:
        response = client.get(
            f"/user/Resource/{module}/Group", headers={"Authorization": f"Token token={work.key}"}
        )
        response.raise_for_status()
        counts.update({g["id"]: (g["memberCount"], g["maxUser"]) for g in response.json()["data"]})
    over = [members - limit for members, limit in (counts[g] for g in asked) if limit and members > limit]
    return Run(
        seconds=seconds,
        latencies_ms=latencies,
        statuses=statuses,
        seats_taken=sum(counts[g][0] for g in asked),
        seats_expected=sum(min(n, args.seats) for n in asked.values()),
        groups_over_limit=len(over),
        largest_over_limit=max(over, default=0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite instead of PostgreSQL")
    parser.add_argument("--students", type=int, default=2_000, help="joins per run, one per learner")
    parser.add_argument("--groups", type=int, default=64, help="groups (and baseline modules)")
    parser.add_argument("--seats", type=int, default=30, help="maxUser of each group")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sweep-seconds",
        type=float,
        help="the server's STUDENTGROUPS_ENROLMENT_SWEEP_SECONDS (0: no sweep); unset: the service's default",
    )
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    args = parser.parse_args()
    kind = "sqlite" if args.sqlite else "postgresql"
    if args.sweep_seconds is not None:  # the server inherits this process's environment
        os.environ[SWEEP_ENV] = str(args.sweep_seconds)

    runs: dict[str, list[Run]] = {s: [] for s in SCENARIOS}
    with (
        fresh_database(kind) as url,
        running_server(url, workers=args.workers) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        warm = argparse.Namespace(**{**vars(args), "students": args.connections * 4})
        measure(url, server.port, client, "baseline", "warm-up", warm)  # both workers past their first calls
        for round_ in range(args.rounds):
            order = SCENARIOS if round_ % 2 == 0 else SCENARIOS[::-1]
            for scenario in order:
                runs[scenario].append(measure(url, server.port, client, scenario, f"round {round_}", args))

    ratios = [c.joins_per_s / b.joins_per_s for c, b in zip(runs["contended"], runs["baseline"], strict=True)]
    result: dict[str, Any] = {
        "benchmark": "self_enrol",
        "database": kind,
        "workers": args.workers,
        "connections": args.connections,
        "joins_per_run": args.students,
        "groups": args.groups,
        "max_user": args.seats,
        "rounds": args.rounds,
        "enrolment_sweep_seconds": os.environ.get(SWEEP_ENV, "default"),
    }
    for scenario in SCENARIOS:
        per_round = runs[scenario]
        result[scenario] = {
            "joins_per_s": round(statistics.median(r.joins_per_s for r in per_round), 1),
            "p50_ms": round(statistics.median(percentile(r.latencies_ms, 50) for r in per_round), 1),
            "p99_ms": round(statistics.median(percentile(r.latencies_ms, 99) for r in per_round), 1),
            "last_answer_s": round(statistics.median(r.seconds for r in per_round), 2),
            "rounds": [r.summary() for r in per_round],
        }
    result["throughput_ratio_per_round"] = [round(r, 3) for r in ratios]
    result["throughput_ratio"] = round(statistics.median(ratios), 3)
    every = [r for scenario in SCENARIOS for r in runs[scenario]]
    result["groups_over_max_user"] = sum(r.groups_over_limit for r in every)
    result["most_over_max_user"] = max(r.largest_over_limit for r in every)
    result["answers"] = dict(sum((r.statuses for r in every), Counter()))
    result["sound"] = all(r.sound for r in every)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    for scenario in SCENARIOS:
        shown = result[scenario]
        print(
            f"{scenario:>9}: {shown['joins_per_s']:8.1f} joins/s  p50 {shown['p50_ms']:7.1f} ms  "
            f"p99 {shown['p99_ms']:7.1f} ms  last answer {shown['last_answer_s']:6.2f} s",
            file=sys.stderr,
        )
    print(
        f"contended / baseline: {result['throughput_ratio']}; groups over maxUser: "
        f"{result['groups_over_max_user']}; every check held: {result['sound']}",
        file=sys.stderr,
    )
    print(json.dumps({k: v for k, v in result.items() if k not in SCENARIOS} | _compact(result)))
    if not result["sound"]:
        sys.exit(1)


def _compact(result: dict[str, Any]) -> dict[str, Any]:
    """The scenarios' medians, without every round (those go to --json)."""
    return {s: {k: v for k, v in result[s].items() if k != "rounds"} for s in SCENARIOS}


if __name__ == "__main__":
    main()
