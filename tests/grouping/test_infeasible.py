"""Requests no grouping can honour are refused with every problem, each naming its rule and why."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest

from studentgroups.grouping import Constraints, FormationRequest, Infeasible, Member, Target, form_groups

TWO_GROUPS = [Target("T1"), Target("T2")]


def members(*keys: str) -> list[Member]:
    return [Member(k) for k in keys]


def refusal(
    *,
    roster: Sequence[Member] = members("a", "b", "c", "d"),
    targets: Sequence[Target] = TWO_GROUPS,
    existing: Mapping[str, Sequence[Member]] | None = None,
    **rules: object,
) -> list[str]:
    request = FormationRequest(
        members=roster,
        targets=targets,
        strategy="balanced",
        constraints=Constraints(**rules),  # type: ignore[arg-type]
        existing=existing or {},
    )
    with pytest.raises(Infeasible) as raised:
        form_groups(request)
    assert str(raised.value) == "; ".join(raised.value.problems)
    return raised.value.problems


def test_a_keep_together_set_larger_than_any_room_is_refused() -> None:
    assert refusal(keep_together=[["c", "a", "b"]]) == [
        "keep_together {a, b, c}: 3 members, but no group has room for more than 2 "
        "(sizes within one: 4 members to place in 2 groups)"
    ]


def test_a_keep_together_set_larger_than_the_only_groups_capacity_is_refused() -> None:
    assert refusal(targets=[Target("T1", 2)], keep_together=[["a", "b", "c"]]) == [
        "keep_together {a, b, c}: 3 members, but group T1 has room for 2"
    ]


def test_a_pin_to_an_unknown_target_and_unknown_members_are_all_named() -> None:
    assert refusal(pinned={"a": "T9", "x": "T1"}, keep_apart=[["a", "zz"]], keep_together=[["q", "b"]]) == [
        "keep_together {b, q}: q not a member of this request",
        "keep_apart {a, zz}: zz not a member of this request",
        "pinned a -> T9: there is no target T9",
        "pinned x -> T1: x is not a member of this request",
    ]


def test_two_pins_to_different_targets_in_one_keep_together_set_are_refused() -> None:
    assert refusal(keep_together=[["a", "b"]], pinned={"a": "T1", "b": "T2"}) == [
        "keep_together {a, b}: a is pinned to T1 but b is pinned to T2"
    ]


def test_overlapping_keep_together_sets_merge_before_they_are_judged() -> None:
    assert refusal(keep_together=[["a", "b"], ["b", "c"]], pinned={"a": "T1", "c": "T2"}) == [
        "keep_together {a, b, c}: a is pinned to T1 but c is pinned to T2"
    ]


def test_members_both_kept_apart_and_together_are_refused() -> None:
    assert refusal(keep_together=[["a", "b"]], keep_apart=[["b", "a", "c"]]) == [
        "keep_apart {a, b, c}: {a, b} must also be kept together",
        "keep_apart {a, b, c}: 3 members must be in different groups, but there are 2 groups",
    ]


def test_a_keep_apart_set_larger_than_the_number_of_groups_is_refused() -> None:
    assert refusal(keep_apart=[["a", "b", "c"]]) == [
        "keep_apart {a, b, c}: 3 members must be in different groups, but there are 2 groups"
    ]


def test_members_kept_apart_but_pinned_to_one_target_are_refused() -> None:
    assert refusal(keep_apart=[["a", "b"]], pinned={"a": "T1", "b": "T1"}) == [
        "keep_apart {a, b}: a and b are both tied to T1"
    ]


def test_more_pins_than_an_even_share_are_refused() -> None:
    assert refusal(pinned={"a": "T1", "b": "T1", "c": "T1"}) == [
        "pinned: 3 new members must join T1 (a, b and c), but it has room for 2 "
        "(sizes within one: 4 members to place in 2 groups)"
    ]


def test_more_pins_than_a_capacity_allows_are_refused() -> None:
    problems = refusal(
        targets=[Target("T1", 2), Target("T2")],
        existing={"T1": members("x")},
        pinned={"a": "T1", "b": "T1"},
    )
    assert problems == [
        "pinned: 2 new members must join T1 (a and b), but it has room for 1 (capacity 2, 1 already in it)"
    ]


def test_pins_that_need_more_extra_places_than_the_sizes_leave_are_refused() -> None:
    assert refusal(
        targets=[Target("T1"), Target("T2"), Target("T3")],
        pinned={"a": "T1", "b": "T1", "c": "T2", "d": "T2"},
    ) == [
        "pinned: T1 and T2 would each hold one member more than the other groups, "
        "but with 4 members to place only 1 can"
    ]


def test_an_existing_member_pinned_elsewhere_is_refused() -> None:
    assert refusal(existing={"T1": members("x")}, pinned={"x": "T2"}) == [
        "pinned x -> T2: x is already in T1"
    ]


def test_members_kept_with_two_existing_members_of_different_groups_are_refused() -> None:
    assert refusal(existing={"T1": members("x"), "T2": members("y")}, keep_together=[["x", "a", "y"]]) == [
        "keep_together {a, x, y}: x is already in T1 but y is already in T2"
    ]


def test_a_search_that_finds_no_place_names_the_set_it_could_not_place() -> None:
    problems = refusal(
        roster=members("a", "b", "c", "d", "e", "f"),
        targets=[Target("T1"), Target("T2")],
        keep_together=[["a", "b", "c"]],
        keep_apart=[["a", "d"], ["d", "e"], ["e", "a"]],
    )
    assert problems == [
        "keep_apart {a, d} and keep_apart {d, e}: no group can take d without breaking sizes within one, "
        "a capacity or a keep_apart rule"
    ]


def test_bad_requests_are_refused_with_every_problem() -> None:
    request = FormationRequest(
        members=[Member("a"), Member("a"), Member("b", numeric={"score": math.inf})],
        targets=[Target("T1"), Target("T1"), Target("T2", -1)],
        strategy="clever",  # type: ignore[arg-type]
        seed=-1,
        existing={"T9": members("z")},
    )
    with pytest.raises(Infeasible) as raised:
        form_groups(request)
    assert raised.value.problems == [
        "strategy: 'clever' is not one of random, balanced",
        "seed: must be between 0 and 9223372036854775807",
        "target T1 appears more than once",
        "target T2: capacity must not be negative",
        "existing: there is no target T9",
        "member a appears more than once",
    ]


def test_a_numeric_value_that_is_not_a_finite_number_is_refused() -> None:
    request = FormationRequest(
        members=[Member("a", numeric={"score": math.nan}), Member("b")], targets=TWO_GROUPS, numeric=["score"]
    )
    with pytest.raises(Infeasible, match="member a: numeric score must be a finite number, not nan"):
        form_groups(request)


def test_infeasible_is_a_value_error_for_callers_that_map_those_to_400() -> None:
    assert issubclass(Infeasible, ValueError)
