"""/student_groups/{id}/students: listing, adding and removing members."""

from __future__ import annotations

from studentgroups.db import transaction
from studentgroups.tables.students import Student
from tests.factories import Tenant


def test_add_students_then_list_them(tenant: Tenant) -> None:
    group = tenant.group()
    students = [tenant.student() for _ in range(3)]
    response = tenant.post(
        f"/student_groups/{group['id']}/students", json={"student_ids": [s["id"] for s in students]}
    )
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [s["id"] for s in students]
    assert all(s["student_group_id"] == group["id"] for s in response.json())

    listed = tenant.get(f"/student_groups/{group['id']}/students")
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [s["id"] for s in students]
    assert listed.headers["X-Total-Count"] == "3"


def test_adding_a_member_twice_changes_nothing(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student()
    for _ in range(2):
        assert tenant.put(f"/student_groups/{group['id']}/students/{student['id']}").status_code == 200
    assert len(tenant.get(f"/student_groups/{group['id']}/students").json()) == 1


def test_a_student_already_in_another_root_group_is_a_conflict_and_nothing_is_added(tenant: Tenant) -> None:
    first, second = tenant.group(), tenant.group()
    placed = tenant.student(student_group_id=first["id"])
    free = tenant.student()
    response = tenant.post(
        f"/student_groups/{second['id']}/students", json={"student_ids": [free["id"], placed["id"]]}
    )
    assert response.status_code == 409
    assert f"student {placed['id']} is in group {first['id']}" in response.json()["detail"]
    assert tenant.get(f"/student_groups/{second['id']}/students").json() == []
    assert tenant.get(f"/students/{placed['id']}").json()["student_group_id"] == first["id"]


def test_unknown_students_are_named_and_nothing_is_added(tenant: Tenant) -> None:
    group = tenant.group()
    known = tenant.student()
    response = tenant.post(
        f"/student_groups/{group['id']}/students", json={"student_ids": [known["id"], 987654321]}
    )
    assert response.status_code == 404
    assert response.json()["errors"][0] == {
        "field": "student_ids",
        "in": "body",
        "rule": "not_found",
        "message": "no student 987654321",
    }
    assert tenant.get(f"/student_groups/{group['id']}/students").json() == []


def test_remove_a_member_keeps_the_student(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student(student_group_id=group["id"])
    response = tenant.delete(f"/student_groups/{group['id']}/students/{student['id']}")
    assert response.status_code == 200
    assert response.json()["student_group_id"] is None
    assert tenant.get(f"/student_groups/{group['id']}/students").json() == []
    assert tenant.get(f"/students/{student['id']}").status_code == 200


def test_removing_a_student_who_is_not_a_member_is_404(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student()
    assert tenant.delete(f"/student_groups/{group['id']}/students/{student['id']}").status_code == 404


def test_member_list_pages(tenant: Tenant) -> None:
    group = tenant.group()
    ids = [tenant.student(student_group_id=group["id"])["id"] for _ in range(5)]
    page = tenant.get(f"/student_groups/{group['id']}/students", params={"limit": 2, "offset": 2})
    assert [s["id"] for s in page.json()] == ids[2:4]
    assert page.headers["X-Total-Count"] == "5"


def test_add_refuses_an_empty_list_and_more_than_ten_thousand(tenant: Tenant) -> None:
    group = tenant.group()
    assert tenant.post(f"/student_groups/{group['id']}/students", json={"student_ids": []}).status_code == 400
    too_many = tenant.post(
        f"/student_groups/{group['id']}/students", json={"student_ids": list(range(1, 10_002))}
    )
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["rule"] == "too_long"


def test_add_ten_thousand_students_in_one_call(tenant: Tenant) -> None:
    with transaction(tenant.sessions) as session:
        students = [Student(instance_id=tenant.instance_id, uid=f"bulk-{i}") for i in range(10_000)]
        session.add_all(students)
        session.flush()
        ids = [s.id for s in students]
    group = tenant.group()
    response = tenant.post(f"/student_groups/{group['id']}/students", json={"student_ids": ids})
    assert response.status_code == 200
    assert len(response.json()) == 10_000
    assert (
        tenant.get(f"/student_groups/{group['id']}/students", params={"limit": 1}).headers["X-Total-Count"]
        == "10000"
    )
