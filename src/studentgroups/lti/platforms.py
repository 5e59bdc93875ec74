"""The platforms (LMSs) an instance trusts: registered by hand by an admin, and their keys.

A platform is its issuer and the client id it gave the tool (one pair per instance), the three
endpoints the tool calls (OIDC authorisation, OAuth 2 token, JWKS) and the deployment ids of
the tool it may launch. Its public keys are fetched from its JWKS URL and kept for a while, and
fetched again when a token names a key not among them (a platform rotated its key). Every URL
is https, but for a loopback host (a platform on this machine, as the test platform is).
Flushes, never commits.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from studentgroups.auth import Principal
from studentgroups.errors import BadRequest, Conflict, FieldError, NotFound
from studentgroups.roles import Role
from studentgroups.tables.lti import LtiPlatform
from studentgroups.tenancy import get_in_instance, scoped

MAX_DEPLOYMENTS = 100
KEYS_FRESH_FOR = 300.0
"""Seconds a platform's JWKS is kept before it is fetched again."""
REFETCHES_PER_MINUTE = 6
"""Fetches of one JWKS a minute, at most, for a key id not in it (a platform that rotated its key
is read again at once; a stream of forged `kid`s cannot make the tool hammer the platform)."""
HTTP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class PlatformFields:
    """What an admin registers: a name for people, the issuer and client id, the endpoints, the
    deployment ids."""

    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_ids: Sequence[str]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(field: str, value: str) -> FieldError | None:
    """Why `value` is not an endpoint the tool may call, or None."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return FieldError(field=field, rule="url", message="an absolute https URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return FieldError(
            field=field, rule="https", message="https (http only for this machine's own address)"
        )
    if parts.fragment:
        return FieldError(field=field, rule="url", message="no #fragment")
    return None


def _checked(fields: PlatformFields) -> PlatformFields:
    problems = [
        p
        for name in ("issuer", "auth_login_url", "auth_token_url", "key_set_url")
        if (p := url_problem(name, getattr(fields, name))) is not None
    ]
    deployments = list(dict.fromkeys(fields.deployment_ids))
    if not deployments:
        problems.append(FieldError(field="deployment_ids", rule="min_items", message="at least one"))
    if len(deployments) > MAX_DEPLOYMENTS:
        problems.append(
            FieldError(field="deployment_ids", rule="max_items", message=f"at most {MAX_DEPLOYMENTS}")
        )
    if problems:
        raise BadRequest("The platform's registration has bad fields.", errors=problems)
    return PlatformFields(
        name=fields.name,
        issuer=fields.issuer,
        client_id=fields.client_id,
        auth_login_url=fields.auth_login_url,
        auth_token_url=fields.auth_token_url,
        key_set_url=fields.key_set_url,
        deployment_ids=deployments,
    )


def _refuse_taken(session: Session, instance_id: int, fields: PlatformFields, own_id: int | None) -> None:
    taken = session.scalar(
        scoped(LtiPlatform, instance_id).where(
            LtiPlatform.issuer == fields.issuer, LtiPlatform.client_id == fields.client_id
        )
    )
    if taken is not None and taken.id != own_id:
        raise Conflict(
            f"Platform {taken.id} already has issuer {fields.issuer!r} and client id {fields.client_id!r}.",
            errors=[
                FieldError(field="client_id", rule="taken", message="registered already for this issuer")
            ],
        )


def register(session: Session, principal: Principal, fields: PlatformFields) -> LtiPlatform:
    """Register a platform by hand (admin keys only); the key vouches for its launches' sessions."""
    principal.require(Role.ADMIN)
    checked = _checked(fields)
    _refuse_taken(session, principal.instance_id, checked, None)
    platform = LtiPlatform(
        instance_id=principal.instance_id,
        name=checked.name,
        issuer=checked.issuer,
        client_id=checked.client_id,
        auth_login_url=checked.auth_login_url,
        auth_token_url=checked.auth_token_url,
        key_set_url=checked.key_set_url,
        deployment_ids=list(checked.deployment_ids),
        key_id=principal.key_id,
    )
    session.add(platform)
    session.flush()
    return platform


