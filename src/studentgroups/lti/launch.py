"""The OIDC third-party-initiated login and the resource-link launch it ends in, checked fully.

1. The platform sends the browser to the tool's login URL with its issuer, a login hint and the
   target link (`begin_login`). The tool records a login (a random state, stored hashed; a
   random nonce; ten minutes), and sends the browser on to the platform's authorisation
   endpoint; the browser keeps the state in a cookie.
2. The platform posts back an `id_token` and the state (`check_launch`). Every check of the
   LTI 1.3 core specification (5.1.3) and the security framework (5.1.3 of the 1EdTech
   Security Framework) is made, and a refusal names the one that failed (`LaunchRefused.check`):
   the state (known, unused, unexpired, this browser's); the signature (RS256 only, against the
   platform's JWKS, by `kid`); `iss`; `aud` (the client id among them); `azp`; `exp`; `iat`;
   the nonce (the login's, once); the deployment id (one registered); the message type; the
   LTI version; and the claims a launch must carry (`sub`, roles, the resource link, the
   context). The signature is checked by joserfc; the claims are compared here, one by one, so
   that a refusal can say which.
Flushes, never commits: a refused launch is rolled back whole, so it creates nothing.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from studentgroups.auth import hash_key
from studentgroups.db import utcnow
from studentgroups.errors import Unauthorized
from studentgroups.lti.platforms import by_issuer, platform_keys
from studentgroups.tables.lti import LtiLogin, LtiPlatform
from studentgroups.tenancy import related_in_instance, scoped, scoped_columns

LOGIN_LIFETIME = timedelta(minutes=10)
LEEWAY_SECONDS = 60
"""Clock skew allowed between the platform and the tool, for `exp` and `iat`."""
MAX_AGE_SECONDS = 3600
"""An id_token issued longer ago than this is refused, whatever its `exp` says."""
ALGORITHMS = ["RS256"]

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DEPLOYMENT_ID = CLAIM + "deployment_id"
MESSAGE_TYPE = CLAIM + "message_type"
VERSION = CLAIM + "version"
ROLES = CLAIM + "roles"
RESOURCE_LINK = CLAIM + "resource_link"
CONTEXT = CLAIM + "context"
TARGET_LINK_URI = CLAIM + "target_link_uri"
LIS = CLAIM + "lis"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
LTI_VERSION = "1.3.0"


class LaunchRefused(Unauthorized):
    """A login or launch that failed a check; `check` names it (`state`, `signature`, `aud`, …)."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"The LTI launch was refused: {check}: {detail}")
        self.check = check


@dataclass(frozen=True, slots=True)
class LoginRedirect:
    """Where the browser goes next (the platform's authorisation endpoint), and the state it
    keeps in a cookie until the launch."""

    url: str
    state: str


def begin_login(
    session: Session,
    *,
    instance_id: int,
    issuer: str | None,
    login_hint: str | None,
    target_link_uri: str | None,
    client_id: str | None,
    lti_message_hint: str | None,
    deployment_id: str | None,
    redirect_uri: str,
) -> LoginRedirect:
    """Start a login the platform initiated: record it, and say where to send the browser."""
    if not issuer:
        raise LaunchRefused("iss", "the login names no issuer")
    if not login_hint:
        raise LaunchRefused("login_hint", "the login has no login_hint")
    if not target_link_uri:
        raise LaunchRefused("target_link_uri", "the login has no target_link_uri")
    try:
        platform = by_issuer(session, instance_id, issuer, client_id)
    except Exception as error:  # NotFound: say it as the check it is
        raise LaunchRefused("iss", str(error)) from error
    if deployment_id is not None and deployment_id not in platform.deployment_ids:
        raise LaunchRefused("deployment_id", f"deployment {deployment_id!r} is not registered")
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    session.add(
        LtiLogin(
            instance_id=instance_id,
            platform_id=platform.id,
            state_hash=hash_key(state),
            nonce=nonce,
            target_link_uri=target_link_uri[:2000],
            expires_at=utcnow() + LOGIN_LIFETIME,
        )
    )
    session.flush()
    query: dict[str, str] = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if lti_message_hint is not None:
        query["lti_message_hint"] = lti_message_hint
    separator = "&" if "?" in platform.auth_login_url else "?"
    return LoginRedirect(url=f"{platform.auth_login_url}{separator}{urlencode(query)}", state=state)


@dataclass(frozen=True, slots=True)
class Launch:
    """A launch that passed every check: its platform and its claims."""

    platform: LtiPlatform
    claims: dict[str, Any]

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])

    @property
    def roles(self) -> list[str]:
        return list(self.claims[ROLES])

    @property
    def context(self) -> dict[str, Any]:
        return dict(self.claims[CONTEXT])


