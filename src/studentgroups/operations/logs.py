"""Logs: JSON lines (or text for humans), each with the id of the request it was written for."""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

import orjson

from studentgroups.operations.context import request_id_var
from studentgroups.redaction import redact_line
from studentgroups.settings import Settings

HANDLER_NAME = "studentgroups"
access_logger = logging.getLogger("studentgroups.access")

# What every LogRecord carries; anything else on a record was passed as `extra=` and is logged.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    "color_message",  # uvicorn's message again, with terminal colours
}
# A backstop, never the only guard: nothing logs headers, but a key that slipped into a message
# (our keys start with sg_) is cut out of the line.
_redact = redact_line


_second: tuple[int, str] = (-1, "")  # the last second formatted: a line per request, many a second


def _time(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC, to the millisecond: 2026-11-22T18:11:11.345Z."""
    global _second  # noqa: PLW0603 - a cache; a race between threads only formats a second twice
    second = int(record.created)
    if _second[0] != second:
        _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second[1]}.{int(record.msecs):03d}Z"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS and v is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line.update(_extras(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return _redact(orjson.dumps(line, default=str).decode())


class TextFormatter(logging.Formatter):
    """For a human at a terminal: time, level, logger, [request id], message, then key=value extras."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or "-"
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{_time(record)} {record.levelname:<7} {record.name} [{request_id}] {record.getMessage()}"
        if extras:
            line = f"{line}  {extras}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return _redact(line)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served (a context variable)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def log_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing our log lines to `stream` (standard error by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(settings: Settings) -> None:
    """Every logger of the process, uvicorn's own included, through one handler in our format.

    Called again (another app in the same process), it replaces the handler it installed before.
    uvicorn's access log stays off: the access line is ours (`studentgroups.operations.middleware`).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = log_handler(settings.log_format)
    handler.set_name(HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
