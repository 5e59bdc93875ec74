"""LumiNUS's errors: a JSON string that says what is wrong, in LumiNUS's names.

The services name fields in snake_case (`self_enrol_close_date`, `ids_user_guids.key`); on
`/user/...` every such name, in a field's path and in the words, is written as LumiNUS's wire
has it (`selfEnrolCloseDate`, `iDs_UserGuids.key`), from the aliases of the LumiNUS schemas.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping, Sequence

from fastapi.responses import Response
from pydantic import BaseModel

from studentgroups.errors import FieldError
from studentgroups.luminus import schemas

PREFIX = "/user/"
"""The paths of the LumiNUS surface."""


def _aliases() -> dict[str, str]:
    names: dict[str, str] = {}
    for model in vars(schemas).values():
        if inspect.isclass(model) and issubclass(model, BaseModel) and model.__module__ == schemas.__name__:
            for name, field in model.model_fields.items():
                if field.alias and field.alias != name and "_" in name:
                    names[name] = field.alias
    return names


NAMES = _aliases()
"""Each snake_case field name of the services to its LumiNUS name."""
_WORDS = re.compile(
    r"""(?P<quoted>(?<!\w)'[^']*'(?!\w)|"[^"]*")"""
    + r"|\b(?P<name>"
    + "|".join(sorted(map(re.escape, NAMES), key=len, reverse=True))
    + r")\b"
)
"""A quoted value (a client's text: a group's name, a `sortby`, a `where`) or a field name."""


def luminus_names(text: str) -> str:
    """`text` with every service field name written as LumiNUS names it; what a message quotes
    (the client's own values, `'…'` or `"…"`) is left exactly as it is."""
    return _WORDS.sub(lambda m: m.group("quoted") or NAMES[m.group("name")], text)


def message(detail: str, errors: Sequence[FieldError], *, raised_by_service: bool) -> str:
    """One sentence: what is wrong, then each bad field with its reason; a service's names in
    LumiNUS's (a client's own names, in a refused request, stay as it sent them)."""
    reasons = "; ".join(f"{e.field}: {e.message}" for e in errors)
    text = f"{detail} {reasons}" if reasons else detail
    return luminus_names(text) if raised_by_service else text


def render(
    status: int,
    detail: str,
    errors: Sequence[FieldError],
    headers: Mapping[str, str] | None,
    raised_by_service: bool,
) -> Response:
    """An error as LumiNUS answers it: a JSON string, with the status."""
    body = json.dumps(
        message(detail, errors, raised_by_service=raised_by_service), ensure_ascii=False
    ).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)
