"""The console's pages beside the same work done through the API, in the same run (issue 18).

A module of 2,000 students on its roster, with a parent class group of 100 sub-groups of 20.
The page: `GET /console/modules/{id}` signed in (its groups as a tree with member counts, the
roster's first page of 50, the counts). The baseline: what a client of the API reads for the
same page, one call after the other on one keep-alive connection: the module
(`GET /modules/{id}`), its groups with their member counts (LumiNUS
`GET /user/Resource/{uuid}/Group`) and the roster's first page (`GET /modules/{id}/roster?limit=50`).
Then forming: a balanced preview of the 2,000 roster students into 100 new groups on a score and
a gender (`POST /console/groups/{roster}/preview`) beside the same preview through the API
(`POST /student_groups/{roster}/formations` with `create`, not saved), and a move in the
preview (`POST /console/groups/{roster}/assess` with one member moved: the report again).
Requests alternate page and baseline; medians of `--requests` each (a third as many previews).
One worker. Aims (issue 18): the page under 300 ms, the preview under 1.5 s, a move under 200 ms.

Run: .venv/bin/python bench/console.py [--sqlite] [--requests 40]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import time

import httpx

from harness import bench_instance, fresh_database, running_server
from studentgroups.groups.service import write_memberships
from studentgroups.modules.service import add_to_roster_group, create_module
from studentgroups.siblings import parent_scope
from studentgroups.students.service import insert_students
from studentgroups.tables.group_types import GroupAccess, GroupType
from studentgroups.tables.groups import Group

STUDENTS = 2_000
GROUPS = 100


def seed(url: str) -> tuple[str, int, str, int]:
    """The module, its roster and its groups; the admin key, the module's id and uuid."""
    with bench_instance(url) as (session, instance_id, key):
        view = create_module(
            session,
            instance_id=instance_id,
            code="CS2030",
            name="Programming II",
            description=None,
            creator_id=None,
        )
        ids = insert_students(
            session,
            instance_id=instance_id,
            students=[
                {
                    "uid": f"e{i:05d}",
                    "name": f"Student {i}",
                    "attributes": {"score": (i * 37) % 101, "gender": "FMX"[i % 3]},
                }
                for i in range(STUDENTS)
            ],
        )
        add_to_roster_group(
            session,
            module=view.module,
            group_id=view.roster_group_id,
            guests=False,
            student_ids=list(ids.values()),
        )
        parent = Group(
            instance_id=instance_id,
            module_id=view.module.id,
            group_type=GroupType.CLASS_GROUP,
            group_access=GroupAccess.MEMBERS_VIEW,
            name="Tutorials",
        )
        session.add(parent)
        session.flush()
        subs = [
            Group(
                instance_id=instance_id,
                module_id=view.module.id,
                parent_group_id=parent.id,
                group_type=GroupType.CLASS_GROUP,
                group_access=GroupAccess.MEMBERS_VIEW,
                name=f"T{g:03d}",
                max_user=STUDENTS // GROUPS,
            )
            for g in range(GROUPS)
        ]
        session.add_all(subs)
        session.flush()
        pairs = [(subs[i % GROUPS].id, s) for i, s in enumerate(ids.values())]
        write_memberships(
            session, pairs, instance_id=instance_id, scope=parent_scope(parent.id), exclusive=True
        )
        return key, view.module.id, str(view.module.uuid), view.roster_group_id


def _hidden(page: str, name: str) -> str:
    start = page.index(f'name="{name}" id="')
    value = page.index('value="', start) + len('value="')
    return html.unescape(page[value : page.index('"', value)])


def _forming(api: httpx.Client, browser: httpx.Client, roster_id: int, runs: int) -> dict[str, float]:
    form = browser.get(f"/console/groups/{roster_id}/form").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    fields = {
        "strategy": "balanced",
        "count": "100",
        "numeric": "score",
        "categorical": "gender",
        "seed": "7",
    }
    preview_s, api_s, move_s = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        page = browser.post(f"/console/groups/{roster_id}/preview", data={**fields, "csrf": csrf})
        preview_s.append(time.perf_counter() - start)
        assert page.status_code == 200, page.text[:500]
        start = time.perf_counter()
        through_api = api.post(
            f"/student_groups/{roster_id}/formations",
            json={
                "strategy": "balanced",
                "seed": 7,
                "numeric": ["score"],
                "categorical": ["gender"],
                "create": {"count": 100},
            },
        )
        api_s.append(time.perf_counter() - start)
        assert through_api.status_code == 200, through_api.text[:500]
        groups = json.loads(_hidden(page.text, "groups"))
        keys = list(groups)
        groups[keys[1]].append(groups[keys[0]].pop())
        body = {"fields": json.loads(_hidden(page.text, "fields")), "groups": groups}
        start = time.perf_counter()
        moved = browser.post(f"/console/groups/{roster_id}/assess", json=body, headers={"X-CSRF-Token": csrf})
        move_s.append(time.perf_counter() - start)
        assert moved.status_code == 200, moved.text[:500]
    return {
        "preview_p50_ms": round(statistics.median(preview_s) * 1000, 1),
        "api_preview_p50_ms": round(statistics.median(api_s) * 1000, 1),
        "preview_ratio": round(statistics.median(preview_s) / statistics.median(api_s), 2),
        "move_report_p50_ms": round(statistics.median(move_s) * 1000, 1),
        "aim_preview_ms": 1500,
        "aim_move_ms": 200,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        key, module_id, module_uuid, roster_id = seed(url)
        with running_server(url) as server:
            headers = {"Authorization": f"Token token={key}"}
            api = httpx.Client(base_url=server.url, headers=headers, timeout=60)
            link = api.post("/console/sign_in_links", json={"user": "bench", "role": "admin"}).json()["url"]
            browser = httpx.Client(base_url=server.url, follow_redirects=False, timeout=60)
            assert browser.get(link).status_code == 303
            page_s, api_s = [], []
            for _ in range(args.requests):
                start = time.perf_counter()
                page = browser.get(f"/console/modules/{module_id}")
                page_s.append(time.perf_counter() - start)
                assert page.status_code == 200
                assert page.text.count("<tr>") >= GROUPS + 50
                start = time.perf_counter()
                for path in (
                    f"/modules/{module_id}",
                    f"/user/Resource/{module_uuid}/Group",
                    f"/modules/{module_id}/roster?limit=50",
                ):
                    assert api.get(path).status_code == 200, path
                api_s.append(time.perf_counter() - start)
            forming = _forming(api, browser, roster_id, max(3, args.requests // 3))
    page_p50, api_p50 = statistics.median(page_s), statistics.median(api_s)
    print(
        json.dumps(
            {
                "benchmark": "console module page",
                "database": "sqlite" if args.sqlite else "postgresql",
                "students": STUDENTS,
                "groups": GROUPS,
                "page_p50_ms": round(page_p50 * 1000, 1),
                "api_same_data_p50_ms": round(api_p50 * 1000, 1),
                "ratio": round(page_p50 / api_p50, 2),
                "aim_page_ms": 300,
                **forming,
            }
        )
    )


if __name__ == "__main__":
    main()
