"""Undoing from the console: the form's token is required, the undo is the API's (same checks,
same result), and the audit log names the user who undid it."""

from __future__ import annotations

from typing import Any

from tests.console.helpers import csrf_of, signed_in_client
from tests.factories import Tenant, unique


def _saved_formation(tenant: Tenant) -> tuple[dict[str, Any], int]:
    module = tenant.post("/modules", json={"code": unique("H"), "name": "History"}).json()
    tenant.post("/students", json=[{"uid": f"{module['code']}-{i}"} for i in range(6)])
    tenant.post(f"/modules/{module['id']}/roster", json={"uids": [f"{module['code']}-{i}" for i in range(6)]})
    formed = tenant.post(
        f"/student_groups/{module['roster_group_id']}/formations",
        json={"strategy": "random", "seed": 7, "create": {"count": 2}, "save": True},
    )
    assert formed.status_code == 200, formed.text
    return module, int(formed.json()["formation_id"])


def test_an_undo_needs_its_token_and_is_recorded_under_the_user(tenant: Tenant) -> None:
    module, formation_id = _saved_formation(tenant)
    user = unique("undoer")
    browser = signed_in_client(tenant, user=user, role="admin")
    history = browser.get(f"/console/modules/{module['id']}/history")
    assert history.status_code == 200
    undo = f"/console/modules/{module['id']}/history/{formation_id}/undo"
    assert browser.post(undo, data={}).status_code == 403
    assert browser.post(undo, data={"csrf": "x" * 64}).status_code == 403
    assert tenant.get(f"/formations/{formation_id}").json()["reverted_at"] is None
    done = browser.post(undo, data={"csrf": csrf_of(history.text)})
    assert done.status_code == 303
    assert tenant.get(f"/formations/{formation_id}").json()["reverted_at"] is not None
    again = browser.post(undo, data={"csrf": csrf_of(history.text)})
    assert again.status_code == 409
    assert "already undone" in again.text
    events = tenant.get("/audit_events", params={"limit": 200}).json()
    undos = [e for e in events if e["operation"] == "undo_formation"]
    assert [e["actor"] for e in undos] == [user]  # the refused one wrote nothing, so no event


def test_a_staff_user_who_does_not_manage_the_module_neither_reads_nor_undoes(tenant: Tenant) -> None:
    module, formation_id = _saved_formation(tenant)
    outsider = signed_in_client(tenant, user=unique("outsider"))
    assert outsider.get(f"/console/modules/{module['id']}/history").status_code == 403
    page = outsider.get("/console/modules")
    refused = outsider.post(
        f"/console/modules/{module['id']}/history/{formation_id}/undo", data={"csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    assert tenant.get(f"/formations/{formation_id}").json()["reverted_at"] is None


def test_the_grouping_downloads_in_canvas_and_moodle_layouts_too(tenant: Tenant) -> None:
    module, _ = _saved_formation(tenant)
    browser = signed_in_client(tenant, role="admin")
    page = browser.get(f"/console/modules/{module['id']}").text
    roster = module["roster_group_id"]
    for layout in ("canvas", "moodle"):
        assert f"/console/groups/{roster}/grouping.csv?layout={layout}" in page
        got = browser.get(f"/console/groups/{roster}/grouping.csv", params={"layout": layout})
        assert got.status_code == 200
        assert (
            got.text == tenant.get(f"/student_groups/{roster}/grouping.csv", params={"layout": layout}).text
        )
