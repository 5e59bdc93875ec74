"""A learning platform of the suite's own, on 127.0.0.1: an LTI 1.3 platform written from the
specifications (LTI 1.3 Core, the 1EdTech Security Framework 1.0, OpenID Connect Core), and
independent of the tool's code. It imports nothing of `studentgroups`; it signs its tokens with
`cryptography` alone (RS256: RSASSA-PKCS1-v1_5 over SHA-256), not with the tool's JOSE library.

It has its own RSA keys and JWKS (`/jwks`), an OIDC authorisation endpoint (`/auth`) that
answers a login with the auto-posting form a browser would follow, and people, courses and
deployments the tests set. `Tweak` forges what a test needs: a claim changed or removed, a
stranger's key, `alg: none`, an HS256 token, a time shifted.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
REMOVED = object()
"""A `Tweak.claims` value: leave the claim out of the token."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class RsaKey:
    """An RSA key pair with a key id, and its public JWK."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or secrets.token_hex(8)
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }

    def sign(self, signing_input: bytes) -> bytes:
        return self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def compact(
    header: dict[str, Any], claims: dict[str, Any], key: RsaKey | None, secret: bytes | None = None
) -> str:
    """A JWS in compact serialisation: RS256 with `key`, HS256 with `secret`, else unsigned."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    if key is not None:
        signature = key.sign(signing_input)
    elif secret is not None:
        mac = hmac.HMAC(secret, hashes.SHA256())
        mac.update(signing_input)
        signature = mac.finalize()
    else:
        signature = b""
    return f"{signing_input.decode()}.{b64url(signature)}"


@dataclass
class Person:
    sub: str
    name: str
    roles: list[str]
    sourced_id: str | None = None
    email: str | None = None


@dataclass
class Course:
    id: str
    label: str
    title: str


@dataclass
class Tweak:
    """What the next id_token gets wrong, on purpose."""

    claims: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    signer: str = "own"  # own | stranger | none | hs256
    shift_seconds: int = 0  # added to iat and exp


@dataclass
class Issued:
    """The last id_token the platform issued, and the state it echoed."""

    id_token: str
    state: str
    claims: dict[str, Any]


class Platform:
    """The platform: its issuer (its own URL), the client id and deployment it gave the tool."""

    def __init__(self) -> None:
        self.keys = [RsaKey()]
        self.client_id = "tool-" + secrets.token_hex(4)
        self.deployment_id = "deployment-" + secrets.token_hex(4)
        self.people: dict[str, Person] = {}
        self.courses: dict[str, Course] = {}
        self.redirect_uris: list[str] = []
        self.tweak = Tweak()
        self.issued: list[Issued] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        app = Starlette(
            routes=[
                Route("/jwks", self._jwks),
                Route("/auth", self._auth, methods=["GET", "POST"]),
            ]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True, name="lti-platform"
        )

    # Serving ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url

    def start(self) -> Platform:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test platform did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
        self._socket.close()

    def registration(self, name: str = "Test LMS") -> dict[str, Any]:
        """What its administrator's screen shows for the tool: the body of a registration by hand."""
        return {
            "name": name,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "auth_login_url": f"{self.url}/auth",
            "auth_token_url": f"{self.url}/token",
            "key_set_url": f"{self.url}/jwks",
            "deployment_ids": [self.deployment_id],
        }

    def rotate_key(self) -> None:
        """A new signing key, the old one still published (as a platform rotates)."""
        self.keys.insert(0, RsaKey())

    # The platform's side of a launch -------------------------------------------------------------

    def login_initiation(self, person: Person, course: Course, target: str) -> dict[str, str]:
        """The query a platform sends the browser to the tool's login URL with (third-party login)."""
        return {
            "iss": self.issuer,
            "login_hint": person.sub,
            "target_link_uri": target,
            "lti_message_hint": course.id,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [k.jwk() for k in self.keys]})

    def _claims(self, person: Person, course: Course, nonce: str) -> dict[str, Any]:
        now = int(time.time()) + self.tweak.shift_seconds
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": person.sub,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "name": person.name,
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "roles": person.roles,
            CLAIM + "resource_link": {"id": f"link-{course.id}", "title": "Groups"},
            CLAIM + "context": {"id": course.id, "label": course.label, "title": course.title},
            CLAIM + "target_link_uri": self.redirect_uris[0] if self.redirect_uris else "",
        }
        if person.sourced_id is not None:
            claims[CLAIM + "lis"] = {"person_sourcedid": person.sourced_id}
        if person.email is not None:
            claims["email"] = person.email
        for name, value in self.tweak.claims.items():
            if value is REMOVED:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def _sign(self, claims: dict[str, Any]) -> str:
        tweak = self.tweak
        if tweak.signer == "none":
            return compact({"alg": "none", "typ": "JWT", **tweak.header}, claims, None)
        if tweak.signer == "hs256":
            return compact({"alg": "HS256", "typ": "JWT", "kid": self.keys[0].kid}, claims, None, b"secret")
        key = self.keys[0] if tweak.signer == "own" else RsaKey(kid=self.keys[0].kid)
        return compact({"alg": "RS256", "typ": "JWT", "kid": key.kid, **tweak.header}, claims, key)

    async def _auth(self, request: Request) -> Response:
        """The OIDC authorisation endpoint: checks the request as the security framework says
        (5.1.1.2), then answers with the form that posts the id_token to the redirect URI."""
        given = request.query_params if request.method == "GET" else await request.form()
        query = {k: v for k, v in given.items() if isinstance(v, str)}
        wanted = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
        }
        for name, value in wanted.items():
            if query.get(name) != value:
                return HTMLResponse(f"bad {name}", status_code=400)
        if query.get("client_id") != self.client_id:
            return HTMLResponse("unknown client_id", status_code=400)
        if query.get("redirect_uri") not in self.redirect_uris:
            return HTMLResponse("redirect_uri not registered", status_code=400)
        person = self.people.get(query.get("login_hint", ""))
        course = self.courses.get(query.get("lti_message_hint", ""))
        if person is None or course is None or not query.get("nonce") or not query.get("state"):
            return HTMLResponse("unknown login", status_code=400)
        claims = self._claims(person, course, query["nonce"])
        token = self._sign(claims)
        self.issued.append(Issued(token, query["state"], claims))
        fields = {"id_token": token, "state": query["state"]}
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in fields.items()
        )
        action = html.escape(query["redirect_uri"])
        return HTMLResponse(f'<form method="post" action="{action}">{inputs}</form>')


FORM_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)">')


def read_form(page: str) -> tuple[str, dict[str, str]]:
    """The auto-posting form's action and fields, as a browser reads them."""
    action = FORM_ACTION.search(page)
    assert action is not None, page
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in FORM_FIELD.findall(page)}


def query_string(values: dict[str, str]) -> str:
    return urlencode(values)
