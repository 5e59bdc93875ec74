"""Who may call what, proved on every operation of /openapi.json with every kind of key.

The kinds: admin; staff who manages the module; staff who does not; read-only; a learner who is
a member (on the module's roster, in the groups, the student whose record is asked for); a
learner who is not (on another module); and a revoked key. Each operation's expectations are
written here, apart from the code's rules (`studentgroups.permissions`, `groups.access`), and
an operation without them fails the test: a new route must say who may call it.

A refusal writes nothing: the audit log, where every committed write leaves an event, has no
new event after the refused calls of an operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course

ADMIN, MANAGER, BYSTANDER, READER = "admin", "manager", "bystander", "reader"
MEMBER, OUTSIDER, REVOKED = "member", "outsider", "revoked"
KINDS = (ADMIN, MANAGER, BYSTANDER, READER, MEMBER, OUTSIDER)
PLATFORM = frozenset({ADMIN, MANAGER, BYSTANDER, READER})
WRITERS = frozenset({ADMIN, MANAGER, BYSTANDER})
MANAGERS = frozenset({ADMIN, MANAGER})
EVERYONE = frozenset(KINDS)
V1 = "/v1/instances/{instance_id}"


@dataclass
class World:
    """An instance with one of everything, and a key of every kind."""

    tenant: Tenant
    course: Course
    keys: dict[str, str]
    ids: dict[str, Any]
    member: dict[str, Any]  # the student the member learner is
    classmate: dict[str, Any]  # on the roster and in the member's groups
    spare: dict[str, Any]  # on the roster, in no group

    def as_admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.tenant.request(method, path, **kwargs)
        assert response.status_code in (200, 204), (method, path, response.text)
        return response.json() if response.status_code == 200 else None

    def fresh_student(self, *, on_module: bool = True) -> dict[str, Any]:
        student = self.tenant.student(unique("fresh"))
        if on_module:
            self.as_admin(
                "POST", f"/modules/{self.ids['module_id']}/roster", json={"student_ids": [student["id"]]}
            )
        return student

    def fresh_self_enrol_group(self) -> dict[str, Any]:
        (parent,) = self.course.add_class_groups(unique("parent"))
        (group,) = self.course.add_class_groups(unique("open"), parent=parent["id"], selfEnrol=True)
        return group

    def numeric_id(self, group: dict[str, Any]) -> int:
        """The Domoscio id of a LumiNUS group (names are unique in a test)."""
        return int(
            next(g["id"] for g in self.as_admin("GET", "/student_groups") if g["name"] == group["groupName"])
        )


@dataclass(frozen=True)
class Call:
    """What one request sends: path ids beside the world's, query and body."""

    ids: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None


Prepare = Callable[[World], Call]


@dataclass(frozen=True)
class Case:
    """One operation, called one way, and what each kind of key gets."""

    method: str
    path: str
    allowed: frozenset[str]
    call: Prepare = lambda _w: Call()
    """Builds the request; for an allowed write, called anew for each kind (fresh targets)."""
    refused: dict[str, int] = field(default_factory=dict)
    """Kinds refused otherwise than with 403 (404: a record the caller may not know of)."""
    fresh: bool = False
    """Whether each allowed call needs its own target (the call changes or deletes it)."""

    def expected(self, kind: str) -> int:
        return 200 if kind in self.allowed else self.refused.get(kind, 403)


def _students_body(world: World, student: dict[str, Any]) -> Call:
    return Call(json={"student_ids": [student["id"]]})


def _in_group(world: World, group_id: int) -> Call:
    student = world.fresh_student()
    world.as_admin("PUT", f"/student_groups/{group_id}/students/{student['id']}")
    return Call(ids={"student_group_id": group_id, "student_id": student["id"]})


def _platform() -> dict[str, Any]:
    """A platform's registration, under a client id of its own."""
    return {
        "name": "LMS",
        "issuer": "https://lms.example.org",
        "client_id": unique("client"),
        "auth_login_url": "https://lms.example.org/auth",
        "auth_token_url": "https://lms.example.org/token",
        "key_set_url": "https://lms.example.org/jwks",
        "deployment_ids": ["1"],
    }


def _registered(world: World) -> dict[str, Any]:
    return {"platform_id": world.as_admin("POST", "/lti/platforms", json=_platform())["id"]}


