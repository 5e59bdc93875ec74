"""`?limit=&offset=` paging of list endpoints, with `Link` and `X-Total-Count` headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from studentgroups.db import MAX_ID
from studentgroups.listing import MAX_LIMIT, Page


async def _page(
    limit: Annotated[
        int | None, Query(ge=0, le=MAX_LIMIT, description="At most this many items (default: all).")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Skip this many items first.")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(_page)]


def set_page_headers(request: Request, response: Response, page: Page, total: int) -> None:
    """`X-Total-Count` always; `Link` (first, prev, next, last) when the client pages."""
    response.headers["X-Total-Count"] = str(total)
    if page.limit is None or page.limit == 0:
        return
    limit = page.limit

    def link(offset: int, rel: str) -> str:
        url = request.url.include_query_params(limit=limit, offset=offset)
        return f'<{url}>; rel="{rel}"'

    last_offset = max(0, ((total - 1) // limit) * limit) if total else 0
    links = [link(0, "first")]
    if page.offset > 0:
        links.append(link(max(0, page.offset - limit), "prev"))
    if page.offset + limit < total:
        links.append(link(page.offset + limit, "next"))
    links.append(link(last_offset, "last"))
    response.headers["Link"] = ", ".join(links)
