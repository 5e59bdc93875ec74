"""Property: for any results and any sets of groups, the database's figures are the plain ones.

Each example builds an instance in a transaction, asks `figures_by_set` for every set at once
(as a cluster comparison does), compares each set with `tests/results/reference.py`, and rolls
back. Scores are whole numbers out of small maxima, so a member's mean is never a hair away from
a histogram edge without being on it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.groups.service import write_memberships
from studentgroups.results.aggregates import ResultFilters, figures_by_set
from studentgroups.tables.groups import ROOT_SCOPE, Group
from studentgroups.tables.instances import Instance
from studentgroups.tables.results import Result
from studentgroups.tables.students import Student
from tests.results.reference import Scored, assert_figures_equal, figures

START = datetime(2026, 1, 1, tzinfo=UTC)
ITEMS = ("a", "b", "c")

results_of_a_student = st.lists(
    st.tuples(
        st.sampled_from(ITEMS),
        st.integers(min_value=1, max_value=8).flatmap(
            lambda m: st.tuples(st.integers(min_value=0, max_value=m), st.just(m))
        ),
        st.integers(min_value=0, max_value=30),  # day of January
    ),
    max_size=6,
)
case = st.fixed_dictionaries(
    {
        # each student: which of 4 groups it is in (None: in none), and its results
        "students": st.lists(
            st.tuples(st.none() | st.integers(min_value=0, max_value=3), results_of_a_student),
            min_size=3,
            max_size=14,
        ),
        # sets of groups that may share groups (overlapping members), or that split the groups
        # between them (disjoint: the union's figures are then the sets' added up)
        "sets": st.one_of(
            st.lists(st.sets(st.integers(min_value=0, max_value=3), max_size=4), min_size=1, max_size=3),
            st.permutations([0, 1, 2, 3]).flatmap(
                lambda order: st.integers(min_value=1, max_value=3).map(
                    lambda parts: [set(order[i::parts]) for i in range(parts)]
                )
            ),
        ),
        "items": st.sets(st.sampled_from(ITEMS), max_size=2),
        "window": st.none() | st.tuples(st.integers(0, 15), st.integers(16, 31)),
        "threshold": st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(  # two disjoint sets whose members land in the same histogram bins
    example={
        "students": [(0, [("a", (1, 2), 3)]), (1, [("a", (1, 2), 4)]), (2, [("b", (3, 4), 5)]), (3, [])],
        "sets": [{0, 2}, {1, 3}],
        "items": set(),
        "window": None,
        "threshold": 0.5,
    }
)
@given(example=case)
def test_figures_equal_the_plain_computation(sessions: sessionmaker[Session], example: dict) -> None:  # type: ignore[type-arg]
    session = sessions()
    try:
        instance = Instance(name="property")
        session.add(instance)
        session.flush()
        groups = [Group(instance_id=instance.id, name=f"g{i}") for i in range(4)]
        session.add_all(groups)
        session.flush()
        stored: list[tuple[int | None, Scored, datetime]] = []
        for index, (group_index, results) in enumerate(example["students"]):
            student = Student(instance_id=instance.id, uid=f"s{index}", attributes={})
            session.add(student)
            session.flush()
            if group_index is not None:
                write_memberships(
                    session,
                    [(groups[group_index].id, student.id)],
                    instance_id=instance.id,
                    scope=ROOT_SCOPE,
                    exclusive=True,
                )
            for item, (score, max_score), day in results:
                when = START + timedelta(days=day)
                session.add(
                    Result(
                        instance_id=instance.id,
                        student_id=student.id,
                        item=item,
                        score=score,
                        max_score=max_score,
                        recorded_at=when,
                    )
                )
                stored.append((group_index, Scored(student.id, item, score, max_score), when))
        session.flush()

        window = example["window"]
        filters = ResultFilters(
            items=tuple(sorted(example["items"])),
            since=None if window is None else START + timedelta(days=window[0]),
            until=None if window is None else START + timedelta(days=window[1]),
            threshold=example["threshold"],
        )
        sets = {key + 1: [groups[i].id for i in chosen] for key, chosen in enumerate(example["sets"])}
        answered = figures_by_set(session, instance_id=instance.id, sets=sets, filters=filters, union_key=0)

        def expected_for(groups_chosen: set[int]) -> dict[str, object]:
            members = sum(1 for g, _ in example["students"] if g in groups_chosen)
            matching = [
                scored
                for group_index, scored, when in stored
                if group_index in groups_chosen
                and (not filters.items or scored.item in filters.items)
                and (filters.since is None or when >= filters.since)
                and (filters.until is None or when < filters.until)
            ]
            return figures(matching, member_count=members, threshold=filters.threshold)

        for key, chosen in enumerate(example["sets"]):
            assert_figures_equal(asdict(answered[key + 1]), expected_for(set(chosen)))
        # The union of the sets: each student (in one group) and result once, sets sharing groups or not.
        assert_figures_equal(asdict(answered[0]), expected_for(set().union(*example["sets"])))
    finally:
        session.rollback()
        session.close()
