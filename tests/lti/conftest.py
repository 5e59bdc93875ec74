"""The suite's platform, registered with a tenant, and a browser that goes through a launch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from studentgroups.db import transaction
from studentgroups.tables.console import ConsoleSession
from studentgroups.tables.instances import Instance, User
from studentgroups.tables.lti import LtiAccount, LtiContext, LtiLogin
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from tests.factories import Tenant, unique
from tests.live_server import LiveServer
from tests.lti.platform import INSTRUCTOR, LEARNER, Course, Person, Platform, read_form


@pytest.fixture(scope="session")
def lms() -> Iterator[Platform]:
    platform = Platform().start()
    yield platform
    platform.stop()


@dataclass
class Lti:
    """A tenant with the platform registered, and the tool's URLs for it."""

    tenant: Tenant
    platform: Platform
    base_url: str
    instance_uuid: str
    platform_id: int

    @property
    def prefix(self) -> str:
        return f"/lti/{self.instance_uuid}"

    def person(self, roles: list[str], sourced_id: str | None = None, name: str | None = None) -> Person:
        sub = unique("sub")
        person = Person(sub=sub, name=name or f"Person {sub}", roles=roles, sourced_id=sourced_id)
        self.platform.people[sub] = person
        return person

    def course(self) -> Course:
        label = unique("LTI")
        course = Course(id=unique("course"), label=label, title=f"Course {label}")
        self.platform.courses[course.id] = course
        return course

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, follow_redirects=False)

    def begin(self, browser: httpx.Client, person: Person, course: Course) -> dict[str, str]:
        """The login, then the platform's authorisation: the form the browser would post."""
        target = f"{self.base_url}{self.prefix}/launch"
        started = browser.get(
            f"{self.prefix}/login", params=self.platform.login_initiation(person, course, target)
        )
        assert started.status_code == 302, started.text
        answered = httpx.get(started.headers["location"], timeout=30)
        assert answered.status_code == 200, answered.text
        action, fields = read_form(answered.text)
        assert action == target
        return fields

    def launch(self, person: Person, course: Course, browser: httpx.Client | None = None) -> httpx.Response:
        """A whole launch in a new browser (or `browser`): the tool's answer to the form post."""
        browser = browser or self.browser()
        fields = self.begin(browser, person, course)
        return browser.post(f"{self.prefix}/launch", data=fields)

    def counts(self) -> dict[str, int]:
        """How many rows of what a launch makes the tenant holds."""
        models: list[Any] = [Module, Student, User, ConsoleSession, LtiAccount, LtiContext]
        with transaction(self.tenant.sessions) as session:
            counts = {
                m.__tablename__: session.scalar(
                    select(func.count()).select_from(m).where(m.instance_id == self.tenant.instance_id)
                )
                or 0
                for m in models
            }
            counts["used_logins"] = (
                session.scalar(
                    select(func.count())
                    .select_from(LtiLogin)
                    .where(LtiLogin.instance_id == self.tenant.instance_id, LtiLogin.used_at.is_not(None))
                )
                or 0
            )
        return counts


def register(tenant: Tenant, platform: Platform, base_url: str) -> Lti:
    registered = tenant.post("/lti/platforms", json=platform.registration())
    assert registered.status_code == 200, registered.text
    with transaction(tenant.sessions) as session:
        instance_uuid = str(session.scalar(select(Instance.uuid).where(Instance.id == tenant.instance_id)))
    redirect = f"{base_url}/lti/{instance_uuid}/launch"
    if redirect not in platform.redirect_uris:
        platform.redirect_uris.append(redirect)
    return Lti(tenant, platform, base_url, instance_uuid, registered.json()["id"])


@pytest.fixture
def lti(tenant: Tenant, lms: Platform, server: LiveServer) -> Iterator[Lti]:
    registered = register(tenant, lms, server.url)
    yield registered
    lms.tweak = type(lms.tweak)()


__all__ = ["INSTRUCTOR", "LEARNER", "Lti", "register"]
