"""The console for course staff: pages rendered on the server over the services the API uses.

A third edge beside the Domoscio and LumiNUS surfaces: each page reads and writes through the
same services, as the same `Principal` a key gives the API (`console.service`), so a rule has
one home. The pages need no script; forms post `application/x-www-form-urlencoded`, each with
its session's CSRF token, and answer by redirect (post, redirect, get). Every page sends a
strict Content-Security-Policy (its own stylesheet, nothing inline, no framing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from studentgroups import permissions
from studentgroups.auth import Principal
from studentgroups.class_groups.service import list_module_groups
from studentgroups.console import service
from studentgroups.db import roll_back, utcnow
from studentgroups.dependencies import SessionDep, audited_read
from studentgroups.enrolment import allocation
from studentgroups.enrolment import service as enrolment
from studentgroups.errors import AppError, BadRequest, FieldError, Unauthorized
from studentgroups.exports.service import GROUPING_LAYOUTS, grouping_statement
from studentgroups.formations import service as formations
from studentgroups.groups import access
from studentgroups.listing import Page
from studentgroups.modules import service as modules
from studentgroups.permissions import modules_readable
from studentgroups.results import service as results
from studentgroups.results.aggregates import ResultFilters
from studentgroups.siblings import Siblings
from studentgroups.streaming import stream_csv
from studentgroups.students import service as students
from studentgroups.tables.group_types import GroupAccess, GroupType
from studentgroups.tables.modules import Module

COOKIE = "sg_console"
"""The session cookie: HttpOnly, SameSite=Lax, scoped to /console."""
PRE_SIGN_IN_COOKIE = "sg_console_form"
"""The sign-in form's own CSRF token, before there is a session (double submit)."""
PAGE_SIZE = 50
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
STYLESHEET = (files("studentgroups") / "static" / "console.css").read_bytes()
ICON = (files("studentgroups") / "static" / "console-icon.svg").read_bytes()
SCRIPT = (files("studentgroups") / "static" / "console.js").read_bytes()

