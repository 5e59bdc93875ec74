"""Signing in to the console: a one-time link or a pasted key opens a server-side session (hashed,
HttpOnly, SameSite, expiring), forms need their CSRF token, another instance's session sees
nothing of this one, a revoked key ends its sessions, and no page may be framed."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
from sqlalchemy import select, update

from studentgroups.auth import hash_key
from studentgroups.db import utcnow
from studentgroups.tables.console import ConsoleSession, SignInLink
from studentgroups.tables.instances import ApiKey, Role
from tests.console.helpers import csrf_of, sign_in_link, signed_in_client
from tests.factories import Tenant, unique


def _cookie(answer: httpx.Response, name: str = "sg_console") -> SimpleCookie:
    cookies = SimpleCookie()
    for header in answer.headers.get_list("set-cookie"):
        cookies.load(header)
    assert name in cookies, answer.headers
    return cookies


def test_a_link_signs_in_once_with_a_hashed_httponly_session(tenant: Tenant) -> None:
    link = sign_in_link(tenant, user="ada")
    browser = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False)
    answer = browser.get(link)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/modules"
    cookie = _cookie(answer)["sg_console"]
    assert cookie["httponly"]
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/console"
    assert int(cookie["max-age"]) == 8 * 3600
    page = browser.get("/console/modules")
    assert page.status_code == 200
    assert "ada (staff)" in page.text
    with tenant.sessions() as session:
        stored = session.scalars(select(ConsoleSession.token_hash)).all()
        links = session.scalars(select(SignInLink.token_hash)).all()
    assert hash_key(cookie.value) in stored
    assert cookie.value not in stored
    assert all(len(h) == 64 for h in [*stored, *links])
    again = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False).get(link)
    assert again.status_code == 401
    assert "used already" in again.text


def test_an_expired_link_signs_no_one_in(tenant: Tenant) -> None:
    link = sign_in_link(tenant)
    with tenant.sessions() as session, session.begin():
        session.execute(
            update(SignInLink)
            .where(SignInLink.token_hash == hash_key(link.rsplit("/", 1)[1]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    answer = httpx.get(link, follow_redirects=False)
    assert answer.status_code == 401
    assert "sg_console=" not in answer.headers.get("set-cookie", "")


def test_only_an_admin_key_asks_for_a_link_and_never_above_its_role(tenant: Tenant) -> None:
    staff = tenant.new_key(Role.STAFF, user=unique("staff"))
    refused = tenant.post("/console/sign_in_links", key=staff, json={"user": "x"})
    assert refused.status_code == 403
    unknown = tenant.post("/console/sign_in_links", json={"user": "x", "extra": 1})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "extra"
    learner_prefix = tenant.post("/console/sign_in_links", json={"user": "learner:1"})
    assert learner_prefix.status_code == 400


def test_signing_in_with_a_pasted_key_needs_the_forms_token(tenant: Tenant) -> None:
    browser = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False)
    form = browser.get("/console/sign-in")
    assert form.status_code == 200
    stranger = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False)
    forged = stranger.post("/console/sign-in", data={"key": tenant.key, "csrf": "guess"})
    assert forged.status_code == 403
    assert "sg_console=" not in forged.headers.get("set-cookie", "")
    wrong_key = browser.post("/console/sign-in", data={"key": "sg_nope", "csrf": csrf_of(form.text)})
    assert wrong_key.status_code == 401
    signed = browser.post("/console/sign-in", data={"key": tenant.key, "csrf": csrf_of(wrong_key.text)})
    assert signed.status_code == 303, signed.text
    assert browser.get("/console/modules").status_code == 200
    events = tenant.get("/audit_events", params={"limit": 200}).json()
    assert any(e["operation"] == "sign_in_with_key" and e["actor"] == "admin" for e in events)


def test_signing_out_needs_the_sessions_token_and_ends_the_session(tenant: Tenant) -> None:
    browser = signed_in_client(tenant)
    page = browser.get("/console/modules")
    assert browser.post("/console/sign-out", data={}).status_code == 403
    assert browser.post("/console/sign-out", data={"csrf": "0" * 64}).status_code == 403
    assert browser.get("/console/modules").status_code == 200  # still signed in
    out = browser.post("/console/sign-out", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert browser.get("/console/modules").headers["location"] == "/console/sign-in"


def test_a_revoked_key_ends_the_sessions_it_vouched_for(tenant: Tenant) -> None:
    browser = signed_in_client(tenant)
    assert browser.get("/console/modules").status_code == 200
    with tenant.sessions() as session, session.begin():
        session.execute(
            update(ApiKey).where(ApiKey.instance_id == tenant.instance_id).values(revoked_at=utcnow())
        )
    assert browser.get("/console/modules").status_code == 303


def test_a_session_of_another_instance_sees_nothing_of_this_one(tenant: Tenant, make_tenant: object) -> None:
    module = tenant.post("/modules", json={"code": unique("WALL"), "name": "Walled"}).json()
    neighbour = make_tenant()  # type: ignore[operator]
    theirs = signed_in_client(neighbour, role="admin")
    assert module["code"] not in theirs.get("/console/modules").text
    page = theirs.get(f"/console/modules/{module['id']}")
    assert page.status_code == 404
    assert "Walled" not in page.text
    ours = signed_in_client(tenant, role="admin")
    assert "Walled" in ours.get(f"/console/modules/{module['id']}").text


def test_no_page_may_be_framed_or_run_a_script_it_did_not_bring(tenant: Tenant) -> None:
    browser = signed_in_client(tenant)
    for path in ("/console/sign-in", "/console/modules"):
        answer = browser.get(path)
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "default-src 'none'" in policy
        assert "script-src 'self';" in policy  # its own file only: nothing inline, no eval
        assert "unsafe" not in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"


def test_a_link_sign_in_is_in_the_audit_log_under_the_user(tenant: Tenant) -> None:
    user = unique("grace")
    signed_in_client(tenant, user=user)
    events = tenant.get("/audit_events", params={"limit": 100}).json()
    signed = [e for e in events if e["actor"] == user and e["operation"] == "sign_in_with_link"]
    assert len(signed) == 1, events
    assert signed[0]["path"] == "/console/sign-in/sgl_[redacted]"  # the link's secret is not kept


def test_a_learners_key_opens_no_console_and_staff_see_only_the_modules_they_manage(tenant: Tenant) -> None:
    student = tenant.student(unique("learner"))
    learner_key = tenant.post("/api_keys", json={"role": "staff", "student_uid": student["uid"]}).json()[
        "api_key"
    ]
    browser = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False)
    form = browser.get("/console/sign-in")
    refused = browser.post("/console/sign-in", data={"key": learner_key, "csrf": csrf_of(form.text)})
    assert refused.status_code == 403
    assert "does not open the staff console" in refused.text
    module = tenant.post("/modules", json={"code": unique("MGR"), "name": "Managed by others"}).json()
    staff = signed_in_client(tenant, user=unique("outsider"))
    page = staff.get(f"/console/modules/{module['id']}")
    assert page.status_code == 403
    assert "does not manage" in page.text
    tenant.post(f"/modules/{module['id']}/staff", json={"users": ["insider"]})
    insider = signed_in_client(tenant, user="insider")
    assert insider.get(f"/console/modules/{module['id']}").status_code == 200


def test_a_link_names_a_user_or_a_learner_never_both_nor_neither(tenant: Tenant) -> None:
    student = tenant.student(unique("lea"))
    both = tenant.post("/console/sign_in_links", json={"user": "x", "student_uid": student["uid"]})
    neither = tenant.post("/console/sign_in_links", json={"role": "staff"})
    assert both.status_code == neither.status_code == 400
    assert both.json()["errors"][0]["rule"] == "one_of"
    unknown = tenant.post("/console/sign_in_links", json={"student_uid": "nobody-here"})
    assert unknown.status_code == 404
    learner = tenant.post("/console/sign_in_links", json={"student_uid": student["uid"]})
    assert learner.status_code == 200