def _fresh_formation(world: World) -> Call:
    parent = world.tenant.group(unique("parent"))
    for _ in range(2):
        world.as_admin(
            "PUT", f"/student_groups/{parent['id']}/students/{world.fresh_student(on_module=False)['id']}"
        )
    saved = world.as_admin(
        "POST", f"/student_groups/{parent['id']}/formations", json={"create": {"count": 2}, "save": True}
    )
    return Call(ids={"formation_id": saved["formation_id"]})


def _fresh_parent_with_members(world: World) -> Call:
    parent = world.tenant.group(unique("parent"))
    for _ in range(2):
        world.as_admin(
            "PUT", f"/student_groups/{parent['id']}/students/{world.fresh_student(on_module=False)['id']}"
        )
    return Call(ids={"student_group_id": parent["id"]}, json={"create": {"count": 2}, "save": True})


def _fresh_module(world: World) -> Call:
    module = world.as_admin("POST", "/modules", json={"code": unique("GONE"), "name": "to delete"})
    world.as_admin("POST", f"/modules/{module['id']}/staff", json={"users": [world.ids["manager_user"]]})
    return Call(ids={"module_id": module["id"]})


def _joined_self_enrol_group(world: World, surface: str) -> Call:
    group = world.fresh_self_enrol_group()
    member = world.member
    world.as_admin("POST", f"/user/Groups/{group['id']}/SelfEnrol", json={"userID": member["uuid"]})
    if surface == "luminus":
        return Call(ids={"groupID": group["id"]}, params={"userID": member["uuid"]})
    return Call(ids={"group_id": world.numeric_id(group)}, params={"student_id": member["id"]})


def group_on_module(world: World) -> dict[str, Any]:
    """The ids that name the module's level-3 class group (the member's) on the Domoscio surface."""
    return {"student_group_id": world.ids["class_group_id"]}


