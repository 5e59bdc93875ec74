"""`assess`, the report of a grouping changed by hand, as properties: on the engine's own
grouping it says what the engine said; a move changes the sizes it counts, and only those; a
broken rule shows in its recount."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studentgroups.grouping import (
    Constraints,
    FormationRequest,
    Infeasible,
    Member,
    Target,
    assess,
    form_groups,
    pictures,
)
from tests.grouping.test_form_groups import fast, formed, requests


@fast
@given(requests())
def test_on_the_engines_own_grouping_the_report_is_the_engines(request: FormationRequest) -> None:
    formation = formed(request)
    if formation is None:
        return
    report = assess(request, formation.groups)
    assert replace(report, runtime_ms=0, strategy="") == replace(formation.report, runtime_ms=0, strategy="")
    assert report.strategy == f"{request.strategy}, adjusted"


@fast
@given(requests(rules=False, existing=False), st.data())
def test_a_move_changes_the_two_sizes_and_nothing_else_of_them(
    request: FormationRequest, data: st.DataObject
) -> None:
    formation = form_groups(request)
    placed = [(t, m) for t, ms in formation.groups.items() for m in ms]
    if not placed or len(formation.groups) < 2:
        return
    source, member = data.draw(st.sampled_from(placed))
    target = data.draw(st.sampled_from([t for t in formation.groups if t != source]))
    moved = {t: [m for m in ms if m != member] for t, ms in formation.groups.items()}
    moved[target] = [*moved[target], member]
    keys = sorted(formation.groups)
    before = dict(zip(keys, formation.report.sizes, strict=True))
    after = dict(zip(keys, assess(request, moved).sizes, strict=True))
    assert after[source] == before[source] - 1
    assert after[target] == before[target] + 1
    assert {k: v for k, v in after.items() if k not in (source, target)} == {
        k: v for k, v in before.items() if k not in (source, target)
    }


def test_a_move_that_breaks_a_keep_apart_shows_in_the_recount_and_a_stranger_is_refused() -> None:
    request = FormationRequest(
        members=[Member(key=k) for k in ("a", "b", "c", "d")],
        targets=[Target(key="T1"), Target(key="T2")],
        constraints=Constraints(keep_apart=[["a", "b"]]),
    )
    formation = form_groups(request)
    assert formation.report.violations == 0
    assert assess(request, {"T1": ["a", "b"], "T2": ["c", "d"]}).violations == 1
    with pytest.raises(Infeasible, match="'z' is not a member to place"):
        assess(request, {"T1": ["a", "z"], "T2": ["b"]})
    with pytest.raises(Infeasible, match="'a' is in two groups"):
        assess(request, {"T1": ["a"], "T2": ["a"]})


@fast
@given(requests(rules=False))
def test_the_pictures_count_what_the_report_counts(request: FormationRequest) -> None:
    formation = form_groups(request)
    drawn = pictures(request, formation.groups)
    assert [p.key for p in drawn] == sorted(formation.groups)
    assert [p.size for p in drawn] == formation.report.sizes
    for picture in drawn:
        for attribute, counts in picture.counts.items():
            assert sum(counts.values()) == picture.size, attribute
        assert all((mean is None) == (picture.size == 0) for mean in picture.means.values())
    isolated = sum(c.isolated for c in formation.report.categorical)
    assert len({k for p in drawn for k in p.isolated}) <= isolated
    assert (isolated == 0) == all(not p.isolated for p in drawn)
