"""Lists: the whole array by default; limit and offset page it, with Link and X-Total-Count."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from studentgroups.listing import Page
from studentgroups.pagination import set_page_headers
from tests.factories import Tenant


def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


def test_whole_list_by_default_with_total_and_no_link(tenant: Tenant) -> None:
    for i in range(7):
        tenant.group(f"g{i}")
    response = tenant.get("/student_groups")
    assert len(response.json()) == 7
    assert response.headers["X-Total-Count"] == "7"
    assert "Link" not in response.headers


def test_limit_and_offset_page_the_list_with_links(tenant: Tenant) -> None:
    ids = [tenant.group(f"g{i}")["id"] for i in range(7)]
    response = tenant.get("/student_groups", params={"limit": 3, "offset": 3})
    assert [g["id"] for g in response.json()] == ids[3:6]
    assert response.headers["X-Total-Count"] == "7"
    links = _links(response.headers["Link"])
    assert set(links) == {"first", "prev", "next", "last"}
    assert "offset=6" in links["next"]
    assert "offset=0" in links["prev"]
    assert "offset=6" in links["last"]

    following = tenant.http.get(links["next"], headers=tenant.headers())
    assert [g["id"] for g in following.json()] == ids[6:]
    assert "next" not in _links(following.headers["Link"])


def test_offset_past_the_end_is_an_empty_page(tenant: Tenant) -> None:
    tenant.group()
    response = tenant.get("/student_groups", params={"limit": 10, "offset": 50})
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "1"


def _request(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/x",
            "query_string": query.encode(),
            "headers": Headers().raw,
            "server": ("t", 80),
            "scheme": "http",
            "root_path": "",
        }
    )


@given(total=st.integers(0, 500), limit=st.integers(1, 50), offset=st.integers(0, 600))
def test_following_next_links_from_the_start_visits_every_item_once(
    total: int, limit: int, offset: int
) -> None:
    seen: list[int] = []
    current = 0
    for _ in range(total // limit + 2):
        response = Response()
        set_page_headers(_request(f"limit={limit}&offset={current}"), response, Page(limit, current), total)
        seen.extend(range(current, min(current + limit, total)))
        links = _links(response.headers["Link"])
        last = int(re.search(r"offset=(\d+)", links["last"]).group(1))  # type: ignore[union-attr]
        assert last <= max(total - 1, 0)
        if "next" not in links:
            break
        current = int(re.search(r"offset=(\d+)", links["next"]).group(1))  # type: ignore[union-attr]
    assert seen == list(range(total))
    response = Response()
    set_page_headers(_request(""), response, Page(limit, offset), total)
    assert response.headers["X-Total-Count"] == str(total)
    assert ("prev" in _links(response.headers["Link"])) == (offset > 0)
