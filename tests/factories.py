"""Test data, made as a client would (through HTTP) or, for tenants and keys, as an operator would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.db import transaction
from studentgroups.instances import service as instances
from studentgroups.tables.instances import Role

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A value no other call returns in this test run."""
    return f"{prefix}-{next(_counter)}"


@dataclass
class Tenant:
    """An instance with its admin key, and a client that calls the API as it."""

    instance_id: int
    key: str
    http: httpx.Client
    sessions: sessionmaker[Session]

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token token={key or self.key}"}

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(key), **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def new_key(self, role: Role, user: str = "admin") -> str:
        """Another key of this instance, made as the CLI makes it."""
        with transaction(self.sessions) as session:
            return instances.create_key(
                session, instance_id=self.instance_id, role=role, user_name=user
            ).secret

    # Objects, made through the API; each returns the JSON the API answered.
    def cluster(self, name: str | None = None) -> dict[str, Any]:
        return _ok(self.post("/student_clusters", json={"name": name or unique("cluster")}))

    def group(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        return _ok(self.post("/student_groups", json={"name": name or unique("group"), **fields}))

    def student(self, uid: str | None = None, **fields: Any) -> dict[str, Any]:
        return _ok(self.post("/students", json={"uid": uid or unique("uid"), **fields}))


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def new_tenant(http: httpx.Client, sessions: sessionmaker[Session], name: str | None = None) -> Tenant:
    """A new instance and its first admin key, as `studentgroups instance create` makes them."""
    with transaction(sessions) as session:
        instance, issued = instances.create_instance(session, name=name or unique("instance"))
        instance_id, secret = instance.id, issued.secret
    return Tenant(instance_id=instance_id, key=secret, http=http, sessions=sessions)
