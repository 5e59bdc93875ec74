"""POST /results and GET /results: results stored all or none, read back filtered and paged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique


def _post(tenant: Tenant, body: Any, **kwargs: Any) -> httpx.Response:
    return tenant.post("/results", json=body, **kwargs)


def _all(tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = tenant.get("/results", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


@pytest.fixture
def learner(tenant: Tenant) -> dict[str, Any]:
    return tenant.student(unique("learner"))


def test_one_result_is_stored_and_answered(tenant: Tenant, learner: dict[str, Any]) -> None:
    response = _post(tenant, {"uid": learner["uid"], "item": "quiz-1", "score": 0.5})
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["student_id"] == learner["id"]
    assert stored["uid"] == learner["uid"]
    assert (stored["item"], stored["score"], stored["max_score"]) == ("quiz-1", 0.5, 1.0)
    assert stored["instance_id"] == tenant.instance_id
    assert len(stored["recorded_at"]) == 19
    assert tenant.get(f"/results/{stored['id']}").json() == stored


def test_a_batch_names_students_by_id_or_uid(tenant: Tenant) -> None:
    first, second = tenant.student(unique("a")), tenant.student(unique("b"))
    batch = [
        {"student_id": first["id"], "item": "kn-1", "score": 1},
        {"uid": second["uid"], "item": "kn-1", "score": 0},
        {"uid": first["uid"], "item": "exam", "score": 17, "max_score": 20},
    ]
    response = _post(tenant, batch)
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 3}
    mine = _all(tenant, student_id=first["id"])
    assert [(r["item"], r["score"], r["max_score"]) for r in mine] == [
        ("kn-1", 1.0, 1.0),
        ("exam", 17.0, 20.0),
    ]
    assert [r["uid"] for r in _all(tenant, uid=second["uid"])] == [second["uid"]]


def test_times_are_read_in_the_domoscio_form_or_iso_and_kept_in_utc(
    tenant: Tenant, learner: dict[str, Any]
) -> None:
    uid = learner["uid"]
    _post(
        tenant,
        [
            {"uid": uid, "item": "a", "score": 1, "recorded_at": "2014-09-17 09:21:03"},
            {"uid": uid, "item": "b", "score": 1, "recorded_at": "2014-09-17T11:21:03+02:00"},
        ],
    )
    assert [r["recorded_at"] for r in _all(tenant, uid=uid)] == ["2014-09-17 09:21:03"] * 2


def test_every_bad_row_is_named_with_its_field_and_nothing_is_stored(
    tenant: Tenant, learner: dict[str, Any]
) -> None:
    uid = learner["uid"]
    batch = [
        {"uid": uid, "item": "ok", "score": 1},
        {"uid": uid, "item": "too high", "score": 3, "max_score": 2},
        {"uid": uid, "item": "no max", "score": 0, "max_score": 0},
        {"uid": uid, "item": "words", "score": "high"},
        {"uid": uid, "item": "negative", "score": -1},
        {"uid": uid, "student_id": learner["id"], "item": "two students", "score": 1},
        {"item": "nobody", "score": 1},
    ]
    response = _post(tenant, batch)
    assert response.status_code == 400
    problem = response.json()
    named = {(e["field"], e["rule"]) for e in problem["errors"]}
    assert {f for f, _ in named} == {"1.score", "2.max_score", "3.score", "4.score", "5.uid", "6.uid"}
    assert ("3.score", "float_type") in named
    assert "row(s) 1, 2, 3, 4, 5, 6" in problem["detail"]
    assert _all(tenant, uid=uid) == []


def test_an_unknown_student_is_400_naming_the_row_and_nothing_is_stored(
    tenant: Tenant, learner: dict[str, Any], make_tenant: Any
) -> None:
    stranger = make_tenant().student(unique("stranger"))
    batch = [
        {"uid": learner["uid"], "item": "x", "score": 1},
        {"uid": "nobody-at-all", "item": "x", "score": 1},
        {"student_id": stranger["id"], "item": "x", "score": 1},
    ]
    response = _post(tenant, batch)
    assert response.status_code == 400
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
        ("1.uid", "not_found"),
        ("2.student_id", "not_found"),
    ]
    assert _all(tenant) == []


def test_a_batch_holds_at_most_10000_results(tenant: Tenant, learner: dict[str, Any]) -> None:
    row = {"student_id": learner["id"], "item": "q", "score": 1}
    assert _post(tenant, [row] * 10_001).status_code == 400
    assert _post(tenant, []).status_code == 400
    accepted = _post(tenant, [row] * 10_000)
    assert accepted.json() == {"created": 10_000}
    assert tenant.get("/results", params={"limit": 1}).headers["X-Total-Count"] == "10000"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"", "application/json", 411),
        (b"uid=1", "application/x-www-form-urlencoded", 415),
        (b'{"uid": ', "application/json", 400),
        (b'{"uid": "x", "item": "i", "score": NaN}', "application/json", 400),
        (b"42", "application/json", 400),
    ],
)
def test_a_body_that_is_not_results_is_refused(
    tenant: Tenant, content: bytes, content_type: str, status: int
) -> None:
    response = tenant.post("/results", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_read_only_key_reads_results_but_never_stores_them(tenant: Tenant, learner: dict[str, Any]) -> None:
    reader = tenant.new_key(Role.READ_ONLY)
    refused = _post(tenant, {"uid": learner["uid"], "item": "x", "score": 1}, key=reader)
    assert refused.status_code == 403
    assert tenant.get("/results", key=reader).json() == []


def test_results_are_filtered_by_item_and_time_and_paged(tenant: Tenant, learner: dict[str, Any]) -> None:
    uid = learner["uid"]
    _post(
        tenant,
        [
            {"uid": uid, "item": item, "score": 1, "recorded_at": f"2026-0{month}-01 00:00:00"}
            for month in (1, 2, 3)
            for item in ("a", "b", "c")
        ],
    )
    assert len(_all(tenant, item=["a", "b"])) == 6
    window = _all(tenant, **{"from": "2026-02-01 00:00:00", "to": "2026-03-01T00:00:00Z"})
    assert {r["recorded_at"] for r in window} == {"2026-02-01 00:00:00"}
    page = tenant.get("/results", params={"limit": 4, "offset": 4})
    assert page.headers["X-Total-Count"] == "9"
    assert 'rel="next"' in page.headers["Link"]
    assert len(page.json()) == 4
    refused = tenant.get("/results", params={"from": "2026-03-01 00:00:00", "to": "2026-02-01 00:00:00"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "from"


def test_another_instances_result_is_404(tenant: Tenant, learner: dict[str, Any], make_tenant: Any) -> None:
    stored = _post(tenant, {"uid": learner["uid"], "item": "x", "score": 1}).json()
    intruder = make_tenant()
    assert intruder.get(f"/results/{stored['id']}").status_code == 404
    assert intruder.get("/results").json() == []


def test_deleting_a_student_deletes_their_results(tenant: Tenant, learner: dict[str, Any]) -> None:
    _post(tenant, {"uid": learner["uid"], "item": "x", "score": 1})
    assert tenant.delete(f"/students/{learner['id']}").status_code == 200
    assert _all(tenant) == []
