"""HTTP for /api_keys (admins only): parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from studentgroups.dependencies import Admin, SessionDep
from studentgroups.instances import service
from studentgroups.instances.schemas import KeyCreate, KeyCreated, KeyOut, key_out
from studentgroups.problems import error_responses
from studentgroups.routing import JsonBodyRoute, id_path

router = APIRouter(prefix="/api_keys", tags=["API keys"], route_class=JsonBodyRoute)
KeyId = Annotated[int, id_path("API key")]


@router.get("", response_model=list[KeyOut], responses=error_responses(401, 403))
def list_api_keys(session: SessionDep, principal: Admin) -> list[KeyOut]:
    """The instance's keys, revoked ones included; never their secrets."""
    return [key_out(*row) for row in service.list_keys(session, instance_id=principal.instance_id)]


@router.post("", response_model=KeyCreated, responses=error_responses(400, 401, 403, 404, 409, 411, 415))
def create_api_key(body: KeyCreate, session: SessionDep, principal: Admin) -> KeyCreated:
    """A new key; its secret (`api_key`) is in this answer and nowhere else, ever.

    With `student_uid`, a learner's key: it acts as that student and nothing more (`read-only`:
    the learner's reads; `staff`: also its own self-enrolment and the members of level-3 groups
    it is in; `admin` is refused), as a user of the learner's own (made when new; naming a user
    that acts for the platform or for another student is a 409)."""
    issued = service.create_key(
        session,
        instance_id=principal.instance_id,
        role=body.role,
        user_name=body.user,
        name=body.name,
        student_uid=body.student_uid,
    )
    described = key_out(issued.key, issued.user, body.student_uid)
    return KeyCreated(**described.model_dump(), api_key=issued.secret)


@router.delete("/{api_key_id}", response_model=KeyOut, responses=error_responses(400, 401, 403, 404, 409))
def revoke_api_key(api_key_id: KeyId, session: SessionDep, principal: Admin) -> KeyOut:
    """Revoke a key: it answers 401 from the next request on."""
    return key_out(
        *service.revoke_key(
            session, instance_id=principal.instance_id, key_id=api_key_id, by_key_id=principal.key_id
        )
    )
