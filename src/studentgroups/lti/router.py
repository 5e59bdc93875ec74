"""The LTI edge: what an LMS and its users' browsers call, under `/lti/{instance uuid}/`.

- `GET /lti/{instance}/jwks.json`: the tool's public keys for that instance (`lti.keys`).
- `GET|POST /lti/{instance}/login`: the OIDC third-party-initiated login; the browser goes on to
  the platform with a state it keeps in a cookie (`lti.launch.begin_login`).
- `POST /lti/{instance}/launch`: the platform's form post of the `id_token`; checked
  (`lti.launch.check_launch`), admitted (`lti.admit`), and the browser lands in the console
  signed in. A refusal is a page that names the check that failed, and nothing is written.
Pages and redirects, not JSON: out of the OpenAPI document, as the console's pages are.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from studentgroups.console.router import redirect, render, set_session_cookie
from studentgroups.console.service import principal_of_session
from studentgroups.db import roll_back
from studentgroups.dependencies import SessionDep, audited_read
from studentgroups.errors import NotFound
from studentgroups.lti import keys
from studentgroups.lti.admit import admit
from studentgroups.lti.launch import LaunchRefused, begin_login, check_launch
from studentgroups.tables.instances import Instance

STATE_COOKIE = "sg_lti_state"
"""The login's state, kept by the browser that began it until the launch (ten minutes)."""
MAX_TOKEN = 64 * 1024
"""The longest id_token read (a launch's claims are a few kilobytes)."""

router = APIRouter(prefix="/lti/{instance}", include_in_schema=False)


def _instance_id(session: Session, instance: str) -> int:
    try:
        wanted = uuid_module.UUID(instance)
    except ValueError:
        wanted = None
    found = None if wanted is None else session.scalar(select(Instance.id).where(Instance.uuid == wanted))
    if found is None:
        raise NotFound(f"No instance {instance!r} serves LTI here.")
    return int(found)


def _refused(request: Request, session: Session, error: LaunchRefused | NotFound) -> Response:
    roll_back(session)
    status = 404 if isinstance(error, NotFound) else 401
    return render(request, "lti_refused.html", status, signed=None, message=error.detail)


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/jwks.json", name="lti_jwks")
@audited_read  # made on first use
def jwks(instance: str, session: SessionDep) -> Response:
    """The tool's public keys for the instance, as a JWK Set."""
    try:
        instance_id = _instance_id(session, instance)
    except NotFound as error:
        return JSONResponse({"detail": error.detail}, status_code=404)
    return JSONResponse(keys.jwks(session, instance_id), headers={"Cache-Control": "max-age=300"})


class LoginFields:
    """The login's parameters (OIDC third-party-initiated login), by query or form."""

    def __init__(
        self,
        iss: str | None = None,
        login_hint: str | None = None,
        target_link_uri: str | None = None,
        client_id: str | None = None,
        lti_message_hint: str | None = None,
        lti_deployment_id: str | None = None,
    ) -> None:
        self.iss = iss
        self.login_hint = login_hint
        self.target_link_uri = target_link_uri
        self.client_id = client_id
        self.lti_message_hint = lti_message_hint
        self.lti_deployment_id = lti_deployment_id


def _login(instance: str, fields: LoginFields, request: Request, session: Session) -> Response:
    try:
        instance_id = _instance_id(session, instance)
        login = begin_login(
            session,
            instance_id=instance_id,
            issuer=fields.iss,
            login_hint=fields.login_hint,
            target_link_uri=fields.target_link_uri,
            client_id=fields.client_id,
            lti_message_hint=fields.lti_message_hint,
            deployment_id=fields.lti_deployment_id,
            redirect_uri=str(request.url_for("lti_launch", instance=instance)),
        )
    except (LaunchRefused, NotFound) as error:
        return _refused(request, session, error)
    response = RedirectResponse(login.url, status_code=302)
    # The platform posts the launch back from its own site: on https the cookie must be
    # SameSite=None (and so Secure) to come with that post; on http (this machine) Lax suffices.
    response.set_cookie(
        STATE_COOKIE,
        login.state,
        max_age=600,
        path=f"/lti/{instance}/launch",
        httponly=True,
        secure=_is_https(request),
        samesite="none" if _is_https(request) else "lax",
    )
    return response


@router.get("/login", name="lti_login")
@audited_read  # a login is recorded (a write), though it comes by GET
def login_by_get(
    instance: str, request: Request, session: SessionDep, fields: Annotated[LoginFields, Depends()]
) -> Response:
    """The platform begins a launch (OIDC third-party-initiated login, by GET)."""
    return _login(instance, fields, request, session)


@router.post("/login", name="lti_login_post")
def login_by_post(
    instance: str,
    request: Request,
    session: SessionDep,
    iss: Annotated[str | None, Form()] = None,
    login_hint: Annotated[str | None, Form()] = None,
    target_link_uri: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    lti_message_hint: Annotated[str | None, Form()] = None,
    lti_deployment_id: Annotated[str | None, Form()] = None,
) -> Response:
    """The platform begins a launch (OIDC third-party-initiated login, by POST)."""
    fields = LoginFields(iss, login_hint, target_link_uri, client_id, lti_message_hint, lti_deployment_id)
    return _login(instance, fields, request, session)


@router.post("/launch", name="lti_launch")
def launch(
    instance: str,
    request: Request,
    session: SessionDep,
    id_token: Annotated[str | None, Form(max_length=MAX_TOKEN)] = None,
    state: Annotated[str | None, Form(max_length=255)] = None,
) -> Response:
    """The platform's launch: checked, admitted, and the browser sent into the console."""
    try:
        instance_id = _instance_id(session, instance)
        checked = check_launch(
            session,
            instance_id=instance_id,
            id_token=id_token,
            state=state,
            cookie=request.cookies.get(STATE_COOKIE),
        )
        admitted = admit(session, checked)
    except (LaunchRefused, NotFound) as error:
        return _refused(request, session, error)
    request.state.principal = principal_of_session(session, admitted.opened.secret)
    target = f"/console/modules/{admitted.module.module.id}" if admitted.staff else "/console/learn"
    response = redirect(request, target)
    set_session_cookie(request, response, admitted.opened)
    response.delete_cookie(STATE_COOKIE, path=f"/lti/{instance}/launch")
    return response