def _login_of_state(session: Session, instance_id: int, state: str | None, cookie: str | None) -> LtiLogin:
    if not state:
        raise LaunchRefused("state", "the launch carries no state")
    login = session.scalar(
        scoped(LtiLogin, instance_id).where(LtiLogin.state_hash == hash_key(state)).with_for_update()
    )
    if login is None:
        raise LaunchRefused("state", "no login of this tool began with this state")
    if login.used_at is not None:
        raise LaunchRefused("state", "this login was launched already (a replay)")
    if login.expires_at <= utcnow():
        raise LaunchRefused("state", "the login began too long ago; launch again from the LMS")
    if cookie is None or not hmac.compare_digest(cookie, state):
        raise LaunchRefused("state", "the launch comes to a browser that did not begin the login")
    return login


def _verified_claims(id_token: str | None, platform: LtiPlatform) -> dict[str, Any]:
    if not id_token:
        raise LaunchRefused("id_token", "the launch carries no id_token")
    try:
        header = jws.extract_compact(id_token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError) as error:
        raise LaunchRefused("id_token", "not a signed JWT (JWS compact serialisation)") from error
    if header.get("alg") not in ALGORITHMS:
        raise LaunchRefused("signature", f"algorithm {header.get('alg')!r} is not accepted; RS256 only")
    kid = header.get("kid")
    try:
        keys = platform_keys.keys(platform.key_set_url, kid if isinstance(kid, str) else None)
    except Exception as error:  # the platform's JWKS unreachable or malformed
        raise LaunchRefused("signature", f"the platform's keys could not be read: {error}") from error
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except JoseError as error:
        raise LaunchRefused("signature", f"not signed by a key of the platform ({error.error})") from error
    return token.claims


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LaunchRefused(name, f"`{name}` must be a number of seconds")
    return float(value)


def _check_addressing(claims: dict[str, Any], platform: LtiPlatform) -> None:
    """Who issued the token, to whom, and when (OpenID Connect Core 3.1.3.7)."""
    if claims.get("iss") != platform.issuer:
        raise LaunchRefused(
            "iss", f"issued by {claims.get('iss')!r}, not by the platform {platform.issuer!r}"
        )
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or platform.client_id not in audiences:
        raise LaunchRefused("aud", f"not addressed to this tool's client id {platform.client_id!r}")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != platform.client_id:
        raise LaunchRefused(
            "azp", f"the authorised party must be this tool's client id {platform.client_id!r}"
        )
    now = utcnow().timestamp()
    if _number(claims, "exp") <= now - LEEWAY_SECONDS:
        raise LaunchRefused("exp", "the id_token has expired")
    issued = _number(claims, "iat")
    if issued > now + LEEWAY_SECONDS:
        raise LaunchRefused("iat", "the id_token was issued in the future")
    if issued < now - MAX_AGE_SECONDS:
        raise LaunchRefused("iat", "the id_token was issued too long ago")


def _check_message(claims: dict[str, Any], platform: LtiPlatform, login: LtiLogin, session: Session) -> None:
    """The nonce, once; then what makes it an LTI 1.3 resource-link launch this tool can take."""
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise LaunchRefused("nonce", "the id_token carries no nonce")
    if nonce != login.nonce:
        used = session.scalar(
            scoped_columns(LtiLogin, login.instance_id, LtiLogin.used_at).where(LtiLogin.nonce == nonce)
        )
        why = "was used already (a replay)" if used is not None else "is not this login's"
        raise LaunchRefused("nonce", f"the id_token's nonce {why}")
    deployment = claims.get(DEPLOYMENT_ID)
    if deployment not in platform.deployment_ids:
        raise LaunchRefused("deployment_id", f"deployment {deployment!r} is not registered for the platform")
    if claims.get(MESSAGE_TYPE) != RESOURCE_LINK_REQUEST:
        raise LaunchRefused("message_type", f"{claims.get(MESSAGE_TYPE)!r} is not {RESOURCE_LINK_REQUEST}")
    if claims.get(VERSION) != LTI_VERSION:
        raise LaunchRefused("version", f"LTI version {claims.get(VERSION)!r} is not {LTI_VERSION}")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LaunchRefused("sub", "an anonymous launch: the tool needs the user (`sub`)")
    roles = claims.get(ROLES)
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise LaunchRefused("roles", "the roles claim must be a list of role URIs")
    link = claims.get(RESOURCE_LINK)
    if not isinstance(link, dict) or not isinstance(link.get("id"), str) or not link["id"]:
        raise LaunchRefused("resource_link", "the launch names no resource link id")
    context = claims.get(CONTEXT)
    if not isinstance(context, dict) or not isinstance(context.get("id"), str) or not context["id"]:
        raise LaunchRefused("context", "the launch names no context (course): the tool needs one")


def check_launch(
    session: Session, *, instance_id: int, id_token: str | None, state: str | None, cookie: str | None
) -> Launch:
    """The launch, if it passes every check (see the module's docstring); LaunchRefused naming
    the first that failed. The login is used up by a launch that passes."""
    login = _login_of_state(session, instance_id, state, cookie)
    platform = related_in_instance(session, LtiPlatform, login.platform_id, instance_id)
    assert platform is not None  # the login's foreign key, in the login's instance
    claims = _verified_claims(id_token, platform)
    _check_addressing(claims, platform)
    _check_message(claims, platform, login, session)
    login.used_at = utcnow()
    session.flush()
    return Launch(platform=platform, claims=claims)
