"""HTTP for /lti (admins only; our extension): the platforms an instance trusts, registered by
hand, and the tool's own configuration to paste into an LMS (its URLs and keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints

from studentgroups.dependencies import Admin, SessionDep
from studentgroups.instances.service import get_instance
from studentgroups.lti import keys, platforms
from studentgroups.problems import error_responses
from studentgroups.routing import JsonBodyRoute, id_path
from studentgroups.tables.lti import LtiPlatform
from studentgroups.wire import JsonBody

router = APIRouter(prefix="/lti", tags=["LTI 1.3"], route_class=JsonBodyRoute)
PlatformId = Annotated[int, id_path("LTI platform")]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class PlatformIn(JsonBody):
    """A platform (LMS) as its administrator's screen for the tool gives it."""

    name: Text = Field(description="A name for people, e.g. `Canvas (production)`.")
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="The platform's issuer (`iss`), e.g. `https://canvas.instructure.com`."
    )
    client_id: Text = Field(description="The client id the platform gave the tool.")
    auth_login_url: Url = Field(description="The platform's OIDC authorisation endpoint.")
    auth_token_url: Url = Field(description="The platform's OAuth 2 token endpoint (for its services).")
    key_set_url: Url = Field(description="The platform's JWKS URL: the keys its launches are signed with.")
    deployment_ids: list[Text] = Field(
        min_length=1,
        max_length=platforms.MAX_DEPLOYMENTS,
        description="The tool's deployment ids it launches.",
    )


class PlatformOut(BaseModel):
    """A registered platform."""

    id: int = Field(description="The platform's id in this instance.")
    name: str = Field(description="Its name for people.")
    issuer: str = Field(description="Its issuer (`iss`).")
    client_id: str = Field(description="The client id it gave the tool.")
    auth_login_url: str = Field(description="Its OIDC authorisation endpoint.")
    auth_token_url: str = Field(description="Its OAuth 2 token endpoint.")
    key_set_url: str = Field(description="Its JWKS URL.")
    deployment_ids: list[str] = Field(description="The deployments of the tool it may launch.")
    created_at: str = Field(description="When it was registered (UTC, ISO 8601).")
    updated_at: str = Field(description="When its registration last changed (UTC, ISO 8601).")


class ToolOut(BaseModel):
    """What an LMS administrator pastes into the platform for this instance."""

    login_url: str = Field(description="OIDC login initiation URL (OpenID Connect Initiation Url).")
    launch_url: str = Field(description="Redirect URI and target link URI: where launches are posted.")
    jwks_url: str = Field(description="The tool's public JWK Set URL.")
    keys: int = Field(description="How many signing keys the JWKS publishes (two while a rotation settles).")


def _out(platform: LtiPlatform) -> PlatformOut:
    return PlatformOut(
        id=platform.id,
        name=platform.name,
        issuer=platform.issuer,
        client_id=platform.client_id,
        auth_login_url=platform.auth_login_url,
        auth_token_url=platform.auth_token_url,
        key_set_url=platform.key_set_url,
        deployment_ids=list(platform.deployment_ids),
        created_at=platform.created_at.isoformat(),
        updated_at=platform.updated_at.isoformat(),
    )


def _fields(body: PlatformIn) -> platforms.PlatformFields:
    return platforms.PlatformFields(
        name=body.name,
        issuer=body.issuer,
        client_id=body.client_id,
        auth_login_url=body.auth_login_url,
        auth_token_url=body.auth_token_url,
        key_set_url=body.key_set_url,
        deployment_ids=body.deployment_ids,
    )


@router.get("/platforms", response_model=list[PlatformOut], responses=error_responses(401, 403))
def list_lti_platforms(session: SessionDep, principal: Admin) -> list[PlatformOut]:
    """The platforms registered with the instance."""
    return [_out(p) for p in platforms.list_platforms(session, principal)]


@router.post(
    "/platforms", response_model=PlatformOut, responses=error_responses(400, 401, 403, 404, 409, 411, 415)
)
def register_lti_platform(body: PlatformIn, session: SessionDep, principal: Admin) -> PlatformOut:
    """Register a platform by hand. Its launches open console sessions vouched for by this key:
    revoking it ends them, and stops new ones."""
    return _out(platforms.register(session, principal, _fields(body)))


@router.get(
    "/platforms/{platform_id}", response_model=PlatformOut, responses=error_responses(400, 401, 403, 404)
)
def get_lti_platform(platform_id: PlatformId, session: SessionDep, principal: Admin) -> PlatformOut:
    """One registered platform."""
    return _out(platforms.get(session, principal.instance_id, platform_id))


@router.put(
    "/platforms/{platform_id}",
    response_model=PlatformOut,
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def update_lti_platform(
    platform_id: PlatformId, body: PlatformIn, session: SessionDep, principal: Admin
) -> PlatformOut:
    """Replace a platform's registration; the modules and people its launches made stay linked."""
    return _out(platforms.update(session, principal, platform_id, _fields(body)))


@router.delete(
    "/platforms/{platform_id}", response_model=PlatformOut, responses=error_responses(400, 401, 403, 404)
)
def delete_lti_platform(platform_id: PlatformId, session: SessionDep, principal: Admin) -> PlatformOut:
    """Forget a platform: its launches are refused from now on; what they made stays."""
    return _out(platforms.delete(session, principal, platform_id))


def _tool(request: Request, session: SessionDep, principal: Admin) -> ToolOut:
    instance = str(get_instance(session, instance_id=principal.instance_id).uuid)
    return ToolOut(
        login_url=str(request.url_for("lti_login", instance=instance)),
        launch_url=str(request.url_for("lti_launch", instance=instance)),
        jwks_url=str(request.url_for("lti_jwks", instance=instance)),
        keys=len(keys.jwks(session, principal.instance_id)["keys"]),
    )


@router.get("/tool", response_model=ToolOut, responses=error_responses(401, 403))
def get_lti_tool(request: Request, session: SessionDep, principal: Admin) -> ToolOut:
    """The tool's URLs for this instance, to paste into the LMS."""
    return _tool(request, session, principal)


@router.post("/tool/keys", response_model=ToolOut, responses=error_responses(401, 403))
def rotate_lti_key(request: Request, session: SessionDep, principal: Admin) -> ToolOut:
    """Rotate the tool's signing key: a new key signs from now on; the old one stays published
    (platforms that cached the JWKS still check what it signed) until retired."""
    keys.rotate(session, principal.instance_id)
    return _tool(request, session, principal)


@router.delete("/tool/keys/older", response_model=ToolOut, responses=error_responses(401, 403))
def retire_lti_keys(request: Request, session: SessionDep, principal: Admin) -> ToolOut:
    """Retire every key but the one that signs (once platforms have fetched the new JWKS)."""
    keys.retire_older(session, principal.instance_id)
    return _tool(request, session, principal)
