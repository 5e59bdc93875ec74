"""Self-enrolment against a model of its rules: any sequence of joins, queues, switches and leaves
gives the answers, the members and the queues the model gives, and never a group over its limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.enrolment.test_self_enrol import Cohort, join, leave
from tests.factories import Tenant, unique
from tests.luminus.conftest import make_course

STUDENTS = 5


@dataclass
class Model:
    """The rules, in a few lines: seats, one group per parent, queues served first come first."""

    limits: list[int]
    waitlists: list[bool]
    members: list[list[int]] = field(default_factory=list)
    queues: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.members = [[] for _ in self.limits]
        self.queues = [[] for _ in self.limits]

    def group_of(self, student: int) -> int | None:
        return next((g for g, ms in enumerate(self.members) if student in ms), None)

    def seat(self, student: int, group: int) -> None:
        self.members[group].append(student)
        for queue in self.queues:
            if student in queue:
                queue.remove(student)

    def fill(self, group: int) -> None:
        pending = [group]
        while pending:
            g = pending.pop(0)
            while len(self.members[g]) < self.limits[g] and self.queues[g]:
                student = self.queues[g].pop(0)
                held = self.group_of(student)
                if held is not None:
                    self.members[held].remove(student)
                    pending.append(held)
                self.seat(student, g)

    def join(self, student: int, group: int, *, switch: bool, queue: bool) -> tuple[int, str]:
        if student in self.members[group]:
            return 200, "alreadyMember"
        held = self.group_of(student)
        if held is not None and not switch:
            return 409, "already"
        if len(self.members[group]) >= self.limits[group]:
            if not (queue and self.waitlists[group]):
                return 409, "full"
            if student in self.queues[group]:
                return 200, "alreadyQueued"
            self.queues[group].append(student)
            return 200, "queued"
        if held is not None:
            self.members[held].remove(student)
        self.seat(student, group)
        if held is not None:
            self.fill(held)
        return 200, "joined"

    def leave(self, student: int, group: int) -> tuple[int, str]:
        if student in self.members[group]:
            self.members[group].remove(student)
            self.fill(group)
            return 200, "left"
        if student in self.queues[group]:
            self.queues[group].remove(student)
            return 200, "leftQueue"
        return 404, ""


def test_self_enrolment_follows_its_model(tenant: Tenant) -> None:
    class SelfEnrolment(RuleBasedStateMachine):
        cohort: Cohort
        groups: list[dict[str, Any]]
        users: list[str]
        model: Model

        @initialize(
            limits=st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=3),
            waitlists=st.lists(st.booleans(), min_size=3, max_size=3),
        )
        def make_groups(self, limits: list[int], waitlists: list[bool]) -> None:
            course = make_course(tenant, students=STUDENTS)
            (parent,) = course.add_class_groups(unique("Tutorials"))
            self.cohort = Cohort(course, parent)
            self.groups = [
                self.cohort.groups(f"G{i}", maxUser=limit, waitlist=waitlists[i])[0]
                for i, limit in enumerate(limits)
            ]
            self.users = [s["uuid"] for s in course.roster]
            self.model = Model(limits=limits, waitlists=waitlists[: len(limits)])

        @rule(
            student=st.integers(0, STUDENTS - 1),
            group=st.integers(0, 2),
            switch=st.booleans(),
            queue=st.booleans(),
        )
        def join(self, student: int, group: int, switch: bool, queue: bool) -> None:
            group %= len(self.groups)
            expected = self.model.join(student, group, switch=switch, queue=queue)
            response = join(
                self.cohort.tenant, self.groups[group], self.users[student], switch=switch, queue=queue
            )
            assert response.status_code == expected[0], (expected, response.text)
            if response.status_code == 200:
                assert response.json()["status"] == expected[1]
            else:
                assert expected[1] in response.json()

        @rule(student=st.integers(0, STUDENTS - 1), group=st.integers(0, 2))
        def leave(self, student: int, group: int) -> None:
            group %= len(self.groups)
            expected = self.model.leave(student, group)
            response = leave(self.cohort.tenant, self.groups[group], self.users[student])
            assert response.status_code == expected[0], (expected, response.text)
            if response.status_code == 200:
                assert response.json()["status"] == expected[1]

        @invariant()
        def members_and_queues_are_the_models(self) -> None:
            if not hasattr(self, "model"):
                return
            for student, user in enumerate(self.users):
                seen = self.cohort.offers(user).json()["data"]
                for g, group in enumerate(self.groups):
                    offer = next(o for o in seen if o["id"] == group["id"])
                    queue = self.model.queues[g]
                    assert offer["memberCount"] == len(self.model.members[g]) <= self.model.limits[g]
                    assert offer["isMember"] == (student in self.model.members[g])
                    assert offer["queuePosition"] == (queue.index(student) + 1 if student in queue else None)
                    assert offer["waitingCount"] == len(queue)

    run_state_machine_as_test(
        SelfEnrolment, settings=settings(max_examples=15, stateful_step_count=20, deadline=None)
    )
