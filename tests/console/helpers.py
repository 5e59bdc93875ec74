"""Signing in to the console as a test does it: through the API's sign-in link, as a platform."""

from __future__ import annotations

import re

import httpx

from tests.factories import Tenant

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def sign_in_link(tenant: Tenant, user: str = "teacher", role: str = "staff") -> str:
    """A one-time sign-in link for `user`, asked for with the tenant's admin key."""
    made = tenant.post("/console/sign_in_links", json={"user": user, "role": role})
    assert made.status_code == 200, made.text
    return str(made.json()["url"])


def signed_in_client(tenant: Tenant, user: str = "teacher", role: str = "staff") -> httpx.Client:
    """A browser-like client (cookies kept, redirects not followed) signed in by a link."""
    link = sign_in_link(tenant, user, role)
    client = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False)
    answer = client.get(link)
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF.search(page)
    assert found is not None, "the page has no form token"
    return found.group(1)
