"""Self-enrolment from the console over HTTP: each change needs its token, the service's rules
refuse a bad limit or window with the field named and nothing changed, outsiders are refused."""

from __future__ import annotations

from typing import Any

from tests.console.helpers import csrf_of, signed_in_client
from tests.factories import Tenant, unique


def _labs(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    module = tenant.post("/modules", json={"code": unique("EN"), "name": "Enrolment"}).json()
    labs = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Labs"}).json()
    lab = tenant.post(
        f"/modules/{module['id']}/groups",
        json={"name": "L1", "parent_group_id": labs["id"], "self_enrol": True, "max_user": 10},
    ).json()
    return labs, lab


def test_a_change_needs_its_token_and_a_bad_one_names_the_field(tenant: Tenant) -> None:
    labs, lab = _labs(tenant)
    browser = signed_in_client(tenant, role="admin")
    page = browser.get(f"/console/groups/{labs['id']}/enrolment")
    assert page.status_code == 200
    path = f"/console/groups/{labs['id']}/enrolment/{lab['id']}"
    assert browser.post(path, data={"max_user": "3"}).status_code == 403
    bad_limit = browser.post(path, data={"max_user": "ten", "csrf": csrf_of(page.text)})
    assert bad_limit.status_code == 400
    assert "max_user" in bad_limit.text
    window = {"opens": "2030-02-01T10:00", "closes": "2030-01-01T10:00", "max_user": "10"}
    backwards = browser.post(path, data={**window, "csrf": csrf_of(page.text)})
    assert backwards.status_code == 400
    assert "must be after the open date" in backwards.text
    assert "10 of 10" not in backwards.text  # nothing changed: still 0 of 10
    assert "0 of 10" in backwards.text
    done = browser.post(path, data={"max_user": "4", "opens": "2030-01-01T10:00", "csrf": csrf_of(page.text)})
    assert done.status_code == 303
    assert "0 of 4" in browser.get(f"/console/groups/{labs['id']}/enrolment").text


def test_an_outsider_neither_sees_nor_allocates(tenant: Tenant) -> None:
    labs, _ = _labs(tenant)
    outsider = signed_in_client(tenant, user=unique("outsider"))
    assert outsider.get(f"/console/groups/{labs['id']}/enrolment").status_code == 403
    page = outsider.get("/console/modules")
    refused = outsider.post(f"/console/groups/{labs['id']}/allocate", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403


def test_the_queue_is_listed_first_first(tenant: Tenant) -> None:
    labs, lab = _labs(tenant)
    module_id = lab["module_id"]
    tenant.put(f"/modules/{module_id}/groups/{lab['id']}", json={"max_user": 1, "waitlist": True})
    uids = [unique("q") for _ in range(3)]
    tenant.post("/students", json=[{"uid": u} for u in uids])
    tenant.post(f"/modules/{module_id}/roster", json={"uids": uids})
    for uid in uids:
        key = tenant.post("/api_keys", json={"role": "staff", "student_uid": uid}).json()["api_key"]
        joined = tenant.post(
            f"/modules/{module_id}/enrolment/groups/{lab['id']}", key=key, json={"queue": True}
        )
        assert joined.status_code == 200, joined.text
    page = signed_in_client(tenant, role="admin").get(f"/console/groups/{labs['id']}/enrolment")
    assert "2 waiting" in page.text
    queue = page.text[page.text.index('<ol class="queue">') :]
    assert queue.index(uids[1]) < queue.index(uids[2])
    assert uids[0] not in queue  # seated, not waiting