def _cases() -> list[Case]:
    return [
        Case("GET", "/healthz", EVERYONE | {REVOKED}),
        # Clusters: the platform's.
        Case("POST", "/student_clusters", WRITERS, lambda _w: Call(json={"name": unique("c")})),
        Case("GET", "/student_clusters", PLATFORM),
        Case("GET", "/student_clusters/{student_cluster_id}", PLATFORM),
        Case(
            "PUT",
            "/student_clusters/{student_cluster_id}",
            WRITERS,
            lambda _w: Call(json={"name": "renamed"}),
        ),
        Case(
            "DELETE",
            "/student_clusters/{student_cluster_id}",
            WRITERS,
            lambda w: Call(ids={"student_cluster_id": w.tenant.cluster()["id"]}),
            fresh=True,
        ),
        Case("GET", "/student_clusters/{student_cluster_id}/results", PLATFORM),
        Case("GET", "/student_clusters/{student_cluster_id}/results.csv", PLATFORM),
        # An instance's own groups: open to every key; changed by the platform's writers.
        Case("POST", "/student_groups", WRITERS, lambda _w: Call(json={"name": unique("g")})),
        Case("GET", "/student_groups", EVERYONE),
        Case("GET", "/student_groups/{student_group_id}", EVERYONE),
        Case(
            "GET",
            "/student_groups/{student_group_id}",
            EVERYONE - {OUTSIDER},
            lambda w: Call(ids=group_on_module(w)),
        ),
        Case("PUT", "/student_groups/{student_group_id}", WRITERS, lambda _w: Call(json={"name": "renamed"})),
        Case(
            "PUT",
            "/student_groups/{student_group_id}",
            MANAGERS,
            lambda w: Call(ids=group_on_module(w), json={"name": "renamed"}),
        ),
        Case(
            "DELETE",
            "/student_groups/{student_group_id}",
            WRITERS,
            lambda w: Call(ids={"student_group_id": w.tenant.group()["id"]}),
            fresh=True,
        ),
        Case("GET", "/student_groups/{student_group_id}/students", EVERYONE),
        Case(
            "GET",
            "/student_groups/{student_group_id}/students",
            EVERYONE - {OUTSIDER},
            lambda w: Call(ids=group_on_module(w)),
        ),
        Case(
            "POST",
            "/student_groups/{student_group_id}/students",
            WRITERS,
            lambda w: _students_body(w, w.fresh_student(on_module=False)),
            fresh=True,
        ),
        Case(  # a level-3 group: its members set its members
            "POST",
            "/student_groups/{student_group_id}/students",
            MANAGERS | {MEMBER},
            lambda w: Call(ids=group_on_module(w), json={"student_ids": [w.fresh_student()["id"]]}),
            fresh=True,
        ),
        Case(
            "PUT",
            "/student_groups/{student_group_id}/students/{student_id}",
            WRITERS,
            lambda w: Call(ids={"student_id": w.fresh_student(on_module=False)["id"]}),
            fresh=True,
        ),
        Case(
            "PUT",
            "/student_groups/{student_group_id}/students/{student_id}",
            MANAGERS | {MEMBER},
            lambda w: Call(ids={**group_on_module(w), "student_id": w.fresh_student()["id"]}),
            fresh=True,
        ),
        Case(
            "DELETE",
            "/student_groups/{student_group_id}/students/{student_id}",
            WRITERS,
            lambda w: _in_group(w, w.ids["student_group_id"]),
            fresh=True,
        ),
        Case(
            "DELETE",
            "/student_groups/{student_group_id}/students/{student_id}",
            MANAGERS | {MEMBER},
            lambda w: _in_group(w, w.ids["class_group_id"]),
            fresh=True,
        ),
        # Students: a learner reads its own record; another's is 404, as a missing one.
        Case("POST", "/students", WRITERS, lambda _w: Call(json={"uid": unique("new")}), fresh=True),
        Case("GET", "/students", EVERYONE),
        Case("GET", "/students/{student_id}", PLATFORM | {MEMBER}, refused={OUTSIDER: 404}),
        Case("PUT", "/students/{student_id}", MANAGERS, lambda _w: Call(json={"city_of_residence": "Lyon"})),
        Case(
            "DELETE",
            "/students/{student_id}",
            MANAGERS,
            lambda w: Call(ids={"student_id": w.fresh_student()["id"]}),
            fresh=True,
        ),
        Case(
            "DELETE",
            "/students/{student_id}",
            frozenset({ADMIN}),
            lambda w: Call(ids={"student_id": w.fresh_student()["id"]}, params={"erase": "true"}),
            fresh=True,
        ),
        Case("GET", "/students/{student_id}/export", frozenset({ADMIN})),
        # Results: a learner reads its own.
        Case(
            "POST",
            "/results",
            WRITERS,
            lambda w: Call(json={"student_id": w.ids["student_id"], "item": "quiz", "score": 1}),
        ),
        Case("GET", "/results", EVERYONE),
        Case("GET", "/results.csv", EVERYONE),
        Case("GET", "/results/{result_id}", PLATFORM | {MEMBER}, refused={OUTSIDER: 404}),
        Case("GET", "/student_groups/{student_group_id}/results", EVERYONE),
        Case(
            "GET",
            "/student_groups/{student_group_id}/results",
            EVERYONE - {OUTSIDER},
            lambda w: Call(ids=group_on_module(w)),
        ),
        Case("GET", "/student_groups/{student_group_id}/results.csv", EVERYONE),
        Case(
            "GET",
            "/student_groups/{student_group_id}/results.csv",
            EVERYONE - {OUTSIDER},
            lambda w: Call(ids=group_on_module(w)),
        ),
        # Exports of a grouping: who may form it (the platform's writers; a module's managers).
        Case("GET", "/student_groups/{student_group_id}/grouping", WRITERS),
        Case(
            "GET",
            "/student_groups/{student_group_id}/grouping",
            MANAGERS,
            lambda w: Call(ids=group_on_module(w)),
        ),
        Case("GET", "/student_groups/{student_group_id}/grouping.csv", WRITERS),
        Case(
            "GET",
            "/student_groups/{student_group_id}/grouping.csv",
            MANAGERS,
            lambda w: Call(ids=group_on_module(w)),
        ),
        # Formations: the platform's.
        Case(
            "POST",
            "/student_groups/{student_group_id}/formations",
            WRITERS,
            _fresh_parent_with_members,
            fresh=True,
        ),
        Case("GET", "/student_groups/{student_group_id}/formations", PLATFORM),
        Case("GET", "/formations/{formation_id}", PLATFORM),
        Case("POST", "/formations/{formation_id}/revert", WRITERS, _fresh_formation, fresh=True),
        # Keys, the console's sign-in links and the audit log: admins'.
        Case(
            "POST",
            "/console/sign_in_links",
            frozenset({ADMIN}),
            lambda _w: Call(json={"user": unique("teacher"), "role": "read-only"}),
        ),
        Case("GET", "/api_keys", frozenset({ADMIN})),
        Case(
            "POST",
            "/api_keys",
            frozenset({ADMIN}),
            lambda _w: Call(json={"role": "staff", "user": unique("u")}),
        ),
        Case(
            "DELETE",
            "/api_keys/{api_key_id}",
            frozenset({ADMIN}),
            lambda w: Call(ids={"api_key_id": w.as_admin("POST", "/api_keys", json={"role": "staff"})["id"]}),
            fresh=True,
        ),
        Case("GET", "/audit_events", frozenset({ADMIN})),
        # LTI: the platforms an instance trusts, and the tool's keys: admins'.
        Case("GET", "/lti/platforms", frozenset({ADMIN})),
        Case("POST", "/lti/platforms", frozenset({ADMIN}), lambda _w: Call(json=_platform())),
        Case("GET", "/lti/platforms/{platform_id}", frozenset({ADMIN}), lambda w: Call(ids=_registered(w))),
        Case(
            "PUT",
            "/lti/platforms/{platform_id}",
            frozenset({ADMIN}),
            lambda w: Call(ids=_registered(w), json=_platform()),
            fresh=True,
        ),
        Case(
            "DELETE",
            "/lti/platforms/{platform_id}",
            frozenset({ADMIN}),
            lambda w: Call(ids=_registered(w)),
            fresh=True,
        ),
        Case("GET", "/lti/tool", frozenset({ADMIN})),
        Case("POST", "/lti/tool/keys", frozenset({ADMIN})),
        Case("DELETE", "/lti/tool/keys/older", frozenset({ADMIN})),
        # Modules: a learner reads those it is on.
        Case(
            "POST",
            "/modules",
            WRITERS,
            lambda _w: Call(json={"code": unique("NEW"), "name": "New"}),
            fresh=True,
        ),
        Case("GET", "/modules", EVERYONE),
        Case("GET", "/modules/{module_id}", PLATFORM | {MEMBER}, refused={OUTSIDER: 404}),
        Case("PUT", "/modules/{module_id}", MANAGERS, lambda _w: Call(json={"name": "Renamed"})),
        Case("DELETE", "/modules/{module_id}", MANAGERS, _fresh_module, fresh=True),
        Case("POST", "/modules/{module_id}/staff", MANAGERS, lambda _w: Call(json={"users": [unique("ta")]})),
        Case(
            "POST",
            "/modules/{module_id}/groups",
            MANAGERS,
            lambda _w: Call(json={"name": unique("T"), "group_type": 22}),
        ),
        Case(
            "PUT",
            "/modules/{module_id}/groups/{group_id}",
            MANAGERS,
            lambda w: Call(ids={"group_id": w.ids["class_group_id"]}, json={"description": "ours"}),
        ),
        Case("GET", "/modules/{module_id}/formations", MANAGERS),
        Case("GET", "/modules/{module_id}/{kind}", MANAGERS),
        Case("GET", "/modules/{module_id}/{kind}.csv", MANAGERS),
        Case("POST", "/modules/{module_id}/{kind}", MANAGERS, lambda w: _students_body(w, w.spare)),
        Case(
            "POST",
            "/modules/{module_id}/{kind}/remove",
            MANAGERS,
            lambda w: _students_body(w, w.fresh_student()),
            fresh=True,
        ),
        # Self-enrolment, management surface: a learner for itself, a platform key naming it.
        Case(
            "GET",
            "/modules/{module_id}/enrolment",
            PLATFORM | {MEMBER},
            lambda w: Call(params={"parent_group_id": w.ids["parent_id"], "student_id": w.member["id"]}),
        ),
        Case(
            "POST",
            "/modules/{module_id}/enrolment/groups/{group_id}",
            WRITERS | {MEMBER},
            lambda w: Call(ids={"group_id": w.ids["enrol_group_id"]}, json={"student_id": w.member["id"]}),
        ),
        Case(
            "DELETE",
            "/modules/{module_id}/enrolment/groups/{group_id}",
            WRITERS | {MEMBER},
            lambda w: _joined_self_enrol_group(w, "modules"),
            fresh=True,
        ),
        Case(
            "GET",
            "/modules/{module_id}/enrolment/policy",
            MANAGERS,
            lambda w: Call(params={"parent_group_id": w.ids["parent_id"]}),
        ),
        Case(
            "PUT",
            "/modules/{module_id}/enrolment/policy",
            MANAGERS,
            lambda w: Call(json={"parent_group_id": w.ids["parent_id"], "admit_guests": False}),
        ),
        Case(
            "POST",
            "/modules/{module_id}/enrolment/allocate",
            MANAGERS,
            lambda w: Call(json={"parent_group_id": w.ids["parent_id"], "save": False}),
        ),
        # LumiNUS surface.
        Case(
            "POST",
            "/user/Groups/Randomise",
            MANAGERS,
            lambda w: Call(json={"resourceID": w.ids["ResourceID"], "parentGroupID": w.ids["parent_uuid"]}),
        ),
        Case(
            "POST",
            "/user/Groups/ClassGroups",
            MANAGERS,
            lambda w: Call(
                json={"resourceID": w.ids["ResourceID"], "classGroup": [{"groupName": unique("C")}]}
            ),
        ),
        Case(
            "PUT",
            "/user/Groups/Users",
            MANAGERS | {MEMBER},
            lambda w: Call(
                json={
                    "iDs_UserGuids": [
                        {"key": w.ids["groupID"], "value": [w.member["uuid"], w.classmate["uuid"]]}
                    ]
                }
            ),
        ),
        Case("GET", "/user/Resource/{ResourceID}/Group", EVERYONE),
        Case("GET", "/user/Resource/{ResourceID}/Group/Search", EVERYONE),
        Case("GET", "/user/Groups/{groupID}/Results", EVERYONE - {OUTSIDER}),
        Case("GET", "/user/Resource/{ResourceID}/Group/Results", EVERYONE),
        Case(
            "GET",
            "/user/Resource/{ResourceID}/Group/SelfEnrol",
            PLATFORM | {MEMBER},
            lambda w: Call(params={"parentGroupID": w.ids["parent_uuid"], "userID": w.member["uuid"]}),
        ),
        Case(
            "POST",
            "/user/Groups/{groupID}/SelfEnrol",
            WRITERS | {MEMBER},
            lambda w: Call(ids={"groupID": w.ids["enrol_group_uuid"]}, json={"userID": w.member["uuid"]}),
        ),
        Case(
            "DELETE",
            "/user/Groups/{groupID}/SelfEnrol",
            WRITERS | {MEMBER},
            lambda w: _joined_self_enrol_group(w, "luminus"),
            fresh=True,
        ),
        Case(
            "PUT",
            "/user/Groups/ClassGroups/{groupID}",
            MANAGERS,
            lambda _w: Call(json={"description": "ours"}),
        ),
        Case(
            "GET",
            "/user/Resource/{ResourceID}/Group/SelfEnrol/Policy",
            MANAGERS,
            lambda w: Call(params={"parentGroupID": w.ids["parent_uuid"]}),
        ),
        Case(
            "PUT",
            "/user/Groups/SelfEnrol/Policy",
            MANAGERS,
            lambda w: Call(
                json={
                    "resourceID": w.ids["ResourceID"],
                    "parentGroupID": w.ids["parent_uuid"],
                    "admitGuests": False,
                }
            ),
        ),
        Case(
            "POST",
            "/user/Groups/SelfEnrol/Allocate",
            MANAGERS,
            lambda w: Call(
                json={
                    "resourceID": w.ids["ResourceID"],
                    "parentGroupID": w.ids["parent_uuid"],
                    "toUpdate": False,
                }
            ),
        ),
    ]


