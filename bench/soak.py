"""Soak: mixed traffic over several instances on PostgreSQL, 2 workers, memory sampled over time.

64 keep-alive connections (spread over 4 instances, each with its instance's own key) for
5 minutes. Each connection picks operations by weight, as a learning platform calls: reads,
writes, LumiNUS Randomise previews and saves on modules of a few hundred to a few thousand
students, results ingest in batches of 100 to 1,000, and the figures of groups and clusters.
Each connection changes the memberships of its own students and groups only, so those writes
expect no 4xx whatever the others do. Renames of the shared groups and Randomise saves of one
module do overlap between connections, and must all succeed. `contend_add` and `contend_remove`
race for a few students on purpose: their 409 and 404 are the only 4xx expected (besides the 404
of `foreign_get`, another instance's group).

Reports per operation: count, throughput, p50 and p99, the status classes and every status the
traffic does not expect; the server's RSS (master and each worker) every few seconds, with a
flatness verdict over the second half of the run. Exits 1 on any 5xx, unexpected status, answer
holding another tenant's data (or the wrong content), or failed connection.
Run: .venv/bin/python bench/soak.py [--seconds 300] [--connections 64] [--instances 4]
     [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import uvloop
from sqlalchemy.engine import make_url

from harness import (
    ROOT,
    RawConnection,
    RawResponse,
    Server,
    command_line_of,
    cpu_seconds_of,
    fresh_database,
    percentile,
    pg_connection,
    process_tree,
    rss_mb_of,
    running_server,
)

WORKERS = 2
ITEMS = [f"quiz-{i:02d}" for i in range(20)]
SEXES = ("male", "female", "undefined")
CLUSTERS = 4
GROUPS_PER_CLUSTER = 10
GROUP_SIZE = 30
CONTESTED_GROUPS = 4
CONTESTED_STUDENTS = 40
SEED_RESULTS_PER_STUDENT = 20
STUDENTS_PER_TUTORIAL = 25
MAX_OWN_GROUPS = 8

OK = frozenset({200})
NOT_FOUND = frozenset({404})

# Operation, kind, relative weight (they add up to 97). A connection whose own state does not allow
# an operation (no free student to add, say) does the write that makes it possible instead.
OPERATIONS: tuple[tuple[str, str, float], ...] = (
    ("list_groups", "read", 9),
    ("get_group", "read", 12),
    ("list_students", "read", 6),
    ("group_students", "read", 5),
    ("get_cluster", "read", 5),
    ("module_groups", "read", 4),
    ("module_search", "read", 4),
    ("foreign_get", "read", 2),
    ("create_group", "write", 3),
    ("update_group", "write", 4),
    ("delete_group", "write", 3),
    ("add_member", "write", 5),
    ("remove_member", "write", 4),
    ("move_member", "write", 2),
    ("create_student", "write", 3),
    ("contend_add", "write", 2),
    ("contend_remove", "write", 2),
    ("randomise_preview", "randomise", 2.5),
    ("randomise_balanced", "randomise", 1),
    ("randomise_save", "randomise", 1.5),
    ("results_ingest", "results", 3),
    ("group_figures", "results", 6),
    ("cluster_figures", "results", 3),
    ("luminus_group_results", "results", 3),
    ("luminus_compare", "results", 2),
)
KIND = {name: kind for name, kind, _ in OPERATIONS}
WEIGHT_PCT = {name: 100 * weight / sum(w for _, _, w in OPERATIONS) for name, _, weight in OPERATIONS}


# --- the tenants, made as a platform makes them: the CLI, then the API ---------------------------


@dataclass
class Module:
    id: int
    uuid: str
    size: int
    parent: str
    """The class group whose sub-groups Randomise fills (its uuid)."""
    targets: list[str]
    """Those sub-groups' uuids."""


@dataclass
class Tenant:
    index: int
    instance_id: int
    key: str
    uids: list[str]
    student_ids: list[int]
    clusters: list[int]
    groups: list[int]
    """Root groups with members, in the clusters; renamed, never deleted."""
    contested_groups: list[int]
    contested_students: list[int]
    free_students: list[int]
    """In no root group: shared out between the tenant's connections, each writing only its own."""
    modules: list[Module]
    foreign_group: int = 0
    """A group of another instance: this tenant's key must get 404 for it."""


