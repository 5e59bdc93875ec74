"""LTI 1.3 launches from the suite's own platform: the login, the checked id_token, what a
launch makes, and every check's refusal (which names it, and makes nothing)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from studentgroups.db import transaction
from studentgroups.tables.instances import Instance
from studentgroups.tables.lti import LtiContext
from studentgroups.tables.modules import ModuleStaff
from tests.lti.conftest import Lti
from tests.lti.platform import CLAIM, INSTRUCTOR, LEARNER, MENTOR, REMOVED, TEACHING_ASSISTANT, Tweak


def _landed(lti: Lti, response: httpx.Response, browser: httpx.Client) -> httpx.Response:
    assert response.status_code == 303, response.text
    page = browser.get(response.headers["location"])
    assert page.status_code == 200, page.text
    return page


def test_an_instructors_first_launch_makes_the_module_and_signs_them_in_as_its_manager(lti: Lti) -> None:
    course = lti.course()
    teacher = lti.person([INSTRUCTOR])
    browser = lti.browser()
    before = lti.counts()
    response = lti.launch(teacher, course, browser)
    module_path = response.headers["location"]
    assert module_path.startswith("/console/modules/")
    page = _landed(lti, response, browser)
    assert course.title in page.text
    module_id = int(module_path.rsplit("/", 1)[1])
    module = lti.tenant.get(f"/modules/{module_id}").json()
    assert module["code"] == course.label
    after = lti.counts()
    assert after["modules"] == before["modules"] + 1
    assert after["lti_contexts"] == before["lti_contexts"] + 1
    with transaction(lti.tenant.sessions) as session:
        managers = session.scalars(
            select(ModuleStaff.user_id).where(ModuleStaff.module_id == module_id)
        ).all()
    assert len(managers) == 1
    # Again (a new browser): the same module, the same manager; a new session only.
    again = lti.launch(teacher, course)
    assert again.headers["location"] == module_path
    third = lti.counts()
    assert {k: third[k] - after[k] for k in third} == {
        "modules": 0,
        "students": 0,
        "users": 0,
        "console_sessions": 1,
        "lti_accounts": 0,
        "lti_contexts": 0,
        "used_logins": 1,
    }


def test_a_teaching_assistant_manages_and_a_learner_lands_on_their_own_page_on_the_roster(lti: Lti) -> None:
    course = lti.course()
    assistant = lti.person([TEACHING_ASSISTANT])
    assert lti.launch(assistant, course).headers["location"].startswith("/console/modules/")
    learner = lti.person([LEARNER], sourced_id="sis-" + course.id, name="Ada Lovelace")
    browser = lti.browser()
    response = lti.launch(learner, course, browser)
    assert response.headers["location"] == "/console/learn"
    _landed(lti, response, browser)
    student = lti.tenant.get("/students", params={"uid": "sis-" + course.id}).json()
    (found,) = [s for s in student if s["uid"] == "sis-" + course.id]
    assert found["name"] == "Ada Lovelace"
    with transaction(lti.tenant.sessions) as session:
        module_id = session.scalar(select(LtiContext.module_id).where(LtiContext.context_id == course.id))
    roster = lti.tenant.get(f"/modules/{module_id}/roster").json()
    assert [s["uid"] for s in roster] == ["sis-" + course.id]


def test_a_learner_the_sis_imported_is_the_same_student(lti: Lti) -> None:
    existing = lti.tenant.student("sis-known", name="Known")
    learner = lti.person([LEARNER], sourced_id="sis-known")
    course = lti.course()
    before = lti.counts()
    assert lti.launch(learner, course).status_code == 303
    assert lti.counts()["students"] == before["students"]
    with transaction(lti.tenant.sessions) as session:
        module_id = session.scalar(select(LtiContext.module_id).where(LtiContext.context_id == course.id))
    roster = lti.tenant.get(f"/modules/{module_id}/roster").json()
    assert [s["id"] for s in roster] == [existing["id"]]


def _refused(lti: Lti, response: httpx.Response, check: str, before: dict[str, int]) -> None:
    assert response.status_code == 401, response.text
    assert f"refused: {check}:" in response.text
    assert "sg_console" not in response.headers.get("set-cookie", "")
    assert lti.counts() == before  # nothing made, no login used up


def _tweaked(lti: Lti, tweak: Tweak, roles: list[str] | None = None) -> tuple[httpx.Response, dict[str, int]]:
    course = lti.course()
    person = lti.person(roles or [INSTRUCTOR])
    before = lti.counts()
    lti.platform.tweak = tweak
    try:
        return lti.launch(person, course), before
    finally:
        lti.platform.tweak = Tweak()


FORGED: list[tuple[str, Tweak, str]] = [
    ("a stranger's key under the platform's kid", Tweak(signer="stranger"), "signature"),
    ("unsigned (alg none)", Tweak(signer="none"), "signature"),
    ("HS256 with a guessed secret", Tweak(signer="hs256"), "signature"),
    ("a key id the platform never had", Tweak(header={"kid": "no-such-key"}), "signature"),
    ("expired", Tweak(shift_seconds=-900), "exp"),
    ("issued in the future", Tweak(shift_seconds=600), "iat"),
    ("issued by another platform", Tweak(claims={"iss": "https://lms.example.org"}), "iss"),
    ("addressed to another tool", Tweak(claims={"aud": "another-tool"}), "aud"),
    ("several audiences and no azp", Tweak(claims={"aud": ["{client}", "another-tool"]}), "azp"),
    ("another authorised party", Tweak(claims={"azp": "another-tool"}), "azp"),
    ("no nonce", Tweak(claims={"nonce": REMOVED}), "nonce"),
    ("another login's nonce", Tweak(claims={"nonce": "not-the-logins"}), "nonce"),
    ("an unregistered deployment", Tweak(claims={CLAIM + "deployment_id": "elsewhere"}), "deployment_id"),
    (
        "a deep-linking request",
        Tweak(claims={CLAIM + "message_type": "LtiDeepLinkingRequest"}),
        "message_type",
    ),
    ("LTI 1.1's version", Tweak(claims={CLAIM + "version": "1.1"}), "version"),
    ("anonymous (no sub)", Tweak(claims={"sub": REMOVED}), "sub"),
    ("no resource link", Tweak(claims={CLAIM + "resource_link": REMOVED}), "resource_link"),
    ("no context", Tweak(claims={CLAIM + "context": REMOVED}), "context"),
    ("an expiry that is not a number", Tweak(claims={"exp": "soon"}), "exp"),
]


@pytest.mark.parametrize(("tweak", "check"), [(t, c) for _, t, c in FORGED], ids=[n for n, _, _ in FORGED])
def test_a_forged_or_misaddressed_launch_is_refused_naming_the_check_and_makes_nothing(
    lti: Lti, tweak: Tweak, check: str
) -> None:
    if tweak.claims.get("aud") == ["{client}", "another-tool"]:
        tweak = Tweak(claims={"aud": [lti.platform.client_id, "another-tool"]})
    response, before = _tweaked(lti, tweak)
    _refused(lti, response, check, before)


def test_a_role_the_tool_does_not_know_is_refused(lti: Lti) -> None:
    response, before = _tweaked(lti, Tweak(), roles=[MENTOR])
    _refused(lti, response, "roles", before)


def test_a_replayed_launch_is_refused_by_its_state_and_by_its_nonce(lti: Lti) -> None:
    course, teacher = lti.course(), lti.person([INSTRUCTOR])
    browser = lti.browser()
    fields = lti.begin(browser, teacher, course)
    assert browser.post(f"{lti.prefix}/launch", data=fields).status_code == 303
    before = lti.counts()
    # The same post again: its login is used up.
    _refused(lti, browser.post(f"{lti.prefix}/launch", data=fields), "state", before)
    # The old id_token with a new login's state: its nonce was used.
    fresh = lti.begin(browser, teacher, course)
    before = lti.counts()
    replay = browser.post(
        f"{lti.prefix}/launch", data={"id_token": fields["id_token"], "state": fresh["state"]}
    )
    _refused(lti, replay, "nonce", before)
    assert "used already" in replay.text


def test_a_launch_into_a_browser_that_did_not_begin_the_login_is_refused(lti: Lti) -> None:
    course, teacher = lti.course(), lti.person([INSTRUCTOR])
    fields = lti.begin(lti.browser(), teacher, course)
    before = lti.counts()
    _refused(lti, lti.browser().post(f"{lti.prefix}/launch", data=fields), "state", before)
    _refused(
        lti,
        lti.browser().post(f"{lti.prefix}/launch", data={"id_token": fields["id_token"]}),
        "state",
        before,
    )
    missing = lti.browser()
    fields = lti.begin(missing, teacher, course)
    before = lti.counts()
    _refused(lti, missing.post(f"{lti.prefix}/launch", data={"state": fields["state"]}), "id_token", before)


def test_a_login_from_an_unregistered_issuer_or_deployment_is_refused(lti: Lti) -> None:
    course, teacher = lti.course(), lti.person([INSTRUCTOR])
    query: dict[str, Any] = lti.platform.login_initiation(teacher, course, "x")
    for name, value, check in (
        ("iss", "https://lms.example.org", "iss"),
        ("lti_deployment_id", "elsewhere", "deployment_id"),
        ("login_hint", "", "login_hint"),
    ):
        before = lti.counts()
        response = lti.browser().get(f"{lti.prefix}/login", params={**query, name: value})
        assert response.status_code == 401, response.text
        assert f"refused: {check}:" in response.text
        assert lti.counts() == before


def test_the_platforms_new_key_is_fetched_and_the_tools_rotation_breaks_no_launch_in_flight(lti: Lti) -> None:
    course, teacher = lti.course(), lti.person([INSTRUCTOR])
    assert lti.launch(teacher, course).status_code == 303  # the platform's keys are cached now
    lti.platform.rotate_key()
    try:
        assert lti.launch(teacher, course).status_code == 303
    finally:
        lti.platform.keys = lti.platform.keys[:1]
    browser = lti.browser()
    fields = lti.begin(browser, teacher, course)
    tool = lti.tenant.get("/lti/tool").json()
    rotated = lti.tenant.post("/lti/tool/keys").json()
    assert rotated["keys"] == tool["keys"] + 1
    assert browser.post(f"{lti.prefix}/launch", data=fields).status_code == 303


def test_another_instances_launch_url_knows_nothing_of_this_platform(lti: Lti, make_tenant: Any) -> None:
    other = make_tenant()
    with transaction(other.sessions) as session:
        other_uuid = str(session.scalar(select(Instance.uuid).where(Instance.id == other.instance_id)))
    course, teacher = lti.course(), lti.person([INSTRUCTOR])
    query = lti.platform.login_initiation(teacher, course, "x")
    response = lti.browser().get(f"/lti/{other_uuid}/login", params=query)
    assert response.status_code == 401
    assert "refused: iss:" in response.text
    unknown = lti.browser().get("/lti/00000000-0000-0000-0000-000000000000/login", params=query)
    assert unknown.status_code == 404
