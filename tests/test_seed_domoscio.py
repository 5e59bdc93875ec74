"""The Domoscio v1 "Student Groups" document's examples, sent verbatim to a brand-new service."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from studentgroups.db import create_db_engine, create_session_factory, transaction
from studentgroups.instances.service import create_instance
from studentgroups.main import create_app
from studentgroups.migrations import upgrade_database
from studentgroups.settings import Settings
from tests.live_server import LiveServer

DOCUMENTED_FIELDS = {"id", "name", "student_cluster_id", "instance_id", "created_at", "updated_at"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture
def first_client(tmp_database: str) -> Iterator[httpx.Client]:
    """A client of the first instance of a brand-new service: ids start at 1, as in the document."""
    upgrade_database(tmp_database)
    settings = Settings(database_url=tmp_database)
    engine = create_db_engine(settings)
    with transaction(create_session_factory(engine)) as session:
        _, issued = create_instance(session, name="Domoscio customer")
        key = issued.secret
    engine.dispose()
    live = LiveServer(create_app(settings)).start()
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Token token={key}"}) as client:
        assert client.post("/student_clusters", json={"name": "Financial services"}).json()["id"] == 1
        yield client
    live.stop()


def test_create_answers_the_documented_object(first_client: httpx.Client) -> None:
    response = first_client.post(
        "/student_groups", json={"name": "2nd year associates financial services", "student_cluster_id": 1}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == DOCUMENTED_FIELDS
    assert body["id"] == 1
    assert body["name"] == "2nd year associates financial services"
    assert body["student_cluster_id"] == 1
    assert body["instance_id"] == 1
    assert TIMESTAMP.match(body["created_at"])
    assert body["updated_at"] == body["created_at"]


def test_fetch_with_and_without_id_as_documented(first_client: httpx.Client) -> None:
    first = first_client.post(
        "/student_groups", json={"name": "2nd year associates financial services", "student_cluster_id": 1}
    ).json()
    second = first_client.post(
        "/student_groups", json={"name": "senior associates financial services", "student_cluster_id": 1}
    ).json()

    one = first_client.get("/student_groups/1")
    assert one.status_code == 200
    assert one.json() == first

    everything = first_client.get("/student_groups")
    assert everything.status_code == 200
    assert everything.json() == [first, second]
    assert [g["id"] for g in everything.json()] == [1, 2]
    assert [g["name"] for g in everything.json()] == [
        "2nd year associates financial services",
        "senior associates financial services",
    ]


def test_edit_changes_only_the_name_sent(first_client: httpx.Client) -> None:
    created = first_client.post(
        "/student_groups", json={"name": "2nd year associates financial services", "student_cluster_id": 1}
    ).json()

    response = first_client.put(
        "/student_groups/1", json={"name": "No more 2nd year associates financial services"}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == DOCUMENTED_FIELDS
    assert body["name"] == "No more 2nd year associates financial services"
    assert body["student_cluster_id"] == 1
    assert body["instance_id"] == 1
    assert body["created_at"] == created["created_at"]
    assert TIMESTAMP.match(body["updated_at"])
    assert body["updated_at"] >= body["created_at"]
    assert first_client.get("/student_groups/1").json() == body
