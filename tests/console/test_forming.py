"""Forming over HTTP: every write needs its token, the caller's rights are the API's, another
instance's session finds nothing, and a damaged or foreign grouping is refused, nothing saved."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.console.helpers import csrf_of, signed_in_client
from tests.factories import Tenant, unique


def _roster(tenant: Tenant) -> tuple[dict[str, Any], int]:
    module = tenant.post("/modules", json={"code": unique("FH"), "name": "Forming"}).json()
    uids = [f"{module['code']}-{i}" for i in range(6)]
    tenant.post("/students", json=[{"uid": u} for u in uids])
    tenant.post(f"/modules/{module['id']}/roster", json={"uids": uids})
    return module, int(module["roster_group_id"])


def _preview(browser: httpx.Client, roster_id: int) -> str:
    form = browser.get(f"/console/groups/{roster_id}/form")
    assert form.status_code == 200, form.text
    preview = browser.post(
        f"/console/groups/{roster_id}/preview",
        data={"csrf": csrf_of(form.text), "strategy": "random", "count": "2", "seed": "5"},
    )
    assert preview.status_code == 200, preview.text
    return preview.text


def _hidden(page: str, name: str) -> str:
    marker = f'name="{name}" id="'
    start = page.index(marker)
    value = page.index('value="', start) + len('value="')
    return page[value : page.index('"', value)].replace("&#34;", '"').replace("&quot;", '"')


def test_assess_and_save_need_their_token_and_save_keeps_what_was_shown(tenant: Tenant) -> None:
    _, roster_id = _roster(tenant)
    browser = signed_in_client(tenant, role="admin")
    page = _preview(browser, roster_id)
    fields, groups = json.loads(_hidden(page, "fields")), json.loads(_hidden(page, "groups"))
    body = {"fields": fields, "groups": groups}
    assert browser.post(f"/console/groups/{roster_id}/assess", json=body).status_code == 403
    assessed = browser.post(
        f"/console/groups/{roster_id}/assess", json=body, headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert assessed.status_code == 200
    assert "Hard rules broken: <strong>0</strong>" in assessed.text
    form = {"fields": json.dumps(fields), "groups": json.dumps(groups)}
    assert browser.post(f"/console/groups/{roster_id}/save", data=form).status_code == 403
    assert tenant.get(f"/student_groups/{roster_id}/grouping").json() == []
    saved = browser.post(f"/console/groups/{roster_id}/save", data={**form, "csrf": csrf_of(page)})
    assert saved.status_code == 303, saved.text
    rows = tenant.get(f"/student_groups/{roster_id}/grouping").json()
    assert len(rows) == 6
    assert sorted({r["group"] for r in rows}) == ["Group A", "Group B"]


def test_a_foreign_member_in_the_grouping_is_refused_and_nothing_is_saved(tenant: Tenant) -> None:
    _, roster_id = _roster(tenant)
    browser = signed_in_client(tenant, role="admin")
    page = _preview(browser, roster_id)
    groups = json.loads(_hidden(page, "groups"))
    first = next(iter(groups))
    groups[first] = [*groups[first], "00000000-0000-0000-0000-000000000000"]
    refused = browser.post(
        f"/console/groups/{roster_id}/save",
        data={"fields": _hidden(page, "fields"), "groups": json.dumps(groups), "csrf": csrf_of(page)},
    )
    assert refused.status_code == 400
    assert "not a member to place" in refused.text
    assert tenant.get(f"/student_groups/{roster_id}/grouping").json() == []


def test_an_outsider_and_another_instance_cannot_form(tenant: Tenant, make_tenant: Any) -> None:
    _, roster_id = _roster(tenant)
    outsider = signed_in_client(tenant, user=unique("outsider"))
    assert outsider.get(f"/console/groups/{roster_id}/form").status_code == 403
    neighbour = signed_in_client(make_tenant(), role="admin")
    assert neighbour.get(f"/console/groups/{roster_id}/form").status_code == 404


def _parent_with_subgroups(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    module, _ = _roster(tenant)
    uids = [f"{module['code']}-{i}" for i in range(6)]
    labs = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Labs"}).json()
    for name in ("L1", "L2"):
        tenant.post(f"/modules/{module['id']}/groups", json={"name": name, "parent_group_id": labs["id"]})
    students = tenant.get(f"/modules/{module['id']}/roster", params={"limit": 10}).json()
    added = tenant.post(
        f"/student_groups/{labs['id']}/students", json={"student_ids": [s["id"] for s in students]}
    )
    assert added.status_code == 200, added.text
    return module, labs, uids


def test_a_pin_holds_and_a_top_up_keeps_everyone_placed_where_they_are(tenant: Tenant) -> None:
    _, labs, uids = _parent_with_subgroups(tenant)
    browser = signed_in_client(tenant, role="admin")
    form = browser.get(f"/console/groups/{labs['id']}/form")
    pinned = browser.post(
        f"/console/groups/{labs['id']}/preview",
        data={"csrf": csrf_of(form.text), "strategy": "random", "seed": "3", "pinned": f"{uids[0]} = L2"},
    )
    assert pinned.status_code == 200, pinned.text
    l2 = pinned.text.index('data-name="L2"')
    assert uids[0] in pinned.text[l2 : pinned.text.index("</section>", l2)]
    bad_pin = browser.post(
        f"/console/groups/{labs['id']}/preview",
        data={"csrf": csrf_of(form.text), "strategy": "random", "pinned": f"{uids[0]} = L9"},
    )
    assert bad_pin.status_code == 400
    assert "no sub-group &#39;L9&#39; of Labs" in bad_pin.text
    saved = browser.post(
        f"/console/groups/{labs['id']}/save",
        data={
            "fields": _hidden(pinned.text, "fields"),
            "groups": _hidden(pinned.text, "groups"),
            "csrf": csrf_of(form.text),
        },
    )
    assert saved.status_code == 303
    before = {r["uid"]: r["group"] for r in tenant.get(f"/student_groups/{labs['id']}/grouping").json()}
    assert before[uids[0]] == "L2"
    # Two newcomers to the parent, then a top-up: the six stay, the two are placed.
    tenant.post("/students", json=[{"uid": "late-1"}, {"uid": "late-2"}])
    late = [
        s["id"] for s in tenant.get("/students", params={"limit": 500}).json() if s["uid"].startswith("late-")
    ]
    tenant.post(f"/student_groups/{labs['id']}/students", json={"student_ids": late})
    top = browser.post(
        f"/console/groups/{labs['id']}/preview",
        data={"csrf": csrf_of(form.text), "strategy": "random", "seed": "4", "top_up": "1"},
    )
    assert top.status_code == 200, top.text
    assert "A top-up keeps everyone where they are" in top.text
    assert 'id="move-button"' not in top.text
    done = browser.post(
        f"/console/groups/{labs['id']}/save",
        data={
            "fields": _hidden(top.text, "fields"),
            "groups": _hidden(top.text, "groups"),
            "csrf": csrf_of(form.text),
        },
    )
    assert done.status_code == 303, done.text
    after = {r["uid"]: r["group"] for r in tenant.get(f"/student_groups/{labs['id']}/grouping").json()}
    assert {u: g for u, g in after.items() if u in before} == before
    assert set(after) == set(before) | {"late-1", "late-2"}
