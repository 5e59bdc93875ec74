"""/openapi.json describes every path, field and error; /docs works offline; schemathesis finds no 5xx."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from studentgroups.main import create_app
from studentgroups.settings import Settings
from studentgroups.tables.group_types import GROUP_TYPE_NAMES
from tests.factories import Tenant, new_tenant
from tests.live_server import LiveServer


def test_every_operation_documents_its_errors_as_problem_details(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            if path != "/healthz":
                assert "401" in responses, (method, path)
            expected = "application/json" if path.startswith("/user/") else "application/problem+json"
            for status, response in responses.items():
                if int(status) >= 400:
                    assert list(response["content"]) == [expected], (method, path, status)


def test_the_document_names_the_key_headers_and_enums(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert {s.get("name") for s in schemes.values()} >= {
        "Authorization",
        "Ocp-Apim-Subscription-Key",
        "X-API-Key",
    }
    schemas = spec["components"]["schemas"]
    assert schemas["Sexe"]["enum"] == ["male", "female", "undefined"]
    assert schemas["Role"]["enum"] == ["admin", "staff", "read-only"]
    assert {"student_clusters", "student_groups", "students"} <= {p.split("/")[1] for p in spec["paths"]}
    assert any(p.startswith("/v1/instances/{instance_id}/student_groups") for p in spec["paths"])


def test_docs_are_served_without_internet(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets, page.text
    for asset in assets:
        assert asset.startswith("/"), f"{asset} would need the internet"
        assert http.get(asset).status_code == 200, asset


def _operations() -> list[tuple[str, str]]:
    # The app builds its document without touching a database, so this runs at collection time.
    spec = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


# Cases per operation: a few in the suite; `make fuzz` runs many more.
FUZZ_EXAMPLES = int(os.environ.get("STUDENTGROUPS_FUZZ_EXAMPLES", "20"))
# Written into a neighbouring instance: no answer to the fuzzed instance's key may contain it.
NEIGHBOUR_MARK = "neighbour-secret-4f1c"


@pytest.fixture(scope="module")
def fuzz_target(server: LiveServer, http: httpx.Client, sessions: Any) -> tuple[Any, Tenant]:
    """The live server's schema, and a tenant with a group and a student for the fuzzer to find,
    beside a neighbouring instance whose rows all carry NEIGHBOUR_MARK."""
    neighbour = new_tenant(http, sessions, name="neighbour")
    cluster = neighbour.cluster(f"{NEIGHBOUR_MARK} cluster")
    their_group = neighbour.group(f"{NEIGHBOUR_MARK} group", student_cluster_id=cluster["id"])
    their_student = neighbour.student(NEIGHBOUR_MARK, name=NEIGHBOUR_MARK, student_group_id=their_group["id"])
    neighbour.post("/results", json={"student_id": their_student["id"], "item": NEIGHBOUR_MARK, "score": 1})
    neighbour.post("/modules", json={"code": NEIGHBOUR_MARK, "name": NEIGHBOUR_MARK})

    tenant = new_tenant(http, sessions, name="fuzzed")
    group = tenant.group("fuzz group")
    tenant.student("fuzz-student", student_group_id=group["id"])
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json"), tenant


def _committed_writes(tenant: Tenant) -> int:
    """How many writes the instance's audit log holds: a refused request must add none."""
    return int(tenant.get("/audit_events", params={"limit": 0}).headers["X-Total-Count"])


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_fuzzing_finds_no_server_error_and_no_contradiction_of_the_schema(
    method: str, path: str, fuzz_target: tuple[Any, Tenant]
) -> None:
    schema, tenant = fuzz_target
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def call(case: Any) -> None:
        writes = _committed_writes(tenant)
        response = case.call(headers={"X-API-Key": tenant.key})
        case.validate_response(response, checks=CHECKS)
        assert NEIGHBOUR_MARK not in response.text, "another instance's rows in the answer"
        if response.status_code >= 400:
            assert _committed_writes(tenant) == writes, "a refused request wrote"

    call()


def _operations_with_bodies() -> list[tuple[str, str]]:
    spec = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation and not path.startswith("/v1/")
    ]


@pytest.mark.parametrize(("method", "path"), _operations_with_bodies())
def test_fuzzing_with_bodies_the_schema_refuses_is_answered_4xx_and_writes_nothing(
    method: str, path: str, fuzz_target: tuple[Any, Tenant]
) -> None:
    """Negative cases: unknown fields, wrong JSON types, blank or control-character names, out of
    range numbers. Each is refused (never a 5xx, never a 2xx) and leaves nothing written."""
    schema, tenant = fuzz_target
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def call(case: Any) -> None:
        writes = _committed_writes(tenant)
        response = case.call(headers={"X-API-Key": tenant.key})
        case.validate_response(response, checks=[not_a_server_error, negative_data_rejection])
        if response.status_code >= 400:
            assert _committed_writes(tenant) == writes, "a refused request wrote"

    call()


def test_every_field_of_every_schema_is_described(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    undescribed = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, spec in schema.get("properties", {}).items()
        if not spec.get("description") and "$ref" not in spec
    ]
    assert undescribed == []


def test_group_types_and_access_levels_are_defined_in_the_document(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    group_type = schemas["GroupType"]
    assert group_type["enum"] == [int(t) for t in GROUP_TYPE_NAMES]
    for number, name in GROUP_TYPE_NAMES.items():
        assert f"{int(number)} [{name}]" in group_type["description"]
    access = schemas["GroupAccess"]
    assert access["enum"] == [0, 1, 2, 3]
    for level in ("0 staff only", "1 members view", "2 module view", "3 members manage"):
        assert level in access["description"]
