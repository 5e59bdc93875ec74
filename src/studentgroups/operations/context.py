"""The request being served: its id, readable from anywhere below the middleware (logs, errors)."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID_LENGTH = 128

# Letters, digits and the punctuation of UUIDs, W3C trace ids and AWS trace headers: safe in a log
# line and in a response header, never a quote, a space or a control character.
_SANE_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:=+/@-]{{1,{MAX_REQUEST_ID_LENGTH}}}")

request_id_var: ContextVar[str | None] = ContextVar("studentgroups_request_id", default=None)
"""The id of the request this code serves; None outside a request."""


def new_request_id() -> str:
    """A fresh request id: 128 random bits, as 32 hex digits."""
    return os.urandom(16).hex()


def sanitise_request_id(value: bytes | str | None) -> str | None:
    """The caller's request id when it is sane (bounded, of a safe charset), else None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if _SANE_REQUEST_ID.fullmatch(value) else None


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request_id_var.get()
