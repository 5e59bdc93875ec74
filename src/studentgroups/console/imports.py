"""Importing a roster CSV in the console, with its progress shown as it goes.

The upload answers with a page sent in pieces: its head at once, then a progress bar for each
stage the import reports (`roster_import`'s `on_progress`: checking lines, looking up and
creating students, adding to the roster), and at the end the import's summary, or every bad line
with its column and rule (nothing written). The browser draws each piece as it arrives, so the
bar moves with no script. The import is the CLI's (`roster_import.parse_roster_csv` and
`import_roster`), in a write session of its own that takes the database's writer slot, committed
with its audit event under the signed-in user.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from studentgroups import permissions
from studentgroups.audit import service as audit
from studentgroups.console import service
from studentgroups.console.router import (
    CONTENT_SECURITY_POLICY,
    Signed,
    SignedDep,
    needs_sign_in,
    render,
    templates,
)
from studentgroups.csv_import import InvalidCsvFile, RowProblem, decode_csv
from studentgroups.dependencies import SessionDep, database_slot
from studentgroups.errors import AppError
from studentgroups.lookup import student_ids_by_uid
from studentgroups.modules import roster_import
from studentgroups.modules import service as modules

importing = APIRouter(prefix="/console", include_in_schema=False)

MARK = "<!--progress-->"
"""Where the import page's pieces go, between its head and its foot."""


@importing.get("/modules/{module_id}/import")
def import_page(module_id: int, request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """Upload a roster CSV (uid, the profile's columns, any attributes) for the module."""
    if signed is None:
        return needs_sign_in(request)
    try:
        view = modules.get_managed_module(session, signed.principal, module_id)
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    return render(request, "import.html", signed=signed, view=view)


@importing.post("/modules/{module_id}/import")
async def run_import(module_id: int, request: Request, session: SessionDep, signed: SignedDep) -> Response:
    """Import the uploaded file (its form's token required), its progress sent as it goes."""
    form = await request.form(max_files=1, max_fields=5)
    if signed is None:
        return needs_sign_in(request)
    token = form.get("csrf")
    if not service.csrf_matches(signed.secret, token if isinstance(token, str) else None):
        return render(
            request, "error.html", 403, signed=signed, message="The form's token is missing or wrong."
        )
    upload = form.get("file")
    try:
        view = modules.get_managed_module(session, signed.principal, module_id)
    except AppError as error:
        return render(request, "error.html", error.status, signed=signed, message=error.detail)
    if not isinstance(upload, UploadFile):
        return render(request, "error.html", 400, signed=signed, message="Choose a CSV file to import.")
    data = await upload.read()
    guests = form.get("guests") == "1"
    page = templates.get_template("import_run.html").render(
        request=request, signed=signed, view=view, name=upload.filename or "the file", guests=guests
    )
    head, foot = page.split(MARK, 1)
    write = audit.Write(
        instance_id=signed.principal.instance_id,
        actor=signed.principal.user_name,
        method="POST",
        path=request.url.path,
        operation="import_roster",
        user_id=signed.principal.user_id,
        key_id=signed.principal.key_id,
        request_id=getattr(request.state, "request_id", None),
    )
    pieces = _pieces(request, signed, str(view.module.id), data, guests, write)
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"}
    return StreamingResponse(
        _page(head, pieces, foot), media_type="text/html; charset=utf-8", headers=headers
    )


async def _page(head: str, pieces: AsyncIterator[str], foot: str) -> AsyncIterator[bytes]:
    yield head.encode()
    async for piece in pieces:
        yield piece.encode()
    yield foot.encode()


async def _pieces(
    request: Request, signed: Signed, module_ref: str, data: bytes, guests: bool, write: audit.Write
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, int, int]] = asyncio.Queue()

    def report(stage: str, done: int, total: int) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (stage, done, total))

    state = request.app.state

    async def work() -> tuple[str, Any]:
        async with database_slot(state, writes=True):
            return await run_in_threadpool(_import, state, signed, module_ref, data, guests, write, report)

    task = asyncio.ensure_future(work())
    shown: dict[str, int] = {}
    while not (task.done() and events.empty()):
        try:
            stage, done, total = await asyncio.wait_for(events.get(), timeout=0.25)
        except TimeoutError:
            continue
        percent = 100 * done // total if total else 100
        if shown.get(stage, -10) + 5 <= percent or (percent == 100 and shown.get(stage) != 100):
            shown[stage] = percent
            yield templates.get_template("import_step.html").render(stage=stage, done=done, total=total)
    outcome, detail = await task
    yield templates.get_template("import_done.html").render(outcome=outcome, detail=detail)


def _import(
    state: Any,
    signed: Signed,
    module_ref: str,
    data: bytes,
    guests: bool,
    write: audit.Write,
    report: Any,
) -> tuple[str, Any]:
    """The import, in a write session of its own: ("done", summary), ("refused", problems) or
    ("failed", why); nothing written unless done."""
    session = state.write_sessions()
    try:
        entries = roster_import.parse_roster_csv(
            decode_csv(data, roster_import.ROSTER_FILE), on_progress=report
        )
        if any(e.attributes for e in entries):
            # Attributes are set on students who exist too: the caller must be allowed to change them.
            uids = [e.student.uid for e in entries if e.attributes]
            known = student_ids_by_uid(session, instance_id=signed.principal.instance_id, uids=uids)
            permissions.require_change_students(session, signed.principal, list(known.values()))
        result = roster_import.import_roster(
            session,
            instance_id=signed.principal.instance_id,
            module=module_ref,
            entries=entries,
            guests=guests,
            on_progress=report,
        )
        audit.record(session, write)
        session.commit()
        return "done", result.summary()
    except InvalidCsvFile as refusal:
        session.rollback()
        problems: list[RowProblem] = refusal.problems
        return "refused", (refusal.detail, problems)
    except AppError as error:
        session.rollback()
        return "failed", error.detail
    finally:
        session.close()
