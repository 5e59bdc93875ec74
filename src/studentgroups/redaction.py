"""What never goes into a record: keys and other secrets, in query strings and in log lines.

Keys travel in headers, which nothing records. A caller may still put one in a URL
(`?api_key=sg_…`, refused as a credential): every path the service records (the audit log, the
access log) goes through `redact_query` first, and every log line through `redact_line`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

KEY_LIKE = re.compile(r"(sg[ls]?_)[A-Za-z0-9_-]{16,}")
"""One of our secrets, wherever it appears: a key (`sg_`), a console sign-in link (`sgl_`) or
session (`sgs_`)."""
SECRET_PARAMETER = re.compile(
    r"key|token|secret|passw|auth|credential|signature|session|subscription", re.IGNORECASE
)
"""A query parameter whose name says it carries a secret (`api_key`, `access_token`, …)."""
REDACTED = "[redacted]"


def redact_line(line: str) -> str:
    """The line with every key of ours cut out."""
    return KEY_LIKE.sub(r"\g<1>" + REDACTED, line) if "sg" in line else line


def redact_query(query: str) -> str:
    """A raw query string with the value of every key-like parameter cut out, and every key of
    ours wherever it is; the other parameters are left exactly as they were sent."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        raw_name, equals, raw_value = part.partition("=")
        name, value = unquote_plus(raw_name), unquote_plus(raw_value)
        if SECRET_PARAMETER.search(name) or KEY_LIKE.search(value) or KEY_LIKE.search(name):
            shown = REDACTED if KEY_LIKE.search(name) else raw_name
            parts.append(f"{shown}{equals}{REDACTED if equals else ''}")
        else:
            parts.append(part)
    return "&".join(parts)


def recorded_path(path: str, query: str) -> str:
    """A request's path and query as a record may keep them (a sign-in link's secret, in its
    path, cut out too)."""
    query = redact_query(query)
    path = KEY_LIKE.sub(r"\g<1>" + REDACTED, path) if "sg" in path else path
    return f"{path}?{query}" if query else path