def cli(url: str, *args: str, stdin: bytes | None = None) -> str:
    """Run `studentgroups ARGS` on the database, as an operator does; its standard output."""
    command = [str(Path(sys.executable).with_name("studentgroups")), *args]
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": url, "STUDENTGROUPS_LOG_LEVEL": "warning"}
    done = subprocess.run(command, env=env, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"studentgroups {' '.join(args[:3])} failed: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def call(client: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    """One set-up request that must succeed; its JSON answer."""
    response = client.request(method, path, json=body)
    if response.status_code != 200:
        raise RuntimeError(f"set-up {method} {path}: {response.status_code} {response.text[:500]}")
    return response.json()


def seed_tenant(url: str, base_url: str, index: int, module_sizes: list[int]) -> Tenant:
    """An instance (the CLI) with its modules and students (the CLI's roster import for the
    largest, the API for the others), clusters of root groups with members, class groups under a
    parent in each module (randomised once) and 20 results a student."""
    rng = random.Random(index)
    made = json.loads(cli(url, "instance", "create", f"soak tenant {index}", "--json"))
    instance_id, key = int(made["instance_id"]), str(made["api_key"])
    uids = [f"t{index}-s{i:05d}" for i in range(max(module_sizes))]
    with httpx.Client(base_url=base_url, timeout=300, headers={"X-API-Key": key}) as client:
        modules = [
            call(client, "POST", "/modules", {"code": f"SOAK{index}-{n}", "name": f"Soak module of {size}"})
            for n, size in enumerate(module_sizes)
        ]
        for module, size in zip(modules, module_sizes, strict=True):
            if size == len(uids):
                roster = "uid,name,sexe,country_of_residence\n" + "".join(
                    f"{uid},Learner {uid},{rng.choice(SEXES)},{rng.choice(('SG', 'FR', 'MY'))}\n"
                    for uid in uids
                )
                import_roster = ("roster", "import", str(module["id"]), "-", "--instance", str(instance_id))
                cli(url, *import_roster, stdin=roster.encode())
        for module, size in zip(modules, module_sizes, strict=True):
            if size != len(uids):
                call(client, "POST", f"/modules/{module['id']}/roster", {"uids": uids[:size]})
        by_uid = {s["uid"]: s["id"] for s in call(client, "GET", "/students")}
        ids = [by_uid[uid] for uid in uids]
        clusters, groups = _root_groups(client, ids)
        contested = [
            call(client, "POST", "/student_groups", {"name": f"Contested {g}"})["id"]
            for g in range(CONTESTED_GROUPS)
        ]
        seeded_modules = [
            _class_groups(client, module["id"], module["uuid"], size)
            for module, size in zip(modules, module_sizes, strict=True)
        ]
        rows = [
            {
                "uid": uid,
                "item": rng.choice(ITEMS),
                "score": rng.randint(0, 10),
                "max_score": 10,
                "recorded_at": f"2026-{rng.randint(9, 11):02d}-{rng.randint(1, 28):02d} 10:00:00",
            }
            for uid in uids
            for _ in range(SEED_RESULTS_PER_STUDENT)
        ]
        for start in range(0, len(rows), 10_000):
            call(client, "POST", "/results", rows[start : start + 10_000])
    placed = len(groups) * GROUP_SIZE
    return Tenant(
        index=index,
        instance_id=instance_id,
        key=key,
        uids=uids,
        student_ids=ids,
        clusters=clusters,
        groups=groups,
        contested_groups=contested,
        contested_students=ids[placed : placed + CONTESTED_STUDENTS],
        free_students=ids[placed + CONTESTED_STUDENTS :],
        modules=seeded_modules,
    )


def _root_groups(client: httpx.Client, ids: list[int]) -> tuple[list[int], list[int]]:
    """Clusters of root groups, each group with the next GROUP_SIZE students; their ids."""
    clusters: list[int] = []
    groups: list[int] = []
    for c in range(CLUSTERS):
        cluster_id = call(client, "POST", "/student_clusters", {"name": f"Cohort {c}"})["id"]
        clusters.append(cluster_id)
        for g in range(GROUPS_PER_CLUSTER):
            body = {"name": f"Cohort {c} group {g}", "student_cluster_id": cluster_id}
            group_id = call(client, "POST", "/student_groups", body)["id"]
            members = ids[len(groups) * GROUP_SIZE : (len(groups) + 1) * GROUP_SIZE]
            call(client, "POST", f"/student_groups/{group_id}/students", {"student_ids": members})
            groups.append(group_id)
    return clusters, groups


def _class_groups(client: httpx.Client, module_id: int, module_uuid: str, size: int) -> Module:
    """A parent class group with a tutorial group for every 25 students under it, randomised once."""
    body: dict[str, Any] = {
        "resourceID": module_uuid,
        "classGroup": [{"groupName": "Tutorials", "groupAccess": 2}],
    }
    (parent,) = call(client, "POST", "/user/Groups/ClassGroups", body)
    count = max(2, math.ceil(size / STUDENTS_PER_TUTORIAL))
    targets: list[str] = []
    for start in range(0, count, 100):
        names = [{"groupName": f"T{i:03d}"} for i in range(start, min(count, start + 100))]
        body = {"resourceID": module_uuid, "parentGroupID": parent["id"], "classGroup": names}
        targets += [g["id"] for g in call(client, "POST", "/user/Groups/ClassGroups", body)]
    body = {"resourceID": module_uuid, "parentGroupID": parent["id"], "toUpdate": True, "seed": 1}
    call(client, "POST", "/user/Groups/Randomise", body)
    return Module(module_id, module_uuid, size, parent["id"], targets)


def seed(url: str, base_url: str, instances: int, module_sizes: list[int]) -> list[Tenant]:
    """The tenants, seeded side by side; then the statistics autovacuum would gather."""
    with ThreadPoolExecutor(max_workers=instances) as pool:
        tenants = list(pool.map(lambda i: seed_tenant(url, base_url, i, module_sizes), range(instances)))
    for tenant in tenants:
        other = tenants[(tenant.index + 1) % len(tenants)]
        tenant.foreign_group = other.groups[0] if other is not tenant else 2**31 - 1
    with _connect(url) as conn:
        conn.execute("ANALYZE")
    return tenants


def _connect(url: str) -> psycopg.Connection[Any]:
    return pg_connection(url, autocommit=True)


# --- the traffic --------------------------------------------------------------------------------


@dataclass
class OpStats:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: Counter[int] = field(default_factory=Counter)
    """The statuses the traffic does not expect of this operation, counted."""
    bad_answers: int = 0
    """A 2xx holding another tenant's data, or not what was asked for."""
    failures: int = 0
    """No answer: the connection failed or the request timed out."""
    problems: list[dict[str, Any]] = field(default_factory=list)

    def note(self, problem: dict[str, Any]) -> None:
        if len(self.problems) < 5:
            self.problems.append(problem)


Check = Callable[[RawResponse], bool]


class Client:
    """One keep-alive connection of one tenant, picking operations by weight.

    It owns a share of the tenant's free students and the groups it creates, so that what it
    expects of each write holds whatever the other connections do.
    """

    def __init__(
        self,
        tenant: Tenant,
        free: list[int],
        port: int,
        stats: dict[str, OpStats],
        number: int,
        timeout: float,
    ) -> None:
        self.tenant = tenant
        self.http = RawConnection(port)
        self.stats = stats
        self.number = number
        self.timeout = timeout
        self.rng = random.Random(1_000 + number)
        self.domoscio = f"Authorization: Token token={tenant.key}\r\n".encode()
        self.luminus = f"Ocp-Apim-Subscription-Key: {tenant.key}\r\n".encode()
        self.ours = (b'"instance_id":%d,' % tenant.instance_id, b'"instance_id":%d}' % tenant.instance_id)
        self.free = list(free)
        self.placed: dict[int, int] = {}
        self.own_groups: dict[int, set[int]] = {}
        self.previews: dict[str, tuple[dict[str, Any], int]] = {}
        self.made = 0
        self.operations: dict[str, Callable[[], Awaitable[None]]] = {
            name: getattr(self, name) for name, _, _ in OPERATIONS
        }
        self.names = [name for name, _, _ in OPERATIONS]
        weights = [weight for _, _, weight in OPERATIONS]
        self.cumulative = [sum(weights[: i + 1]) for i in range(len(weights))]

    async def run(self, stop_at: float) -> None:
        while time.perf_counter() < stop_at:
            (name,) = self.rng.choices(self.names, cum_weights=self.cumulative)
            await self.operations[name]()
        self.http.close()

    async def request(
        self,
        name: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        luminus: bool = False,
        expect: frozenset[int] = OK,
        check: Check | None = None,
    ) -> RawResponse | None:
        """One timed request; its answer, or None when there was none."""
        stats = self.stats[name]
        payload = None if body is None else orjson.dumps(body)
        head = self.luminus if luminus else self.domoscio
        content_type = b"application/json-patch+json" if luminus else b"application/json"
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.http.request(method, path, head, payload, content_type)
        except (OSError, EOFError, ValueError, TimeoutError) as error:
            stats.failures += 1
            stats.note({"method": method, "path": path, "error": f"{type(error).__name__}: {error}"})
            await asyncio.sleep(0.1)  # a server that is down is not hammered in a tight loop
            return None
        stats.latencies_ms.append((time.perf_counter() - start) * 1000)
        stats.statuses[response.status] += 1
        if response.status not in expect:
            stats.unexpected[response.status] += 1
            stats.note(_problem(method, path, payload, response))
            return None
        if check is not None and response.status == 200 and not check(response):
            stats.bad_answers += 1
            stats.note({**_problem(method, path, payload, response), "bad_answer": True})
            return None
        return response

    # checks, cheap: bytes counted, nothing parsed

    def only_ours(self, response: RawResponse) -> bool:
        """The answer holds rows, each of the caller's instance."""
        body = response.body
        comma, brace = self.ours
        rows = body.count(b'"instance_id":')
        return rows > 0 and rows == body.count(comma) + body.count(brace)

    def of_module(self, module: Module) -> Check:
        """Every group in the answer is of the module (and there is one)."""
        mark = b'"resourceID":"%s"' % module.uuid.encode()
        return lambda r: r.body.count(b'"resourceID":"') == r.body.count(mark) > 0

    # reads

    async def list_groups(self) -> None:
        path = "/student_groups" if self.rng.random() < 0.5 else "/student_groups?limit=50&offset=0"
        await self.request("list_groups", "GET", path, check=self.only_ours)

    async def get_group(self) -> None:
        group_id = self.rng.choice(self.tenant.groups + self.tenant.contested_groups)
        mark = b'{"id":%d,' % group_id
        prefix = f"/v1/instances/{self.tenant.instance_id}" if self.rng.random() < 0.25 else ""
        await self.request(
            "get_group",
            "GET",
            f"{prefix}/student_groups/{group_id}",
            check=lambda r: self.only_ours(r) and r.body.startswith(mark),
        )

    async def list_students(self) -> None:
        offset = self.rng.randrange(max(1, len(self.tenant.student_ids) - 100))
        path = f"/students?limit=100&offset={offset}"
        await self.request("list_students", "GET", path, check=self.only_ours)

    async def group_students(self) -> None:
        group_id = self.rng.choice(self.tenant.groups)
        path = f"/student_groups/{group_id}/students"
        await self.request("group_students", "GET", path, check=self.only_ours)

    async def get_cluster(self) -> None:
        cluster_id = self.rng.choice(self.tenant.clusters)
        await self.request("get_cluster", "GET", f"/student_clusters/{cluster_id}", check=self.only_ours)

    async def module_groups(self) -> None:
        module = self.rng.choice(self.tenant.modules)
        path = f"/user/Resource/{module.uuid}/Group?limit=50&offset=0"
        await self.request("module_groups", "GET", path, luminus=True, check=self.of_module(module))

    async def module_search(self) -> None:
        module = self.rng.choice(self.tenant.modules)
        text = f"s{self.rng.randrange(module.size // 10):04d}"  # ten students' uids
        path = f"/user/Resource/{module.uuid}/Group/Search?text={text}&parentGroupID={module.parent}&limit=20"
        await self.request("module_search", "GET", path, luminus=True, check=self.of_module(module))

    async def foreign_get(self) -> None:
        path = f"/student_groups/{self.tenant.foreign_group}"
        await self.request("foreign_get", "GET", path, expect=NOT_FOUND)

    # writes: each on this connection's own students and groups

    async def create_group(self) -> None:
        if len(self.own_groups) >= MAX_OWN_GROUPS:
            await self.delete_group()
            return
        self.made += 1
        cluster = self.rng.choice([None, *self.tenant.clusters])
        body = {"name": f"Scratch {self.number}-{self.made}", "student_cluster_id": cluster}
        response = await self.request("create_group", "POST", "/student_groups", body, check=self.only_ours)
        if response is not None:
            self.own_groups[orjson.loads(response.body)["id"]] = set()

    async def update_group(self) -> None:
        # Shared groups are renamed by every connection of the tenant (the last write wins); a
        # connection's own groups also change cluster, or leave theirs.
        body: dict[str, Any] = {"name": f"Renamed {self.rng.randrange(10**6)}"}
        if not self.own_groups or self.rng.random() < 0.5:
            group_id = self.rng.choice(self.tenant.groups)
        else:
            group_id = self.rng.choice(list(self.own_groups))
            body["student_cluster_id"] = self.rng.choice([None, *self.tenant.clusters])
        await self.request("update_group", "PUT", f"/student_groups/{group_id}", body, check=self.only_ours)

    async def delete_group(self) -> None:
        if len(self.own_groups) <= 1:
            await self.create_group()
            return
        group_id = self.rng.choice(list(self.own_groups))
        path = f"/student_groups/{group_id}?force=true"
        if await self.request("delete_group", "DELETE", path, check=self.only_ours) is not None:
            for student_id in self.own_groups.pop(group_id):
                del self.placed[student_id]
                self.free.append(student_id)

    async def add_member(self) -> None:
        if not self.free or not self.own_groups:
            await self.create_group()
            return
        student_id = self.free.pop(self.rng.randrange(len(self.free)))
        group_id = self.rng.choice(list(self.own_groups))
        if self.rng.random() < 0.5:
            path, method, body = f"/student_groups/{group_id}/students", "POST", {"student_ids": [student_id]}
        else:
            path, method, body = f"/student_groups/{group_id}/students/{student_id}", "PUT", None
        if await self.request("add_member", method, path, body, check=self.only_ours) is None:
            self.free.append(student_id)  # what the server did is unknown: try it again later
            return
        self.placed[student_id] = group_id
        self.own_groups[group_id].add(student_id)

    async def remove_member(self) -> None:
        if not self.placed:
            await self.add_member()
            return
        student_id = self.rng.choice(list(self.placed))
        group_id = self.placed[student_id]
        path = f"/student_groups/{group_id}/students/{student_id}"
        if await self.request("remove_member", "DELETE", path, check=self.only_ours) is not None:
            del self.placed[student_id]
            self.own_groups[group_id].discard(student_id)
            self.free.append(student_id)

    async def move_member(self) -> None:
        if not self.placed or len(self.own_groups) < 2:
            await self.add_member()
            return
        student_id = self.rng.choice(list(self.placed))
        old = self.placed[student_id]
        new = self.rng.choice([g for g in self.own_groups if g != old])
        body = {"student_group_id": new}
        mark = b'"student_group_id":%d,' % new
        check: Check = lambda r: self.only_ours(r) and mark in r.body  # noqa: E731
        if await self.request("move_member", "PUT", f"/students/{student_id}", body, check=check) is not None:
            self.own_groups[old].discard(student_id)
            self.own_groups[new].add(student_id)
            self.placed[student_id] = new

    async def create_student(self) -> None:
        self.made += 1
        uid = f"t{self.tenant.index}-new-{self.number}-{self.made}"
        body = {"uid": uid, "name": f"New learner {uid}", "sexe": self.rng.choice(SEXES)}
        response = await self.request("create_student", "POST", "/students", body, check=self.only_ours)
        if response is not None:
            self.free.append(orjson.loads(response.body)["id"])

    async def contend_add(self) -> None:
        # On purpose, every connection of the tenant races for the same few students: 409 when
        # the student is in another root group already, or another request got there first.
        student_id = self.rng.choice(self.tenant.contested_students)
        group_id = self.rng.choice(self.tenant.contested_groups)
        body = {"student_ids": [student_id]}
        path = f"/student_groups/{group_id}/students"
        await self.request(
            "contend_add", "POST", path, body, expect=frozenset({200, 409}), check=self.only_ours
        )

    async def contend_remove(self) -> None:
        student_id = self.rng.choice(self.tenant.contested_students)
        group_id = self.rng.choice(self.tenant.contested_groups)
        path = f"/student_groups/{group_id}/students/{student_id}"
        await self.request(
            "contend_remove", "DELETE", path, expect=frozenset({200, 404}), check=self.only_ours
        )

    # LumiNUS Randomise: previews, and saves with the seed a preview used

    def randomised(self, module: Module) -> Check:
        of_module = self.of_module(module)
        return lambda r: of_module(r) and r.headers.get(b"x-unplaced-count") == b"0"

    async def randomise_preview(self, balanced: bool = False) -> None:
        module = self.rng.choice(self.tenant.modules)
        body: dict[str, Any] = {"resourceID": module.uuid, "parentGroupID": module.parent, "toUpdate": False}
        if balanced:  # by the students' mean results, genders spread evenly
            body |= {
                "strategy": "balanced",
                "numericAttributes": ["results"],
                "categoricalAttributes": ["sexe"],
            }
        response = await self.request(
            "randomise_balanced" if balanced else "randomise_preview",
            "POST",
            "/user/Groups/Randomise",
            body,
            luminus=True,
            check=self.randomised(module),
        )
        if response is not None:
            self.previews[module.uuid] = (body, int(response.headers[b"x-randomise-seed"]))

    async def randomise_balanced(self) -> None:
        await self.randomise_preview(balanced=True)

    async def randomise_save(self) -> None:
        module = self.rng.choice(self.tenant.modules)
        preview, seed = self.previews.pop(
            module.uuid, ({"resourceID": module.uuid, "parentGroupID": module.parent}, 7)
        )
        body = {**preview, "toUpdate": True, "seed": seed}
        await self.request(
            "randomise_save",
            "POST",
            "/user/Groups/Randomise",
            body,
            luminus=True,
            check=self.randomised(module),
        )

    # results: ingest, and figures

    async def results_ingest(self) -> None:
        count = self.rng.randint(100, 1_000)
        uids, rng = self.tenant.uids, self.rng
        rows = [
            {"uid": rng.choice(uids), "item": rng.choice(ITEMS), "score": rng.randint(0, 10), "max_score": 10}
            for _ in range(count)
        ]
        answer = b'{"created":%d}' % count
        await self.request("results_ingest", "POST", "/results", rows, check=lambda r: r.body == answer)

    async def group_figures(self) -> None:
        group_id = self.rng.choice(self.tenant.groups)
        query = f"?item={self.rng.choice(ITEMS)}&threshold=0.6" if self.rng.random() < 0.5 else ""
        mark = b'"student_group_id":%d,' % group_id
        path = f"/student_groups/{group_id}/results{query}"
        await self.request("group_figures", "GET", path, check=lambda r: mark in r.body)

    async def cluster_figures(self) -> None:
        cluster_id = self.rng.choice(self.tenant.clusters)
        mark = b'"student_cluster_id":%d,' % cluster_id
        path = f"/student_clusters/{cluster_id}/results"
        await self.request("cluster_figures", "GET", path, check=lambda r: mark in r.body)

    async def luminus_group_results(self) -> None:
        module = self.rng.choice(self.tenant.modules)
        group = self.rng.choice(module.targets)
        of_module, mark = self.of_module(module), b'"id":"%s"' % group.encode()
        path = f"/user/Groups/{group}/Results"
        await self.request(
            "luminus_group_results",
            "GET",
            path,
            luminus=True,
            check=lambda r: of_module(r) and mark in r.body,
        )

    async def luminus_compare(self) -> None:
        module = self.rng.choice(self.tenant.modules)
        path = f"/user/Resource/{module.uuid}/Group/Results?parentGroupID={module.parent}"
        await self.request("luminus_compare", "GET", path, luminus=True, check=self.of_module(module))


def _problem(method: str, path: str, payload: bytes | None, response: RawResponse) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "request": None if payload is None else payload[:300].decode(errors="replace"),
        "status": response.status,
        "answer": response.body[:600].decode(errors="replace"),
    }


