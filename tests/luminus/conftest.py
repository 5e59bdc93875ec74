"""A course: a module with students on its roster (and guests), made through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.factories import Tenant, unique

GROUP_MODEL = {
    "id",
    "groupName",
    "groupType",
    "groupTypeName",
    "creatorID",
    "resourceID",
    "parentGroupID",
    "groupAccess",
}
"""The fields of the documented base group model (seed 004), exactly."""


@dataclass
class Course:
    tenant: Tenant
    module: dict[str, Any]
    roster: list[dict[str, Any]]
    guests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resource_id(self) -> str:
        return str(self.module["uuid"])

    def user_ids(self, which: str = "roster") -> set[str]:
        return {s["uuid"] for s in (self.roster if which == "roster" else self.guests)}

    def add_class_groups(
        self, *names: str, parent: str | None = None, key: str | None = None, **fields: Any
    ) -> list[dict[str, Any]]:
        response = self.tenant.post(
            "/user/Groups/ClassGroups",
            key=key,
            json={
                "resourceID": self.resource_id,
                "parentGroupID": parent,
                "classGroup": [{"groupName": n, **fields} for n in names],
            },
        )
        assert response.status_code == 200, response.text
        groups: list[dict[str, Any]] = response.json()
        return groups

    def randomise(self, **body: Any) -> Any:
        return self.tenant.post("/user/Groups/Randomise", json={"resourceID": self.resource_id, **body})


def make_course(tenant: Tenant, students: int = 12, guests: int = 0) -> Course:
    module = tenant.post("/modules", json={"code": unique("CS"), "name": "Programming Methodology"}).json()
    roster = [tenant.student(unique("learner")) for _ in range(students)]
    if roster:
        added = tenant.post(
            f"/modules/{module['id']}/roster", json={"student_ids": [s["id"] for s in roster]}
        )
        assert added.status_code == 200, added.text
    guest_list = [tenant.student(unique("guest")) for _ in range(guests)]
    if guest_list:
        tenant.post(f"/modules/{module['id']}/guests", json={"student_ids": [s["id"] for s in guest_list]})
    return Course(tenant=tenant, module=module, roster=roster, guests=guest_list)


@pytest.fixture
def course(tenant: Tenant) -> Course:
    return make_course(tenant)