templates = Environment(
    loader=PackageLoader("studentgroups", "console/templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

pages = APIRouter(prefix="/console", include_in_schema=False)


# Rendering ---------------------------------------------------------------------------------------


def _secure(response: Response, request: Request) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(template).render(request=request, **context)
    return _secure(HTMLResponse(html, status_code=status_code), request)  # type: ignore[return-value]


def redirect(request: Request, path: str) -> RedirectResponse:
    return _secure(RedirectResponse(path, status_code=303), request)  # type: ignore[return-value]


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, opened: service.OpenedSession) -> None:
    response.set_cookie(
        COOKIE,
        opened.secret,
        max_age=int(service.SESSION_LIFETIME.total_seconds()),
        path="/console",
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )


async def read_form(request: Request, fields: tuple[str, ...]) -> dict[str, str]:
    """A posted form's fields (one value each), refused when it names any other."""
    body = (await request.body()).decode("utf-8", "replace")
    parsed = parse_qs(body, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(parsed) - set(fields))
    if unknown:
        raise BadRequest(
            "The form has fields it should not.",
            errors=[
                FieldError(field=f, rule="unknown_field", message="not a field of this form") for f in unknown
            ],
        )
    form = {name: values[-1] for name, values in parsed.items()}
    bad = sorted(n for n, v in form.items() if "\x00" in v)
    if bad:
        raise BadRequest(
            "The form holds a NUL character.",
            errors=[FieldError(field=f, rule="nul", message="no NUL character") for f in bad],
        )
    return form


# Signing in --------------------------------------------------------------------------------------


class Signed:
    """The signed-in principal of a page and its session's secret (for the forms' token)."""

    def __init__(self, principal: Principal, secret: str) -> None:
        self.principal = principal
        self.secret = secret

    @property
    def csrf(self) -> str:
        return service.csrf_token(self.secret)


def _signed(request: Request, session: SessionDep) -> Signed | None:
    secret = request.cookies.get(COOKIE)
    try:
        principal = service.principal_of_session(session, secret)
    except Unauthorized:
        return None
    assert secret is not None
    request.state.principal = principal  # who the audit log names, should the page write
    return Signed(principal, secret)


SignedDep = Annotated[Signed | None, Depends(_signed)]


async def posted(
    request: Request, signed: Signed | None, fields: tuple[str, ...]
) -> tuple[Signed, dict[str, str]] | Response:
    """A signed-in page's posted form and its session, when the form carries the session's token;
    else the answer to send instead (the sign-in page, or a 403 saying why)."""
    form = await read_form(request, (*fields, "csrf"))
    if signed is None:
        return needs_sign_in(request)
    if not service.csrf_matches(signed.secret, form.get("csrf")):
        return render(
            request, "error.html", 403, signed=signed, message="The form's token is missing or wrong."
        )
    return signed, form


def _sign_in_page(request: Request, message: str | None = None, status_code: int = 200) -> HTMLResponse:
    token = request.cookies.get(PRE_SIGN_IN_COOKIE) or service.new_form_token()
    response = render(request, "sign_in.html", status_code, csrf=token, message=message, signed=None)
    response.set_cookie(
        PRE_SIGN_IN_COOKIE,
        token,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
    )
    return response


@pages.get("")
def console_home(request: Request, signed: SignedDep) -> Response:
    """The console's front door: the modules for staff, a learner's own page, else signing in."""
    if signed is None:
        return redirect(request, "/console/sign-in")
    return redirect(
        request, "/console/learn" if signed.principal.student_id is not None else "/console/modules"
    )


@pages.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    """Paste a key, or follow the link your platform gives you."""
    return _sign_in_page(request)


@pages.post("/sign-in")
async def sign_in_with_key(request: Request, session: SessionDep) -> Response:
    """Open a session with a pasted key (the form's token must be the one its page set)."""
    form = await read_form(request, ("key", "csrf"))
    expected = request.cookies.get(PRE_SIGN_IN_COOKIE)
    if not expected or not service.form_token_matches(expected, form.get("csrf")):
        return _sign_in_page(request, "The form had expired: sign in again.", 403)
    try:
        opened = service.sign_in_with_key(session, form.get("key", ""))
    except AppError as error:
        return _sign_in_page(request, error.detail, error.status)
    # The session opened is a write: the audit log names the user it signs in.
    request.state.principal = service.principal_of_session(session, opened.secret)
    response = redirect(request, "/console/modules")
    set_session_cookie(request, response, opened)
    response.delete_cookie(PRE_SIGN_IN_COOKIE, path="/console")
    return response


@pages.get("/sign-in/{token}")
@audited_read
def sign_in_with_link(token: str, request: Request, session: SessionDep) -> Response:
    """Open a session with a one-time link: it works once, for five minutes."""
    try:
        opened = service.redeem_link(session, token)
    except Unauthorized as error:
        return _sign_in_page(request, error.detail, 401)
    principal = service.principal_of_session(session, opened.secret)
    request.state.principal = principal
    response = redirect(request, "/console/learn" if principal.student_id is not None else "/console/modules")
    set_session_cookie(request, response, opened)
    return response


@pages.post("/sign-out")
async def sign_out(request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """End the session (its form's token required), and forget the cookie."""
    checked = await posted(request, signed, ())
    if isinstance(checked, Response):
        return checked
    signed, _ = checked
    service.sign_out(session, signed.secret)
    response = redirect(request, "/console/sign-in")
    response.delete_cookie(COOKIE, path="/console")
    return response


# Pages -------------------------------------------------------------------------------------------


@pages.get("/console.css")
def stylesheet() -> Response:
    """The console's one stylesheet."""
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@pages.get("/console.js")
def script() -> Response:
    """The console's one script: moves in a preview (the pages work without it)."""
    return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})


@pages.get("/icon.svg")
def icon() -> Response:
    """The console's icon."""
    return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})


def needs_sign_in(request: Request) -> Response:
    return redirect(request, "/console/sign-in")