CASES = _cases()


def _learner_key(tenant: Tenant, student: dict[str, Any]) -> str:
    made = tenant.post("/api_keys", json={"role": "staff", "student_uid": student["uid"]})
    assert made.status_code == 200, made.text
    key: str = made.json()["api_key"]
    return key


@pytest.fixture
def world(tenant: Tenant) -> World:
    course = make_course(tenant, students=4)
    member, classmate, spare, _ = course.roster
    outsider = make_course(tenant, students=1).roster[0]
    cluster = tenant.cluster()
    group = tenant.group(unique("own"), student_cluster_id=cluster["id"])
    for student in (member, classmate):
        assert tenant.put(f"/student_groups/{group['id']}/students/{student['id']}").status_code == 200
    manager_user = unique("manager")
    assert (
        tenant.post(f"/modules/{course.module['id']}/staff", json={"users": [manager_user]}).status_code
        == 204
    )
    (team,) = course.add_class_groups(unique("team"), groupAccess=3)
    (parent,) = course.add_class_groups(unique("parent"))
    (enrol,) = course.add_class_groups(unique("open"), parent=parent["id"], selfEnrol=True)
    placed = tenant.put(
        "/user/Groups/Users",
        json={"iDs_UserGuids": [{"key": team["id"], "value": [member["uuid"], classmate["uuid"]]}]},
    )
    assert placed.status_code == 200, placed.text
    result = tenant.post("/results", json={"student_id": member["id"], "item": "quiz", "score": 1}).json()
    formation = tenant.post(
        f"/student_groups/{group['id']}/formations", json={"create": {"count": 1}, "save": True}
    ).json()
    revoked = tenant.post("/api_keys", json={"role": "admin", "user": unique("gone")}).json()
    assert tenant.delete(f"/api_keys/{revoked['id']}").status_code == 200
    by_name = {g["name"]: g["id"] for g in tenant.get("/student_groups").json()}
    team_id, parent_id, enrol_id = (by_name[g["groupName"]] for g in (team, parent, enrol))
    keys = {
        ADMIN: tenant.key,
        MANAGER: tenant.new_key(Role.STAFF, user=manager_user),
        BYSTANDER: tenant.new_key(Role.STAFF, user=unique("bystander")),
        READER: tenant.new_key(Role.READ_ONLY, user=unique("reader")),
        MEMBER: _learner_key(tenant, member),
        OUTSIDER: _learner_key(tenant, outsider),
        REVOKED: revoked["api_key"],
    }
    ids = {
        "instance_id": tenant.instance_id,
        "student_cluster_id": cluster["id"],
        "student_group_id": group["id"],
        "student_id": member["id"],
        "result_id": result["id"],
        "formation_id": formation["formation_id"],
        "api_key_id": revoked["id"],
        "module_id": course.module["id"],
        "kind": "roster",
        "group_id": team_id,
        "class_group_id": team_id,
        "parent_id": parent_id,
        "enrol_group_id": enrol_id,
        "ResourceID": course.resource_id,
        "groupID": team["id"],
        "parent_uuid": parent["id"],
        "enrol_group_uuid": enrol["id"],
        "manager_user": manager_user,
    }
    return World(tenant, course, keys, ids, member, classmate, spare)


