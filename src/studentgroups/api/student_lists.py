"""The long lists of students (all of an instance, a group's members, a module's roster): streamed."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from sqlalchemy import Select

from studentgroups.auth import Principal
from studentgroups.listing import Page
from studentgroups.pagination import set_page_headers
from studentgroups.permissions import student_fields
from studentgroups.streaming import stream_json_array
from studentgroups.students.schemas import wire_row


def streamed_students(
    request: Request, page: Page, stmt: Select[Any], total: int, principal: Principal
) -> Response:
    """Students (`service.wire_rows`) as a streamed JSON array, each as far as the caller may read
    it, with the page's headers."""
    answer = stream_json_array(request, stmt, lambda row: wire_row(row, student_fields(principal, row["id"])))
    set_page_headers(request, answer, page, total)
    return answer
