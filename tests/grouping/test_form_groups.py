"""form_groups, as properties: every rule holds, whatever the roster, the rules and the input order."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import replace
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from studentgroups.grouping import (
    Constraints,
    Formation,
    FormationRequest,
    Infeasible,
    Member,
    MemberColumns,
    Target,
    form_groups,
    random_assignment,
)
from studentgroups.grouping.model import Strategy
from studentgroups.grouping.random import MAX_SEED
from studentgroups.grouping.roster import build_roster
from studentgroups.grouping.sections import allot
from tests.grouping.checks import broken_rules, check, isolated

T = TypeVar("T")
SECTIONS = ["main"] * 8 + ["evening", "weekend"]
seeds = st.integers(0, MAX_SEED)
strategies_: st.SearchStrategy[Strategy] = st.sampled_from(["random", "balanced"])
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def members(draw: st.DrawFn, keys: list[str]) -> list[Member]:
    """Members with a score (sometimes missing), a gender and a section."""
    result = []
    for key in keys:
        score = draw(st.one_of(st.none(), st.floats(0, 1)))
        result.append(
            Member(
                key=key,
                numeric={} if score is None else {"score": score},
                categorical={
                    "gender": draw(st.sampled_from("fmx")),
                    "section": draw(st.sampled_from(SECTIONS)),
                },
            )
        )
    return result


@st.composite
def requests(draw: st.DrawFn, rules: bool = True, existing: bool = True) -> FormationRequest:
    """A request of up to 40 members in up to 8 targets, with existing members and rules."""
    keys = [f"m{i:02d}" for i in range(draw(st.integers(0, 40)))]
    targets = [
        Target(key=f"T{i}", capacity=draw(st.sampled_from([0, 0, 0, 2, 4, 7])))
        for i in range(draw(st.integers(1, 8)))
    ]
    present: dict[str, list[str]] = {}
    if existing and keys:
        taken = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys) // 3))
        for key in taken:
            present.setdefault(draw(st.sampled_from(targets)).key, []).append(key)
    old = {k for ks in present.values() for k in ks}
    everyone = draw(members(keys))
    by_key = {m.key: m for m in everyone}
    existing_members = {t: [by_key[k] for k in ks] for t, ks in present.items()}
    constraints = Constraints()
    if rules and len(keys) >= 2:
        sets = st.lists(st.sampled_from(keys), min_size=2, max_size=3, unique=True)
        constraints = Constraints(
            keep_together=draw(st.lists(sets, max_size=2)),
            keep_apart=draw(st.lists(sets, max_size=2)),
            pinned=draw(
                st.dictionaries(st.sampled_from(keys), st.sampled_from([t.key for t in targets]), max_size=2)
            ),
        )
    return FormationRequest(
        members=[m for m in everyone if m.key not in old],
        targets=targets,
        strategy=draw(strategies_),
        seed=draw(seeds),
        numeric=["score"],
        categorical=draw(st.sampled_from([[], ["gender"], ["gender", "section"]])),
        no_isolation=draw(st.sampled_from([[], ["section"]])),
        constraints=constraints,
        existing=existing_members,
        spread_weight=draw(st.sampled_from([None, 0.0, 0.5, 1.0, 4.0])),
        sections=draw(st.sampled_from([None, None, "section"])) if rules else None,  # sections are a rule
    )


def formed(request: FormationRequest) -> Formation | None:
    """The formation, or None when the request is refused (with its reasons)."""
    try:
        formation = form_groups(request)
    except Infeasible as refusal:
        problems = refusal.problems
    else:
        event("formed")
        return formation
    event("refused")
    assert problems
    assert all(isinstance(p, str) and p for p in problems)
    return None


def same(first: Formation, second: Formation) -> bool:
    """Equal groups, left-out members and report (the runtime aside)."""
    return (
        first.groups == second.groups
        and first.unplaced == second.unplaced
        and replace(first.report, runtime_ms=0) == replace(second.report, runtime_ms=0)
    )


def permuted(request: FormationRequest, rng: random.Random) -> FormationRequest:
    """The same request with every list, set and mapping in another order."""

    def shuffle(items: list[T]) -> list[T]:
        items = list(items)
        rng.shuffle(items)
        return items

    rules = request.constraints
    return replace(
        request,
        members=shuffle(list(request.members)),
        targets=shuffle(list(request.targets)),
        constraints=Constraints(
            keep_together=shuffle([shuffle(list(s)) for s in rules.keep_together]),
            keep_apart=shuffle([shuffle(list(s)) for s in rules.keep_apart]),
            pinned=dict(shuffle(list(rules.pinned.items()))),
        ),
        existing=dict(shuffle([(k, shuffle(list(v))) for k, v in request.existing.items()])),
    )


@fast
@given(requests())
def test_every_hard_rule_holds_or_the_request_is_refused(request: FormationRequest) -> None:
    formation = formed(request)
    if formation is not None:
        assert check(request, formation) == []


@fast
@given(requests(rules=False))
def test_without_rules_nothing_is_refused_and_members_are_left_out_only_when_every_group_is_full(
    request: FormationRequest,
) -> None:
    formation = form_groups(request)
    assert check(request, formation) == []
    if formation.unplaced:
        size = {
            t.key: len(request.existing.get(t.key, ())) + len(formation.groups[t.key])
            for t in request.targets
        }
        assert all(t.capacity and size[t.key] >= t.capacity for t in request.targets)


@fast
@given(requests(), st.randoms(use_true_random=False))
def test_the_same_seed_gives_the_same_formation_whatever_the_input_order(
    request: FormationRequest, rng: random.Random
) -> None:
    first = formed(request)
    again = formed(permuted(request, rng))
    if first is None:
        assert again is None
        return
    assert again is not None
    assert same(first, again)


def as_columns(members: list[Member]) -> MemberColumns:
    """The members as columns: NaN for a missing number, "" for a missing value."""
    numeric = sorted({n for m in members for n in m.numeric})
    categorical = sorted({c for m in members for c in m.categorical})
    return MemberColumns(
        keys=[m.key for m in members],
        numeric={n: np.array([m.numeric.get(n, np.nan) for m in members]) for n in numeric},
        categorical={c: [m.categorical.get(c, "") for m in members] for c in categorical},
    )


@fast
@given(requests(), st.randoms(use_true_random=False))
def test_members_as_columns_form_exactly_what_the_same_members_as_objects_form(
    request: FormationRequest, rng: random.Random
) -> None:
    # The CLI hands a million members over as columns; nothing may differ but the memory.
    members = list(request.members)
    rng.shuffle(members)
    columns = as_columns(members)
    assert list(columns) == members
    first, again = formed(request), formed(replace(request, members=columns))
    if first is None:
        assert again is None
        return
    assert again is not None
    assert same(first, again)


def test_an_infinite_number_in_a_column_is_refused_naming_the_member() -> None:
    columns = MemberColumns(keys=["a", "b", "c"], numeric={"score": np.array([1.0, np.inf, np.nan])})
    request = FormationRequest(members=columns, targets=[Target("T")], strategy="balanced", numeric=["score"])
    with pytest.raises(Infeasible) as refusal:
        form_groups(request)
    assert refusal.value.problems == ["member b: numeric score must be a finite number, not inf"]


@fast
@given(
    st.lists(st.uuids().map(str), unique=True, max_size=120),
    st.lists(st.integers(0, 12), min_size=1, max_size=10),
    seeds,
)
def test_random_with_nothing_extra_is_random_assignment(keys: list[str], caps: list[int], seed: int) -> None:
    targets = [Target(key=f"g{i:02d}", capacity=c) for i, c in enumerate(caps)]
    request = FormationRequest(
        members=[Member(k, numeric={"score": 0.5}, categorical={"gender": "f"}) for k in keys],
        targets=targets,
        seed=seed,
        numeric=["score"],
        categorical=["gender"],
    )
    formation = form_groups(request)
    expected = random_assignment(keys, targets, seed)
    assert formation.groups == expected.groups
    assert formation.unplaced == expected.unplaced


@st.composite
def minority_rosters(draw: st.DrawFn) -> FormationRequest:
    """Groups of three or more, and minority values of two members or more, few enough to pair."""
    groups = draw(st.integers(2, 10))
    count = draw(st.integers(3 * groups, 6 * groups))
    evening = draw(st.sampled_from([0, *range(2, groups + 1)]))
    weekend = draw(st.sampled_from([0, *range(2, max(groups - evening, 0) + 1)]))
    values = ["evening"] * evening + ["weekend"] * weekend
    values += ["main"] * (count - len(values))
    draw(st.randoms(use_true_random=False)).shuffle(values)
    return FormationRequest(
        members=[
            Member(f"s{i:03d}", numeric={"score": draw(st.floats(0, 1))}, categorical={"section": v})
            for i, v in enumerate(values)
        ],
        targets=[Target(f"T{i}") for i in range(groups)],
        strategy=draw(strategies_),
        seed=draw(seeds),
        numeric=["score"],
        categorical=["section"],
        no_isolation=["section"],
        protected=draw(st.sampled_from([{}, {"section": ["evening", "weekend"]}])),
    )


@fast
@given(minority_rosters())
def test_no_minority_member_is_alone_where_the_numbers_allow(request: FormationRequest) -> None:
    formation = form_groups(request)
    assert check(request, formation) == []
    assert isolated(request, formation, "section") == 0
    assert {q.attribute: q.isolated for q in formation.report.categorical}["section"] == 0


def tiny_valid_exists(request: FormationRequest) -> bool:
    """Brute force: does any grouping of a tiny request place everyone within every rule?"""
    keys = [m.key for m in request.members]
    names = [t.key for t in request.targets]
    for choice in itertools.product(names, repeat=len(keys)):
        groups = {name: [k for k, g in zip(keys, choice, strict=True) if g == name] for name in names}
        if not broken_rules(request, groups, []):
            return True
    return False


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 6),
    st.lists(st.integers(0, 2), max_size=2),
    st.lists(st.sampled_from([0, 0, 1, 2, 3]), min_size=1, max_size=3),
    st.lists(st.lists(st.integers(0, 7), min_size=2, max_size=3, unique=True), max_size=2),
    st.lists(st.lists(st.integers(0, 7), min_size=2, max_size=3, unique=True), max_size=2),
    st.dictionaries(st.integers(0, 7), st.integers(0, 2), max_size=2),
    strategies_,
)
def test_a_tiny_request_is_refused_exactly_when_no_grouping_can_hold_its_rules(
    count: int,
    homes: list[int],
    caps: list[int],
    together: list[list[int]],
    apart: list[list[int]],
    pins: dict[int, int],
    strategy: Strategy,
) -> None:
    targets = [Target(f"T{i}", c) for i, c in enumerate(caps)]
    homes = [h for h in homes if h < len(targets)]
    keys = [f"m{i}" for i in range(count)] + [f"e{i}" for i in range(len(homes))]
    existing: dict[str, list[Member]] = {}
    for i, home in enumerate(homes):
        existing.setdefault(targets[home].key, []).append(Member(f"e{i}"))
    room = sum(max(c - len(existing.get(t.key, [])), 0) for t, c in zip(targets, caps, strict=True))
    if 0 not in caps and room < count:
        return  # not everyone fits: who is left out is the seeded order's choice, not a rule
    request = FormationRequest(
        members=[Member(k) for k in keys[:count]],
        targets=targets,
        strategy=strategy,
        constraints=Constraints(
            keep_together=[[keys[i] for i in s if i < len(keys)] for s in together],
            keep_apart=[[keys[i] for i in s if i < len(keys)] for s in apart],
            pinned={keys[m]: targets[t].key for m, t in pins.items() if m < len(keys) and t < len(caps)},
        ),
        existing=existing,
    )
    formation = formed(request)
    assert (formation is not None) == tiny_valid_exists(request)
    if formation is not None:
        assert check(request, formation) == []
        assert formation.unplaced == []


@pytest.mark.parametrize("strategy", ["random", "balanced"])
def test_different_seeds_give_different_groupings(strategy: Strategy) -> None:
    rng = random.Random(7)
    roster = [Member(f"s{i:03d}", numeric={"score": rng.random()}) for i in range(60)]
    targets = [Target(f"T{i}") for i in range(6)]
    first, second = (
        form_groups(FormationRequest(roster, targets, strategy=strategy, seed=s, numeric=["score"]))
        for s in (1, 2)
    )
    assert first.groups != second.groups


def test_two_pins_to_the_same_target_in_a_keep_together_set_agree() -> None:
    request = FormationRequest(
        members=[Member(k) for k in "abcdef"],
        targets=[Target("T1"), Target("T2")],
        constraints=Constraints(keep_together=[["a", "b", "c"]], pinned={"a": "T2", "c": "T2"}),
    )
    formation = form_groups(request)
    assert sorted(formation.groups["T2"]) == ["a", "b", "c"]


def test_rules_naming_existing_members_tie_new_members_to_or_keep_them_from_their_group() -> None:
    request = FormationRequest(
        members=[Member(k) for k in "abcdef"],
        targets=[Target("T1"), Target("T2"), Target("T3")],
        strategy="balanced",
        constraints=Constraints(keep_together=[["x", "a"]], keep_apart=[["y", "b"]]),
        existing={"T1": [Member("x")], "T2": [Member("y")]},
    )
    formation = form_groups(request)
    assert check(request, formation) == []
    assert "a" in formation.groups["T1"]
    assert "b" not in formation.groups["T2"]


def test_overlapping_keep_together_sets_merge_into_one_group() -> None:
    request = FormationRequest(
        members=[Member(k) for k in "abcdefgh"],
        targets=[Target("T1"), Target("T2")],
        strategy="balanced",
        constraints=Constraints(keep_together=[["a", "b"], ["b", "c"], ["d"]]),
    )
    formation = form_groups(request)
    assert check(request, formation) == []
    assert len({g for g, keys in formation.groups.items() for k in keys if k in "abc"}) == 1


def test_when_not_everyone_fits_members_bound_by_no_rule_are_left_out_first() -> None:
    request = FormationRequest(
        members=[Member(k) for k in "abcde"],
        targets=[Target("T1", 3), Target("T2", 1)],
        constraints=Constraints(keep_together=[["a", "b", "c"]], pinned={"d": "T2"}),
    )
    formation = form_groups(request)
    assert check(request, formation) == []
    assert formation.groups == {"T1": ["a", "b", "c"], "T2": ["d"]}
    assert formation.unplaced == ["e"]


def test_a_keep_together_set_is_left_out_whole_when_only_it_can_make_room() -> None:
    request = FormationRequest(
        members=[Member(k) for k in "abcde"],
        targets=[Target("T1", 2), Target("T2", 2)],
        constraints=Constraints(keep_together=[["a", "b"]], pinned={"c": "T1", "d": "T1", "e": "T2"}),
    )
    formation = form_groups(request)
    assert check(request, formation) == []
    assert sorted(formation.unplaced) == ["a", "b"]
    assert formation.report.sizes == [2, 1]


@fast
@given(
    st.lists(st.sampled_from(["F", "M", "X", "Y"]), min_size=1, max_size=60),
    st.sampled_from([0.05, 0.2, 1 / 3, 0.5, 1.0]),
    st.sampled_from([None, ["X"], ["M", "Y"], []]),
)
def test_no_isolation_protects_the_values_named_or_those_under_the_share_never_one_at_or_above_it(
    values: list[str], share: float, named: list[str] | None
) -> None:
    request = FormationRequest(
        members=[Member(f"s{i:03d}", categorical={"gender": v}) for i, v in enumerate(values)],
        targets=[Target("T0"), Target("T1")],
        no_isolation=["gender"],
        protected={} if named is None else {"gender": named},
        minority_share=share,
    )
    roster, problems = build_roster(request)
    assert problems == []
    (attribute,) = roster.categorical_names
    protected = {v for v, p in zip(roster.values[0], roster.protected[0], strict=True) if p}
    counts = Counter(values)
    if named is None:
        assert protected == {v for v, n in counts.items() if n < share * len(values)}
        assert all(counts[v] < share * len(values) for v in protected)  # never a value at the share
    else:
        assert protected == set(named) & set(counts)
    assert attribute == "gender"


def test_with_f_and_m_tied_only_the_small_value_is_kept_company() -> None:
    # 48/48/4: M is no minority, whatever the tie-break; X members go in twos, F and M anywhere.
    values = ["F"] * 48 + ["M"] * 48 + ["X"] * 4
    request = FormationRequest(
        members=[
            Member(f"s{i:03d}", numeric={"score": i % 7}, categorical={"gender": v})
            for i, v in enumerate(values)
        ],
        targets=[Target(f"T{i:02d}") for i in range(20)],
        strategy="balanced",
        seed=5,
        numeric=["score"],
        no_isolation=["gender"],
    )
    formation = form_groups(request)
    gender = {m.key: m.categorical["gender"] for m in request.members}
    x_counts = [sum(gender[k] == "X" for k in keys) for keys in formation.groups.values()]
    assert sorted(c for c in x_counts if c) == [2, 2]
    (quality,) = formation.report.categorical
    assert quality.isolated == 0  # an M or an F alone in a group is no isolated member
    assert any(sum(gender[k] == "M" for k in keys) == 1 for keys in formation.groups.values())


def test_the_objective_chooses_between_alike_means_and_alike_spreads() -> None:
    members = [
        Member(f"s{i:04d}", numeric={"score": float(v)})
        for i, v in enumerate(np.random.default_rng(8).normal(65, 12, 600).round(2))
    ]
    reports = {}
    for weight in (0.0, 1.0):
        request = FormationRequest(
            members=members,
            targets=[Target(f"T{i:03d}") for i in range(120)],
            strategy="balanced",
            seed=2,
            numeric=["score"],
            spread_weight=weight,
        )
        reports[weight] = form_groups(request).report.numeric[0]
    means_only, both = reports[0.0], reports[1.0]
    assert means_only.sd_of_means < both.sd_of_means / 10
    assert both.sd_of_sds < means_only.sd_of_sds / 2


@fast
@given(requests())
def test_with_sections_every_group_holds_one_section_and_each_section_gets_groups_by_its_size(
    request: FormationRequest,
) -> None:
    request = replace(request, sections="section")
    formation = formed(request)
    if formation is None:
        return
    section = {m.key: m.categorical.get("section", "") for m in request.members}
    section.update({m.key: m.categorical.get("section", "") for ms in request.existing.values() for m in ms})
    for target, keys in formation.groups.items():
        held = {section[k] for k in [*keys, *(m.key for m in request.existing.get(target, ()))]}
        assert len(held) <= 1, (target, held)


@given(
    st.dictionaries(st.sampled_from("ABCDEFG"), st.integers(0, 200), min_size=1),
    st.integers(0, 40),
)
def test_allot_shares_the_groups_in_proportion_each_section_one_at_least(
    demand: dict[str, int], free: int
) -> None:
    targets = [f"t{i:02d}" for i in range(free)]
    wanting = [s for s, n in demand.items() if n > 0]
    if len(wanting) > free:
        with pytest.raises(ValueError, match="need a group each"):
            allot(demand, targets, {})
        return
    allotted = allot(demand, targets, {})
    given = sorted(t for ts in allotted.values() for t in ts)
    assert given == (targets if wanting else [])
    total = sum(demand.values())
    for s in wanting:
        assert len(allotted[s]) >= 1
        share = free * demand[s] / total
        if share >= 1:  # a section's minimum of one takes nothing from a share it already has
            assert abs(len(allotted[s]) - share) < 1 + len(wanting), (s, share, allotted)
    assert all(not allotted[s] for s in demand if demand[s] == 0)


def test_sections_are_formed_apart_and_a_rule_across_them_is_refused() -> None:
    members = [
        Member(
            key=f"s{i:03d}",
            numeric={"score": float(i % 37)},
            categorical={"sec": "ABC"[i % 3] if i < 250 else "D"},
        )
        for i in range(300)
    ]
    request = FormationRequest(
        members=members,
        targets=[Target(key=f"G{i:02d}") for i in range(15)],
        strategy="balanced",
        seed=3,
        numeric=["score"],
        sections="sec",
    )
    formation = form_groups(request)
    section = {m.key: m.categorical["sec"] for m in members}
    per_section = Counter(section[keys[0]] for keys in formation.groups.values())
    assert per_section == {"A": 4, "B": 4, "C": 4, "D": 3}  # 84, 83, 83 and 50 of 300 in 15 groups
    assert all(len({section[k] for k in keys}) == 1 for keys in formation.groups.values())
    assert formation.report.numeric[0].sd_of_means_ratio is not None
    assert formation.report.numeric[0].sd_of_means_ratio < 1  # balanced within each beats random by sections
    crossing = replace(request, constraints=Constraints(keep_together=[["s000", "s001"]]))
    with pytest.raises(Infeasible, match="keep_together s000, s001: in sections A, B"):
        form_groups(crossing)
    too_few = replace(request, targets=[Target(key="G00"), Target(key="G01")])
    with pytest.raises(Infeasible, match="4 sections need a group each"):
        form_groups(too_few)


@pytest.mark.parametrize("strategy", ["random", "balanced"])
def test_with_sections_a_rule_binds_members_already_in_a_group_too(strategy: Strategy) -> None:
    # Found by hypothesis: a keep-apart pair of one member already in a group and one to place
    # was dropped from the section's rules, and the two were put together.
    new = [Member(key=f"m{i:02d}", categorical={"sec": "A"}) for i in range(1, 9)]
    request = FormationRequest(
        members=new,
        targets=[Target(key="T0"), Target(key="T1")],
        existing={"T0": [Member(key="m00", categorical={"sec": "A"})]},
        strategy=strategy,
        seed=1,
        categorical=["sec"],
        sections="sec",
        constraints=Constraints(keep_apart=[["m00", "m01"]], keep_together=[["m00", "m02"]]),
    )
    formation = form_groups(request)
    assert "m01" not in formation.groups["T0"]
    assert "m02" in formation.groups["T0"]
    assert check(request, formation) == []