# --- the server's memory, over time -------------------------------------------------------------


@dataclass
class Sampler:
    """Samples the server's processes (RSS, and which they are), the database's connections and
    the CPU time of its backends (each backend's first and latest reading)."""

    server: Server
    database: psycopg.Connection[Any]
    database_name: str
    roles: dict[int, str] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    gone: set[int] = field(default_factory=set)
    backend_first: dict[int, float] = field(default_factory=dict)
    backend_last: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        master = self.server.process.pid
        self.roles[master] = "master"
        workers = 0
        for pid in sorted(process_tree(master)[1:]):
            if "resource_tracker" in command_line_of(pid):
                self.roles[pid] = "resource tracker"
            else:
                workers += 1
                self.roles[pid] = f"worker {workers}"
        if workers != WORKERS:
            self.changes.append(f"{workers} worker processes at the start, not {WORKERS}")
        for pid, cpu in self._backends().items():
            self.backend_first[pid] = self.backend_last[pid] = cpu

    def _backends(self) -> dict[int, float]:
        """The CPU seconds of each backend of the database (but this sampler's own)."""
        pids = self.database.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database_name,),
        ).fetchall()
        readings = {pid: cpu_seconds_of(pid) for (pid,) in pids}
        return {pid: cpu for pid, cpu in readings.items() if cpu is not None}

    def backend_cpu_seconds(self) -> float:
        """CPU the database's backends used since `start` (a backend's time after its last
        sample is lost when it exits before the next one)."""
        return sum(cpu - self.backend_first.get(pid, 0.0) for pid, cpu in self.backend_last.items())

    def cpu_seconds(self) -> dict[str, float]:
        return {role: cpu_seconds_of(pid) or 0.0 for pid, role in self.roles.items()}

    def sample(self, elapsed: float, requests: int) -> None:
        pids = process_tree(self.server.process.pid)
        for pid in pids:
            if pid not in self.roles:
                self.roles[pid] = f"new process {pid}"
                self.changes.append(f"{elapsed:.0f} s: new process {pid}: {command_line_of(pid)[:120]}")
        rss: dict[str, float] = {}
        for pid, role in self.roles.items():
            mb = rss_mb_of(pid) if pid in pids else None
            if mb is None:
                if pid not in self.gone:
                    self.gone.add(pid)
                    self.changes.append(f"{elapsed:.0f} s: {role} (process {pid}) is gone")
                continue
            rss[role] = round(mb, 1)
        backends = self._backends()
        self.backend_last.update(backends)
        self.samples.append(
            {
                "t_s": round(elapsed, 1),
                "requests": requests,
                "rss_mb": rss,
                "total_mb": round(sum(v for k, v in rss.items() if k != "resource tracker"), 1),
                "db_connections": len(backends),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
        )


def machine_cpu() -> tuple[float, float]:
    """The machine's busy and total CPU time so far, over all its CPUs, in clock ticks."""
    ticks = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def least_squares_slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The slope of the least-squares line through (x, y) points, and its standard error
    (0, 0 for fewer than three points)."""
    if len(points) < 3:
        return 0.0, 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0, 0.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    residuals = sum((y - mean_y - slope * (x - mean_x)) ** 2 for x, y in points)
    return slope, math.sqrt(residuals / (len(points) - 2) / spread)


def memory_verdict(
    samples: list[dict[str, Any]], seconds: float, warmup: float, max_slope: float, max_growth: float
) -> dict[str, Any]:
    """Per process and in total: the least-squares slope over the second half (MB/min), and the
    last sample minus the first after the warm-up (MB). Flat when the total's are within bounds."""
    series: dict[str, list[tuple[float, float]]] = {}
    for s in samples:
        for role, mb in [*s["rss_mb"].items(), ("total", s["total_mb"])]:
            series.setdefault(role, []).append((s["t_s"], mb))
    figures: dict[str, dict[str, float]] = {}
    for role, points in series.items():
        slope, error = least_squares_slope([(t / 60, mb) for t, mb in points if t >= seconds / 2])
        warm = [mb for t, mb in points if t >= warmup]
        figures[role] = {
            "slope_second_half_mb_per_min": round(slope, 2),
            "slope_standard_error": round(error, 2),
            "growth_after_warmup_mb": round(warm[-1] - warm[0], 1) if warm else 0.0,
            "first_after_warmup_mb": warm[0] if warm else 0.0,
            "last_mb": points[-1][1],
            "peak_mb": max(mb for _, mb in points),
        }
    total = figures.get("total", {})
    flat = (
        abs(total.get("slope_second_half_mb_per_min", 0.0)) <= max_slope
        and total.get("growth_after_warmup_mb", 0.0) <= max_growth
    )
    return {
        "flat": flat,
        "rule": f"total RSS (master + workers): |slope over the second half| <= {max_slope} MB/min "
        f"and last - first after the {warmup:.0f} s warm-up <= {max_growth} MB",
        "by_process": figures,
    }


# --- the run ------------------------------------------------------------------------------------


async def drive(
    tenants: list[Tenant], sampler: Sampler, *, connections: int, seconds: float, every: float, timeout: float
) -> tuple[dict[str, OpStats], float, int]:
    """The traffic for `seconds`, sampled every `every` s; the stats, the seconds it took, and how
    many TCP connections were opened in all."""
    stats = {name: OpStats() for name, _, _ in OPERATIONS}
    per_tenant = [list(range(t, connections, len(tenants))) for t in range(len(tenants))]
    clients = []
    for number in range(connections):
        tenant = tenants[number % len(tenants)]
        share = per_tenant[tenant.index].index(number)
        free = tenant.free_students[share :: len(per_tenant[tenant.index])]
        clients.append(Client(tenant, free, sampler.server.port, stats, number, timeout))
    start = time.perf_counter()
    stop_at = start + seconds

    async def sample() -> None:
        while True:
            elapsed = time.perf_counter() - start
            sampler.sample(elapsed, sum(len(s.latencies_ms) for s in stats.values()))
            if elapsed >= seconds:
                return
            await asyncio.sleep(min(every, max(0.0, stop_at - time.perf_counter())))

    await asyncio.gather(sample(), *(c.run(stop_at) for c in clients))
    return stats, time.perf_counter() - start, sum(c.http.opened for c in clients)


def op_summary(name: str, s: OpStats, seconds: float, total_picks: int) -> dict[str, Any]:
    classes = Counter(f"{status // 100}xx" for status in s.statuses.elements())
    count = len(s.latencies_ms)
    return {
        "operation": name,
        "kind": KIND[name],
        "weight_pct": round(WEIGHT_PCT[name], 1),
        "share_pct": round(100 * count / total_picks, 1) if total_picks else 0.0,
        "count": count,
        "per_s": round(count / seconds, 2),
        "p50_ms": round(percentile(s.latencies_ms, 50), 1) if count else None,
        "p99_ms": round(percentile(s.latencies_ms, 99), 1) if count else None,
        "max_ms": round(max(s.latencies_ms), 1) if count else None,
        "2xx": classes["2xx"],
        "4xx": classes["4xx"],
        "5xx": classes["5xx"],
        "statuses": {str(k): v for k, v in sorted(s.statuses.items())},
        "unexpected": sum(s.unexpected.values()),
        "unexpected_statuses": {str(k): v for k, v in sorted(s.unexpected.items())},
        "expected_4xx": sum(v for k, v in s.statuses.items() if 400 <= k < 500 and k not in s.unexpected),
        "bad_answers": s.bad_answers,
        "failures": s.failures,
        "problems": s.problems,
    }


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


OP_COLUMNS = (
    ("operation", "operation"),
    ("kind", "kind"),
    ("share_pct", "% of calls"),
    ("count", "count"),
    ("per_s", "per s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("2xx", "2xx"),
    ("4xx", "4xx"),
    ("5xx", "5xx"),
    ("unexpected", "unexpected"),
    ("bad_answers", "bad answers"),
    ("failures", "no answer"),
)


def report(result: dict[str, Any]) -> str:
    """The run as readable tables (Markdown)."""
    all_ops = {"operation": "**all**", "kind": "", "share_pct": 100, **result["totals"]}
    rows = [[o[key] for key, _ in OP_COLUMNS] for o in [*result["operations"], all_ops]]
    parts = [markdown_table([title for _, title in OP_COLUMNS], rows)]
    parts.append("CPU cores used: " + ", ".join(f"{k} {v}" for k, v in result["cpu_cores_used"].items()))

    samples = result["memory"]["samples"]
    roles = [r for r in result["memory"]["processes"] if r != "resource tracker"]
    step = max(1, math.ceil(len(samples) / 12))
    shown = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    memory_rows = []
    for before, s in zip([None, *shown], shown, strict=False):
        rate = None
        if before is not None and s["t_s"] > before["t_s"]:
            rate = round((s["requests"] - before["requests"]) / (s["t_s"] - before["t_s"]))
        rss = [s["rss_mb"].get(r) for r in roles]
        memory_rows.append([s["t_s"], rate, *rss, s["total_mb"], s["db_connections"], s["load_average_1min"]])
    header = ["t s", "req/s", *(f"{r} MB" for r in roles), "total MB", "db conns", "load avg"]
    parts.append(markdown_table(header, memory_rows))

    verdict = result["memory"]["verdict"]
    keys = ("first_after_warmup_mb", "last_mb", "peak_mb", "growth_after_warmup_mb")
    header = ["process", "after warm-up MB", "last MB", "peak MB", "last - first MB", "slope 2nd half MB/min"]
    rows = [
        [role, *(f[k] for k in keys), f"{f['slope_second_half_mb_per_min']} ± {f['slope_standard_error']}"]
        for role, f in verdict["by_process"].items()
    ]
    parts.append(markdown_table(header, rows))
    parts.append(f"memory: {'FLAT' if verdict['flat'] else 'NOT FLAT'} ({verdict['rule']})")
    parts += [f"PROBLEM: {problem}" for problem in result["problems"]]
    for o in result["operations"]:
        parts += [f"{o['operation']}: {json.dumps(p)}" for p in o["problems"]]
    return "\n\n".join(parts)


def code_state() -> dict[str, Any]:
    """The commit the tree is at, and the files of the service that differ from it (the server
    runs the working tree)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout

    return {
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "changed_service_files": git("status", "--porcelain", "--", "src").splitlines(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="how long the traffic runs")
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections")
    parser.add_argument("--instances", type=int, default=4, help="tenants, each with its own key")
    parser.add_argument(
        "--module-sizes", default="300,1000,2500", help="students on each module's roster, per tenant"
    )
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument(
        "--warmup", type=float, help="seconds left out of the memory verdict (default: min(60, 1/4))"
    )
    parser.add_argument(
        "--max-slope", type=float, default=1.0, help="flat: |MB/min| over the second half, at most"
    )
    parser.add_argument(
        "--max-growth", type=float, default=10.0, help="flat: MB grown after the warm-up, at most"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a request counts as failed"
    )
    parser.add_argument("--json", type=Path, help="write the full results here")
    args = parser.parse_args()
    sizes = [int(x) for x in args.module_sizes.split(",")]
    warmup = args.warmup if args.warmup is not None else min(60.0, args.seconds / 4)
    per_connection = (max(sizes) - CLUSTERS * GROUPS_PER_CLUSTER * GROUP_SIZE - CONTESTED_STUDENTS) / max(
        1, math.ceil(args.connections / args.instances)
    )
    if per_connection < 5:
        parser.error("too few students per connection: raise the largest module size or lower --connections")

    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    with (
        fresh_database("postgresql") as url,
        running_server(url, workers=WORKERS, rate_limited=True) as server,  # the service's defaults
    ):
        setup_start = time.perf_counter()
        tenants = seed(url, server.url, args.instances, sizes)
        setup_s = time.perf_counter() - setup_start
        print(
            f"seeded {len(tenants)} instances in {setup_s:.0f} s; traffic for {args.seconds:.0f} s",
            flush=True,
        )
        with _connect(url) as database:
            sampler = Sampler(server, database, make_url(url).database or "")
            sampler.start()
            cpu_before, client_cpu, wall = sampler.cpu_seconds(), time.process_time(), time.perf_counter()
            machine_before = machine_cpu()
            stats, elapsed, opened = uvloop.run(
                drive(
                    tenants,
                    sampler,
                    connections=args.connections,
                    seconds=args.seconds,
                    every=args.sample_every,
                    timeout=args.timeout,
                )
            )
            wall = time.perf_counter() - wall
            cpu_after, client_cpu = sampler.cpu_seconds(), time.process_time() - client_cpu
            machine_after = machine_cpu()
            backend_cpu = sampler.backend_cpu_seconds()
            results_stored = database.execute("SELECT count(*) FROM results").fetchone()
    load_after = os.getloadavg()

    total_picks = sum(len(s.latencies_ms) for s in stats.values())
    operations = [op_summary(name, stats[name], elapsed, total_picks) for name, _, _ in OPERATIONS]
    everything = [ms for s in stats.values() for ms in s.latencies_ms]
    totals = {
        "count": total_picks,
        "per_s": round(total_picks / elapsed, 1),
        "p50_ms": round(percentile(everything, 50), 1),
        "p99_ms": round(percentile(everything, 99), 1),
        **{
            k: sum(o[k] for o in operations)
            for k in ("2xx", "4xx", "5xx", "unexpected", "bad_answers", "failures")
        },
        "expected_4xx": sum(o["expected_4xx"] for o in operations),
    }
    cores = {role: (cpu_after[role] - cpu_before[role]) / wall for role in cpu_before}
    cores["database backends"] = backend_cpu / wall
    cores["load generator"] = client_cpu / wall
    machine = (
        (os.cpu_count() or 1)
        * (machine_after[0] - machine_before[0])
        / (machine_after[1] - machine_before[1])
    )
    cores["anything else on the machine"] = max(0.0, machine - sum(cores.values()))
    cores["whole machine"] = machine
    cores = {k: round(v, 2) for k, v in cores.items()}
    verdict = memory_verdict(sampler.samples, args.seconds, warmup, args.max_slope, args.max_growth)
    problems = []
    if totals["5xx"]:
        problems.append(f"{totals['5xx']} answers were 5xx")
    if totals["unexpected"]:
        problems.append(f"{totals['unexpected']} answers had a status the traffic does not expect")
    if totals["bad_answers"]:
        problems.append(f"{totals['bad_answers']} answers held another tenant's data or the wrong content")
    if totals["failures"]:
        problems.append(f"{totals['failures']} requests got no answer (connection failed or timed out)")
    problems += [f"server processes changed: {c}" for c in sampler.changes]
    result = {
        "benchmark": "soak",
        "code": code_state(),
        "database": "postgresql",
        "command": " ".join([".venv/bin/python", "bench/soak.py", *sys.argv[1:]]),
        "started_at": started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "workers": WORKERS,
        "connections": args.connections,
        "instances": args.instances,
        "seconds": round(elapsed, 1),
        "setup": {
            "seconds": round(setup_s, 1),
            "students_per_instance": max(sizes),
            "module_sizes": sizes,
            "root_groups_per_instance": CLUSTERS * GROUPS_PER_CLUSTER,
            "root_group_size": GROUP_SIZE,
            "clusters_per_instance": CLUSTERS,
            "class_groups_per_module": [len(m.targets) for m in tenants[0].modules],
            "seeded_results_per_instance": max(sizes) * SEED_RESULTS_PER_STUDENT,
            "results_at_the_end": results_stored[0] if results_stored else None,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "cpu_cores_used": cores,
        "tcp_connections_opened": opened,
        "totals": totals,
        "operations": operations,
        "memory": {
            "processes": list(dict.fromkeys(sampler.roles.values())),
            "sample_every_s": args.sample_every,
            "warmup_s": warmup,
            "verdict": verdict,
            "samples": sampler.samples,
        },
        "problems": problems,
    }
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    compact = {
        k: result[k] for k in ("benchmark", "seconds", "connections", "instances", "totals", "cpu_cores_used")
    }
    compact["memory_flat"] = verdict["flat"]
    compact["memory_total"] = verdict["by_process"].get("total")
    compact["problems"] = problems
    print(json.dumps(compact))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
