"""Creating groups as Moodle and Canvas do: how many, their names, and the room each new group has."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from studentgroups.grouping import group_names, groups_needed, plan_sizes
from studentgroups.grouping.sizing import Rooms, common_level


@pytest.mark.parametrize(
    ("members", "count", "size", "prevent", "expected"),
    [
        (30, 4, None, False, 4),
        (30, None, 5, False, 6),
        (31, None, 5, False, 7),
        (0, None, 5, False, 0),
        (0, None, 5, True, 0),
        # Moodle: 31 members in groups of 5 leave a last group of 1 (< 70 % of 5): 6 groups instead.
        (31, None, 5, True, 6),
        # 34 in groups of 5: the last holds 4, 80 % of 5, so it stays.
        (34, None, 5, True, 7),
        # 33 in groups of 5: the last holds 3 (60 %): spread, 6 groups of 5-6.
        (33, None, 5, True, 6),
        # Exactly 70 % is not below the ratio: 27 in groups of 10 leave 7, which stays.
        (27, None, 10, True, 3),
        (26, None, 10, True, 2),
        # Fewer members than one group: still one group.
        (2, None, 5, True, 1),
    ],
)
def test_groups_needed_counts_groups_as_moodles_autogroup_does(
    members: int, count: int | None, size: int | None, prevent: bool, expected: int
) -> None:
    assert groups_needed(members, count=count, size=size, prevent_small_last=prevent) == expected


@pytest.mark.parametrize(
    ("count", "size"),
    [(None, None), (2, 3), (0, None), (None, 0), (-1, None)],
)
def test_groups_needed_refuses_bad_input(count: int | None, size: int | None) -> None:
    with pytest.raises(ValueError, match=r"count|size"):
        groups_needed(10, count=count, size=size)


def test_groups_needed_refuses_a_negative_member_count() -> None:
    with pytest.raises(ValueError, match="member_count"):
        groups_needed(-1, size=3)


@given(st.integers(1, 2000), st.integers(1, 60))
def test_with_prevent_small_last_no_group_falls_below_70_percent_unless_there_is_only_one(
    members: int, size: int
) -> None:
    groups = groups_needed(members, size=size, prevent_small_last=True)
    plain = groups_needed(members, size=size)
    assert groups in (plain, plain - 1) or (plain == 1 and groups == 1)
    if groups == plain and members % size:
        assert (members % size) * 10 >= size * 7 or groups == 1


def test_group_names_count_with_letters_and_numbers() -> None:
    assert group_names("Group @", 3) == ["Group A", "Group B", "Group C"]
    assert group_names("Team #", 3) == ["Team 1", "Team 2", "Team 3"]
    assert group_names("Lab", 2) == ["Lab 1", "Lab 2"]
    assert group_names("@#", 2) == ["A1", "B2"]


def test_letters_go_on_past_z_like_spreadsheet_columns() -> None:
    names = group_names("@", 703)
    assert names[25:28] == ["Z", "AA", "AB"]
    assert names[701:] == ["ZZ", "AAA"]


def test_group_names_skip_names_already_taken() -> None:
    assert group_names("Group @", 2, taken={"Group A", "Group C"}) == ["Group B", "Group D"]
    assert group_names("T#", 0) == []


def test_group_names_refuse_a_blank_pattern_or_a_negative_count() -> None:
    with pytest.raises(ValueError, match="blank"):
        group_names("  ", 2)
    with pytest.raises(ValueError, match="negative"):
        group_names("G#", -1)


@given(st.integers(0, 300), st.lists(st.integers(0, 30), min_size=1, max_size=20))
def test_the_common_level_without_existing_members_gives_plan_sizes(count: int, caps: list[int]) -> None:
    capacities = np.array(caps, dtype=np.int64)
    base, flex, extras = common_level(np.zeros(len(caps), dtype=np.int64), capacities, count)
    settled = Rooms(base, flex, extras).settle()
    assert settled.tolist() == plan_sizes(count, caps)


@given(
    st.lists(st.tuples(st.integers(0, 12), st.sampled_from([0, 0, 5, 8, 15])), min_size=1, max_size=12),
    st.integers(0, 80),
)
def test_topping_up_fills_the_smallest_groups_first_and_never_overfills(
    groups: list[tuple[int, int]], count: int
) -> None:
    existing = np.array([e for e, _ in groups], dtype=np.int64)
    capacities = np.array([c for _, c in groups], dtype=np.int64)
    base, flex, extras = common_level(existing, capacities, count)
    new = Rooms(base, flex, extras).settle()
    total = existing + new
    assert (new >= 0).all()
    assert ((capacities == 0) | (new == 0) | (total <= capacities)).all()
    with_room = (capacities == 0) | (total < capacities)
    if with_room.any():
        assert (total[new > 0] <= total[with_room].min() + 1).all()
    fits = count if (capacities == 0).any() else min(count, int(np.maximum(capacities - existing, 0).sum()))
    assert int(new.sum()) == fits
