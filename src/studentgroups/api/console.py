"""The console's one API call: a one-time sign-in link for a platform's user (our extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from studentgroups.console import service
from studentgroups.dependencies import Admin, SessionDep
from studentgroups.problems import error_responses
from studentgroups.routing import JsonBodyRoute
from studentgroups.tables.instances import Role
from studentgroups.wire import JsonBody

router = APIRouter(prefix="/console", tags=["Console"], route_class=JsonBodyRoute)


class SignInLinkIn(JsonBody):
    """Who the link signs in, and with which role."""

    user: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None,
        description="The platform's user (made if new): the module managers' and audit log's name.",
    )
    student_uid: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None,
        description="Or a learner, by their uid: the link opens their own page of groups to join "
        "(`/console/learn`). Exactly one of `user` and `student_uid`.",
    )
    role: Role = Field(default=Role.STAFF, description="The session's role: at most the key's own.")


class SignInLinkOut(BaseModel):
    """A one-time sign-in link: send the user's browser to `url` within five minutes."""

    url: str = Field(description="The link; it works once.")
    expires_at: str = Field(description="When it stops working (UTC, ISO 8601).")


@router.post(
    "/sign_in_links",
    response_model=SignInLinkOut,
    responses=error_responses(400, 401, 403, 404, 409, 411, 415),
)
def create_sign_in_link(
    body: SignInLinkIn, request: Request, session: SessionDep, principal: Admin
) -> SignInLinkOut:
    """A link that signs the platform's user in to the console once, within five minutes, with a
    role no higher than the key's (admin keys only): how a platform hands its signed-in teacher
    over, or its learner (`student_uid`) to the page of groups open to them. The console then
    acts as that user, by the same rules as the API."""
    issued = service.create_sign_in_link(
        session, principal, role=body.role, user_name=body.user, student_uid=body.student_uid
    )
    url = str(request.url_for("sign_in_with_link", token=issued.secret))
    return SignInLinkOut(url=url, expires_at=issued.expires_at.isoformat())