@pages.get("/modules")
def module_list(
    request: Request,
    session: SessionDep,
    signed: SignedDep,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The modules the user may read, searchable by code or name, a page at a time."""
    if signed is None:
        return needs_sign_in(request)
    if signed.principal.student_id is not None:
        return redirect(request, "/console/learn")
    views, total = modules.list_modules(
        session,
        instance_id=signed.principal.instance_id,
        page=Page(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        readable=modules_readable(signed.principal),
        search=q,
    )
    sizes = modules.roster_sizes(session, views)
    return render(
        request,
        "modules.html",
        signed=signed,
        views=views,
        sizes=sizes,
        q=q,
        page=page,
        total=total,
        pages=page_count(total),
        query=lambda **kw: urlencode({"q": q, **kw}),
    )


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


@pages.get("/modules/{module_id}")
def module_page(
    module_id: int,
    request: Request,
    session: SessionDep,
    signed: SignedDep,
    q: Annotated[str, Query(max_length=100)] = "",
    kind: Annotated[str, Query(pattern="^(roster|guests)$")] = "roster",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A module: its roster and guests (counts, search, paging) and its groups as a tree, with
    sizes against `maxUser`, types, access and self-enrolment windows (its managers only)."""
    if signed is None:
        return needs_sign_in(request)
    try:
        view = modules.get_managed_module(session, signed.principal, module_id)
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    return render(
        request, "module.html", signed=signed, **_module_context(session, signed, view, q, kind, page)
    )


def _module_context(
    session: Session, signed: Signed, view: modules.ModuleView, q: str, kind: str, page: int
) -> Mapping[str, Any]:
    instance_id = signed.principal.instance_id
    condition = students.uid_or_name_holds(q) if q else None
    stmt, total = students.wire_rows(
        session,
        instance_id=instance_id,
        page=Page(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        group_id=modules.roster_group_id(view, kind),
        condition=condition,
    )
    listed = [dict(row._mapping) for row in session.execute(stmt)]
    rows, _ = list_module_groups(
        session, signed.principal, module=view.module, sortby=None, offset=0, limit=None, where=None
    )
    groups = [(row[0], int(row.member_count)) for row in rows]
    roots = [(g, n) for g, n in groups if g.parent_group_id is None]
    children: dict[int, list[tuple[Any, int]]] = {}
    for g, n in groups:
        if g.parent_group_id is not None:
            children.setdefault(g.parent_group_id, []).append((g, n))
    return {
        "view": view,
        "kind": kind,
        "q": q,
        "page": page,
        "pages": page_count(total),
        "total": total,
        "students": listed,
        "roster_count": modules.roster_size(session, view, "roster"),
        "guest_count": modules.roster_size(session, view, "guests"),
        "roots": roots,
        "children": children,
        "type_name": lambda t: GroupType(t).display_name,
        "access_name": lambda a: GroupAccess(a).name.replace("_", " ").lower(),
        "query": lambda **kw: urlencode({"q": q, "kind": kind, **kw}),
    }


# History -----------------------------------------------------------------------------------------


@pages.get("/modules/{module_id}/history")
def history_page(
    module_id: int,
    request: Request,
    session: SessionDep,
    signed: SignedDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    undone: Annotated[int | None, Query(ge=1)] = None,
    saved: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The formations saved in the module, newest first: who, when, how, and undo."""
    if signed is None:
        return needs_sign_in(request)
    if saved:
        return _history(request, session, signed, module_id, page, notice=f"Formation {saved} was saved.")
    return _history(
        request,
        session,
        signed,
        module_id,
        page,
        notice=f"Formation {undone} was undone." if undone else None,
    )


def _history(
    request: Request,
    session: Session,
    signed: Signed,
    module_id: int,
    page: int,
    *,
    notice: str | None = None,
    refusal: AppError | None = None,
) -> Response:
    try:
        view = modules.get_managed_module(session, signed.principal, module_id)
        saved, total = formations.module_history(
            session,
            signed.principal,
            module_id=module_id,
            page=Page(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        )
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    return render(
        request,
        "history.html",
        refusal.status if refusal else 200,
        signed=signed,
        view=view,
        formations=saved,
        names=formations.formation_names(session, saved),
        page=page,
        pages=page_count(total),
        total=total,
        notice=notice,
        refusal=refusal,
    )


@pages.post("/modules/{module_id}/history/{formation_id}/undo")
async def undo_formation(
    module_id: int, formation_id: int, request: Request, session: SessionDep, signed: SignedDep
) -> Response:
    """Undo a formation (its form's token required); a refusal says what changed since."""
    checked = await posted(request, signed, ())
    if isinstance(checked, Response):
        return checked
    signed, _ = checked
    try:
        permissions.require_platform_writer(signed.principal)
        formations.undo(session, signed.principal, formation_id=formation_id)
    except AppError as error:
        roll_back(session)
        return _history(request, session, signed, module_id, 1, refusal=error)
    return redirect(request, f"/console/modules/{module_id}/history?undone={formation_id}")


# Downloads ---------------------------------------------------------------------------------------


@pages.get("/groups/{group_id}/grouping.csv")
def download_grouping(
    group_id: int,
    request: Request,
    session: SessionDep,
    signed: SignedDep,
    layout: Annotated[str, Query(pattern="^(own|canvas|moodle)$")] = "own",
) -> Response:
    """A parent group's grouping as CSV, as `GET /student_groups/{id}/grouping.csv` writes it."""
    if signed is None:
        return needs_sign_in(request)
    try:
        parent = access.manageable_group(session, signed.principal, group_id, membership=False)
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    chosen = GROUPING_LAYOUTS[layout]  # type: ignore[index]
    stmt = grouping_statement(session, Siblings(None, parent))
    return stream_csv(request, stmt, chosen.header, chosen.cells, f"grouping-{parent.id}-{layout}.csv")


# Results -----------------------------------------------------------------------------------------


@pages.get("/groups/{group_id}/results")
def results_page(group_id: int, request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """How a group is doing (its figures and the histogram of its members' mean scores), and its
    sub-groups side by side, as the API's results read them."""
    if signed is None:
        return needs_sign_in(request)
    try:
        group = access.viewable_group(session, signed.principal, group_id)
        whole = results.group_figures(session, group=group, filters=ResultFilters(), include_subgroups=True)
        children = access.viewable_sub_groups(session, signed.principal, group)
        compared = results.compare_groups(
            session,
            instance_id=group.instance_id,
            groups=children,
            filters=ResultFilters(),
            include_subgroups=False,
        )
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    return render(request, "results.html", signed=signed, group=group, whole=whole, compared=compared.groups)


# Self-enrolment ----------------------------------------------------------------------------------


def _siblings_under(session: Session, signed: Signed, parent_id: int) -> Siblings[Module]:
    parent = access.viewable_group(session, signed.principal, parent_id)
    module = modules.get_module(
        session, instance_id=parent.instance_id, module_id=parent.module_id or 0
    ).module
    return enrolment.siblings_named(session, module, parent.uuid)


@pages.get("/groups/{group_id}/enrolment")
def enrolment_page(
    group_id: int,
    request: Request,
    session: SessionDep,
    signed: SignedDep,
    allocated: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Self-enrolment under a parent: each group's seats taken of `maxUser`, its queue and its
    window; change a window or a limit; run the allocation now (the module's managers)."""
    if signed is None:
        return needs_sign_in(request)
    return _enrolment(request, session, signed, group_id, notice=allocated)


def _enrolment(
    request: Request,
    session: Session,
    signed: Signed,
    group_id: int,
    *,
    notice: str | None = None,
    refusal: AppError | None = None,
) -> Response:
    try:
        siblings = _siblings_under(session, signed, group_id)
        offered = enrolment.seats(session, signed.principal, siblings=siblings, now=utcnow())
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    return render(
        request,
        "enrolment.html",
        refusal.status if refusal else 200,
        signed=signed,
        parent=siblings.parent,
        module=siblings.module,
        seats=offered,
        notice=notice,
        refusal=refusal,
    )


def _when(fields: dict[str, str], name: str) -> datetime | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except ValueError:
        raise BadRequest(
            f"{name}: a date and time, YYYY-MM-DDTHH:MM (UTC).",
            errors=[FieldError(field=name, rule="datetime", message="YYYY-MM-DDTHH:MM, UTC")],
        ) from None


@pages.post("/groups/{group_id}/enrolment/{member_group_id}")
async def change_enrolment(
    group_id: int, member_group_id: int, request: Request, session: SessionDep, signed: SignedDep
) -> Response:
    """Change one group's limit and window (its form's token required)."""
    checked = await posted(request, signed, ("max_user", "opens", "closes"))
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    try:
        limit = form.get("max_user", "").strip()
        if limit and (not re.fullmatch(r"[0-9]{1,6}", limit) or int(limit) > 100_000):
            raise BadRequest(
                "max_user: a whole number up to 100,000 (empty: no limit).",
                errors=[FieldError(field="max_user", rule="range", message="0 to 100,000, or empty")],
            )
        group = access.viewable_group(session, signed.principal, member_group_id)
        if group.parent_group_id != group_id:
            raise BadRequest(f"Group {group.name!r} is not under this parent.")
        enrolment.update_group(
            session,
            signed.principal,
            group,
            changes={
                "max_user": int(limit) if limit else 0,  # 0: no limit
                "self_enrol_open_date": _when(form, "opens"),
                "self_enrol_close_date": _when(form, "closes"),
            },
        )
    except AppError as error:
        roll_back(session)
        return _enrolment(request, session, signed, group_id, refusal=error)
    return redirect(request, f"/console/groups/{group_id}/enrolment")


@pages.post("/groups/{group_id}/allocate")
async def allocate_now(group_id: int, request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """Place every student still without a group under the parent now, as a window's close does."""
    checked = await posted(request, signed, ())
    if isinstance(checked, Response):
        return checked
    signed, _ = checked
    try:
        siblings = _siblings_under(session, signed, group_id)
        modules.require_manager(session, signed.principal, siblings.module)
        done = allocation.allocate_unplaced(
            session, siblings=siblings, user_id=signed.principal.user_id, save=True
        )
    except AppError as error:
        roll_back(session)
        return _enrolment(request, session, signed, group_id, refusal=error)
    said = (
        f"{len(done.placed)} placed, {len(done.unplaced)} without room; "
        f"formation {done.formation_id}, undoable."
    )
    return redirect(request, f"/console/groups/{group_id}/enrolment?{urlencode({'allocated': said})}")


# Learners ----------------------------------------------------------------------------------------


@pages.get("/learn")
def learner_page(
    request: Request,
    session: SessionDep,
    signed: SignedDep,
    said: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """A learner's own page: the groups open to them, with seats and windows; join, queue,
    switch or leave (a phone's width is enough)."""
    if signed is None:
        return needs_sign_in(request)
    return _learner(request, session, signed, notice=said)


def _learner(
    request: Request,
    session: Session,
    signed: Signed,
    *,
    notice: str | None = None,
    refusal: AppError | None = None,
) -> Response:
    try:
        sets = enrolment.learner_offers(session, signed.principal, now=utcnow())
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    return render(
        request,
        "learn.html",
        refusal.status if refusal else 200,
        signed=signed,
        sets=sets,
        notice=notice,
        refusal=refusal,
    )


_SAID = {
    "joined": "You joined {group}.",
    "queued": "You are number {position} in the waiting list of {group}.",
    "alreadyMember": "You are already in {group}.",
    "alreadyQueued": "You are already in the waiting list of {group}.",
    "left": "You left {group}.",
    "leftQueue": "You left the waiting list of {group}.",
}


@pages.post("/learn/{group_id}/{action}")
async def learner_action(
    group_id: int, action: str, request: Request, session: SessionDep, signed: SignedDep
) -> Response:
    """Join a group (`join`; `switch`: from a sibling group; `queue`: its waiting list when full),
    or `leave` it or its waiting list: a learner's own enrolment, by the API's rules."""
    checked = await posted(request, signed, ())
    if isinstance(checked, Response):
        return checked
    signed, _ = checked
    try:
        if action not in ("join", "switch", "queue", "leave"):
            raise BadRequest(f"{action!r} is not join, switch, queue or leave.")
        permissions.require_writer(signed.principal)
        student = enrolment.acting_for(session, signed.principal)
        group = enrolment.module_group(session, instance_id=signed.principal.instance_id, group_id=group_id)
        now = utcnow()
        if action == "leave":
            done = enrolment.leave(session, group=group, student_id=student, now=now)
        else:
            # A learner in a sibling group queues for another keeping their seat until one frees.
            done = enrolment.join(
                session,
                group=group,
                student_id=student,
                now=now,
                switch=action in ("switch", "queue"),
                queue=action == "queue",
            )
    except AppError as error:
        roll_back(session)
        return _learner(request, session, signed, refusal=error)
    said = _SAID.get(done.status, "{group}: done.").format(
        group=done.group.name, position=done.queue_position
    )
    if done.left_group is not None:
        said = f"You left {done.left_group.name} for {done.group.name}."
    return redirect(request, f"/console/learn?{urlencode({'said': said})}")
