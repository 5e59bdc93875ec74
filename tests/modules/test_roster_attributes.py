"""A roster file's attribute columns, typed: as properties, over any column of cells."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studentgroups.modules.roster_import import Declared, InvalidRosterFile, parse_roster_csv

ints = st.integers(-(2**53), 2**53)
floats = st.floats(allow_nan=False, allow_infinity=False)
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20
).filter(lambda t: t.strip() == t)


def _file(column: str, cells: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["uid", column])
    writer.writerows([f"u{i}", cell] for i, cell in enumerate(cells))
    return out.getvalue()


def _read(column: str, cells: list[str], declared: Declared | None = None) -> list[object]:
    entries = parse_roster_csv(_file(column, cells), declared=declared)
    return [e.attributes.get(column) for e in entries]


@given(st.lists(st.one_of(ints, floats), min_size=1, max_size=30))
def test_a_column_of_numbers_as_python_writes_them_reads_back_as_those_numbers(numbers: list[float]) -> None:
    cells = [str(n) for n in numbers]
    read = _read("score", cells)
    assert read == numbers
    assert [type(r) for r in read] == [int if isinstance(n, int) else float for n in numbers]


@given(st.lists(st.one_of(ints.map(str), texts), min_size=1, max_size=30))
def test_a_column_with_any_non_number_keeps_every_cell_as_its_text(cells: list[str]) -> None:
    cells = [*cells, "n/a"]  # at least one cell that is no number
    read = _read("major", cells)
    assert read == cells


@given(st.lists(st.sampled_from(["F", "M", "X", "Q", "f"]), min_size=1, max_size=30))
def test_a_declared_category_takes_its_values_only_and_names_each_line_that_breaks_it(
    cells: list[str],
) -> None:
    declared = Declared(categories={"gender": ["F", "M", "X"]})
    bad = [i + 2 for i, c in enumerate(cells) if c not in ("F", "M", "X")]
    if not bad:
        assert _read("gender", cells, declared) == cells
        return
    with pytest.raises(InvalidRosterFile) as refusal:
        _read("gender", cells, declared)
    assert [p.line for p in refusal.value.problems] == bad
    assert {(p.column, p.rule) for p in refusal.value.problems} == {("gender", "unknown_value")}


def test_a_code_with_a_leading_zero_is_text_and_a_declared_numeric_column_refuses_it() -> None:
    assert _read("code", ["007", "12"]) == ["007", "12"]
    with pytest.raises(InvalidRosterFile) as refusal:
        _read("code", ["007", "12"], Declared(numeric=["code"]))
    assert [(p.line, p.column, p.rule) for p in refusal.value.problems] == [(2, "code", "not_a_number")]
