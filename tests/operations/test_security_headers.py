"""Security headers on every answer; the docs' own policy; CORS only where configured."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from studentgroups.settings import Settings
from tests.factories import Tenant
from tests.operations.conftest import StartServer

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
LMS = "https://lms.example.edu"


def assert_secured(response: httpx.Response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == API_POLICY
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP is common: off by default


def test_every_kind_of_answer_carries_the_security_headers(tenant: Tenant, http: httpx.Client) -> None:
    group = tenant.group()
    answers = [
        http.get("/healthz"),
        http.get("/readyz"),
        http.get("/openapi.json"),
        tenant.get(f"/student_groups/{group['id']}"),
        tenant.get("/user/Resource/00000000-0000-0000-0000-000000000000/Group"),  # 404 string error
        http.get("/student_groups"),  # 401
        http.get("/no/such/path"),  # 404
        http.delete("/healthz"),  # 405
        tenant.post("/student_groups", content=b"[" * 100),  # 400, answered before any route
    ]
    for response in answers:
        assert_secured(response)


def test_strict_transport_security_when_enabled(start_server: StartServer) -> None:
    live = start_server(hsts_max_age_seconds=31_536_000)
    response = httpx.get(f"{live.url}/healthz")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_docs_allow_their_own_scripts_and_nothing_else(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["connect-src"] == "'self'"  # the document and "Try it out": this origin only
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert inline, "the page boots Swagger UI from an inline script"
    allowed = directives["script-src"].split()
    assert "'unsafe-inline'" not in allowed
    assert "'unsafe-eval'" not in allowed
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed
    # Every asset the page loads is served here, under the policy's 'self'.
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert asset.startswith("/docs-assets/")
        fetched = http.get(asset)
        assert fetched.status_code == 200
        assert "no-store" not in fetched.headers.get("Cache-Control", "")  # static: cacheable
    assert '"validatorUrl": null' in page.text  # no badge fetched from validator.swagger.io


def test_no_cors_headers_at_all_by_default(tenant: Tenant, http: httpx.Client) -> None:
    simple = tenant.get("/student_groups", headers={"Origin": LMS})
    assert simple.status_code == 200
    assert not [h for h in simple.headers if h.lower().startswith("access-control-")]
    preflight = http.options(
        "/student_groups", headers={"Origin": LMS, "Access-Control-Request-Method": "POST"}
    )
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]


def test_cors_for_the_configured_origins(start_server: StartServer, tenant: Tenant) -> None:
    live = start_server(cors_allowed_origins=[LMS])
    with httpx.Client(base_url=live.url) as client:
        simple = client.get("/student_groups", headers={**tenant.headers(), "Origin": LMS})
        assert simple.status_code == 200
        assert simple.headers["Access-Control-Allow-Origin"] == LMS
        exposed = {h.strip().lower() for h in simple.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"x-request-id", "link", "x-total-count", "retry-after"} <= exposed
        assert "Access-Control-Allow-Credentials" not in simple.headers  # keys travel in headers
        assert_secured(simple)

        preflight = client.options(
            "/student_groups",
            headers={
                "Origin": LMS,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Content-Type, Ocp-Apim-Subscription-Key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == LMS
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed
        assert "ocp-apim-subscription-key" in allowed

        elsewhere = client.get(
            "/student_groups", headers={**tenant.headers(), "Origin": "https://evil.example"}
        )
        assert "Access-Control-Allow-Origin" not in elsewhere.headers
        refused = client.options(
            "/student_groups",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 400
        assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize(
    ("environment", "origins"),
    [
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ('["https://a.example", "https://b.example"]', ["https://a.example", "https://b.example"]),
        ("", []),
        ("*", ["*"]),
    ],
)
def test_cors_origins_are_read_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, environment: str, origins: list[str]
) -> None:
    monkeypatch.setenv("STUDENTGROUPS_CORS_ALLOWED_ORIGINS", environment)
    assert Settings().cors_allowed_origins == origins
