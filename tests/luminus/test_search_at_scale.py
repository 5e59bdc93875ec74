"""Search over a whole module of 100,000 students, without paging. It once sent one bind parameter
per student, which PostgreSQL refuses past 65,535 (and SQLite past 32,766)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import create_engine

from tests.faults.big_course import grouping_of, seed_big_course, stored_grouping

pytestmark = pytest.mark.postgres_only  # seeded in bulk with PostgreSQL's generate_series

STUDENTS = 100_000


def test_search_without_a_limit_answers_every_student_of_a_100000_student_module(
    database_url: str, http: httpx.Client
) -> None:
    course = seed_big_course(database_url, students=STUDENTS, groups=200)
    saved = http.post("/user/Groups/Randomise", headers=course.headers(), json=course.randomise(7, save=True))
    assert saved.status_code == 200, saved.text[:300]

    search = http.get(
        f"/user/Resource/{course.resource}/Group/Search",
        headers=course.headers(),
        params={"parentGroupID": course.parent},
    )
    assert search.status_code == 200, search.text[:300]
    found = {row["userID"]: {g["id"] for g in row["groups"]} for row in search.json()["data"]}
    assert len(found) == STUDENTS

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = stored_grouping(conn, course)
    finally:
        engine.dispose()
    assert stored == grouping_of(saved.json())
    assert found == {student: {group} for group, members in stored.items() for student in members}