def _audit_count(world: World) -> int:
    response = world.tenant.get("/audit_events", params={"limit": 1})
    return int(response.headers["X-Total-Count"])


def _send(world: World, kind: str, method: str, template: str, call: Call) -> Any:
    path = template.format(**{**world.ids, **call.ids})
    return world.tenant.request(method, path, key=world.keys[kind], params=call.params, json=call.json)


def _operations(tenant: Tenant) -> set[tuple[str, str]]:
    spec = tenant.http.get("/openapi.json").json()
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def test_every_operation_has_its_rule_here(tenant: Tenant) -> None:
    operations = _operations(tenant)
    covered = {(c.method, c.path) for c in CASES}
    missing = {(m, p) for m, p in operations if (m, p.removeprefix(V1)) not in covered}
    assert missing == set(), "routes without a rule in tests/test_permissions.py"
    assert covered <= operations, "rules for routes that no longer exist"


def test_every_kind_of_key_gets_what_its_rules_give_on_every_operation(world: World) -> None:
    prefixes = {p for m, p in _operations(world.tenant) if p.startswith(V1)}
    wrong: list[str] = []
    tried = 0
    for case in CASES:
        for prefix in ("", V1):
            template = prefix + case.path
            if prefix and template not in prefixes:
                continue
            shared = case.call(world)
            before = _audit_count(world)
            for kind in (*[k for k in KINDS if k not in case.allowed], REVOKED):
                expected = 200 if kind in case.allowed else (401 if kind == REVOKED else case.expected(kind))
                response = _send(world, kind, case.method, template, shared)
                tried += 1
                if response.status_code != expected:
                    wrong.append(
                        f"{kind} {case.method} {template}: {response.status_code}, not {expected}: "
                        + response.text[:200]
                    )
            if _audit_count(world) != before:
                wrong.append(f"a refused {case.method} {template} wrote")
            for kind in sorted(case.allowed - {REVOKED}):
                call = case.call(world) if case.fresh else shared
                response = _send(world, kind, case.method, template, call)
                tried += 1
                if response.status_code not in (200, 204):
                    wrong.append(
                        f"{kind} {case.method} {template}: {response.status_code}, not 2xx: "
                        + response.text[:200]
                    )
    assert wrong == [], "\n".join(wrong)
    assert tried > 600