def update(session: Session, principal: Principal, platform_id: int, fields: PlatformFields) -> LtiPlatform:
    """Replace a platform's registration (admin keys only); its links to modules and users stay."""
    principal.require(Role.ADMIN)
    platform = get(session, principal.instance_id, platform_id)
    checked = _checked(fields)
    _refuse_taken(session, principal.instance_id, checked, platform.id)
    platform.name = checked.name
    platform.issuer = checked.issuer
    platform.client_id = checked.client_id
    platform.auth_login_url = checked.auth_login_url
    platform.auth_token_url = checked.auth_token_url
    platform.key_set_url = checked.key_set_url
    platform.deployment_ids = list(checked.deployment_ids)
    session.flush()
    return platform


def get(session: Session, instance_id: int, platform_id: int) -> LtiPlatform:
    """The instance's platform with this id; NotFound otherwise."""
    return get_in_instance(session, LtiPlatform, platform_id, instance_id, what="LTI platform")


def list_platforms(session: Session, principal: Principal) -> list[LtiPlatform]:
    """The instance's platforms, oldest first (admin keys only: they name the LMS's endpoints)."""
    principal.require(Role.ADMIN)
    return list(session.scalars(scoped(LtiPlatform, principal.instance_id).order_by(LtiPlatform.id)))


def delete(session: Session, principal: Principal, platform_id: int) -> LtiPlatform:
    """Forget a platform: its launches stop; the modules and students they made stay."""
    principal.require(Role.ADMIN)
    platform = get(session, principal.instance_id, platform_id)
    session.delete(platform)
    session.flush()
    return platform


def by_issuer(session: Session, instance_id: int, issuer: str, client_id: str | None) -> LtiPlatform:
    """The platform a login names (with its client id, or the issuer's only one); NotFound."""
    query = scoped(LtiPlatform, instance_id).where(LtiPlatform.issuer == issuer)
    if client_id:
        query = query.where(LtiPlatform.client_id == client_id)
    found = list(session.scalars(query.limit(2)))
    if len(found) != 1:
        more = "" if not found else " (several: the login must name its client_id)"
        raise NotFound(f"No LTI platform with issuer {issuer!r} is registered with this instance{more}.")
    return found[0]


class _KeyCache:
    """Platforms' JWKS by URL: (fetched at, the key set), and when each was fetched again for a
    key id it lacked."""

    def __init__(self) -> None:
        self._sets: dict[str, tuple[float, KeySet]] = {}
        self._refetched: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _fetch(self, url: str) -> KeySet:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        document: Any = response.json()
        keys = KeySet.import_key_set(document)
        with self._lock:
            self._sets[url] = (time.monotonic(), keys)
        return keys

    def _may_refetch(self, url: str, now: float) -> bool:
        with self._lock:
            recent = [t for t in self._refetched.get(url, []) if now - t < 60]
            allowed = len(recent) < REFETCHES_PER_MINUTE
            self._refetched[url] = [*recent, now] if allowed else recent
        return allowed

    def keys(self, url: str, kid: str | None) -> KeySet:
        """The key set at `url`: cached while fresh and while it holds `kid`."""
        with self._lock:
            cached = self._sets.get(url)
        now = time.monotonic()
        if cached is not None:
            fetched_at, keys = cached
            fresh = now - fetched_at < KEYS_FRESH_FOR
            has_kid = kid is None or any(k.kid == kid for k in keys)
            if fresh and (has_kid or not self._may_refetch(url, now)):
                return keys
        return self._fetch(url)

    def forget(self) -> None:
        with self._lock:
            self._sets.clear()
            self._refetched.clear()


platform_keys = _KeyCache()
"""The process's cache of platforms' key sets."""
