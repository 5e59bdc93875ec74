"""A request's members as arrays: the one place that reads `Member` objects.

Everything after this works on integer indices, so that the order members, targets or values
arrive in never matters: new members are indexed in key order, existing members after them in
(target key, member key) order, targets in key order and categorical values in sorted order.
The seeded rank is `seeded_order`, the same one random formation deals in.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.model import MAX_SPREAD_WEIGHT, FormationRequest, Member, MemberColumns
from studentgroups.grouping.random import MAX_SEED, Target, seeded_order

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

MISSING_VALUE = ""
MAX_LISTED = 20


class KeyIndex(Mapping[str, int]):
    """Each member's index by key, without a dict of every member: the new members' keys are in
    key order (a binary search finds one), the existing members' in a dict of their own."""

    def __init__(self, keys: Sequence[str], count: int) -> None:
        self._keys = keys
        self._count = count
        self._existing = {key: count + i for i, key in enumerate(keys[count:])}

    def __getitem__(self, key: str) -> int:
        i = bisect_left(self._keys, key, 0, self._count)
        if i < self._count and self._keys[i] == key:
            return i
        return self._existing[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True, slots=True)
class Roster:
    """The request's members and targets, indexed.

    `home[i]` is the target index of an existing member, -1 for a member to place. `numeric` has
    one column per attribute of `numeric_names` (sorted), missing values imputed with the mean.
    `codes[a][i]` is member i's value of categorical attribute `categorical_names[a]` (sorted),
    an index into `values[a]`; `protected[a][v]` says whether value v is one noIsolation keeps
    from being alone (and the report counts when alone): the values the request names for the
    attribute, else those held by fewer than `minority_share` of the members.
    """

    keys: list[str]
    count: int
    index: KeyIndex
    targets: list[Target]
    target_index: dict[str, int]
    home: Ints
    rank: Ints
    numeric_names: list[str]
    numeric: Floats
    categorical_names: list[str]
    codes: list[Ints]
    values: list[list[str]]
    protected: list[npt.NDArray[np.bool_]]


def _unique(names: Sequence[str]) -> list[str]:
    return sorted(set(names))


def capped(problems: list[str]) -> list[str]:
    """At most MAX_LISTED problems of one kind, and how many more there were."""
    if len(problems) <= MAX_LISTED:
        return problems
    return [*problems[:MAX_LISTED], f"… and {len(problems) - MAX_LISTED} more like these"]


def _option_problems(request: FormationRequest) -> list[str]:
    problems: list[str] = []
    if request.strategy not in ("random", "balanced"):
        problems.append(f"strategy: {request.strategy!r} is not one of random, balanced")
    if not 0 <= request.seed <= MAX_SEED:
        problems.append(f"seed: must be between 0 and {MAX_SEED}")
    if not 0 < request.minority_share <= 1:
        problems.append("minority_share: must be above 0 and at most 1")
    if request.spread_weight is not None and not 0 <= request.spread_weight <= MAX_SPREAD_WEIGHT:
        problems.append(f"spread_weight: must be between 0 and {MAX_SPREAD_WEIGHT:g}")
    for name in sorted(set(request.protected) - set(request.no_isolation)):
        problems.append(f"protected: {name} is not one of the noIsolation attributes")
    return problems


def check_request(request: FormationRequest) -> list[str]:
    """Problems with the request itself, before any rule is looked at."""
    problems = _option_problems(request)
    target_keys = [t.key for t in request.targets]
    for key in sorted(k for k, n in Counter(target_keys).items() if n > 1):
        problems.append(f"target {key} appears more than once")
    for target in sorted(request.targets, key=lambda t: t.key):
        if target.capacity < 0:
            problems.append(f"target {target.key}: capacity must not be negative")
    known_targets = set(target_keys)
    for key in sorted(set(request.existing) - known_targets):
        problems.append(f"existing: there is no target {key}")
    repeated: list[str] = []
    new_keys: set[str] = set()
    for key in _keys_of(request.members):
        if key in new_keys:
            repeated.append(f"member {key} appears more than once")
        new_keys.add(key)
    seen: dict[str, str] = {}
    for target_key in sorted(request.existing):
        for member in request.existing[target_key]:
            if member.key in new_keys or member.key in seen:
                where = f"already in {seen[member.key]}" if member.key in seen else "to be placed"
                repeated.append(f"member {member.key} is in {target_key} and also {where}")
            seen[member.key] = target_key
    problems.extend(capped(sorted(set(repeated))))
    return problems


def _keys_of(members: Sequence[Member]) -> Sequence[str]:
    return members.keys if isinstance(members, MemberColumns) else [m.key for m in members]


def _numeric_column(members: Sequence[Member], name: str, problems: list[str]) -> Floats:
    """The members' values of `name` (NaN where missing); each value that is not a number is a problem."""
    column = np.empty(len(members), dtype=np.float64)
    bad: list[str] = []
    for i, member in enumerate(members):
        value = member.numeric.get(name)
        if value is None:
            column[i] = math.nan
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            bad.append(f"member {member.key}: numeric {name} must be a finite number, not {value!r}")
        column[i] = number
    problems.extend(capped(bad))
    return column


def as_columns(
    members: Sequence[Member],
    numeric: Sequence[str],
    categorical: Sequence[str],
    problems: list[str],
) -> MemberColumns:
    """The members' keys and the named attributes as columns (a missing column: all missing);
    each number that is not finite (NaN aside, which is missing) is a problem."""
    if not isinstance(members, MemberColumns):
        return MemberColumns(
            keys=[m.key for m in members],
            numeric={name: _numeric_column(members, name, problems) for name in numeric},
            categorical={
                name: [m.categorical.get(name, MISSING_VALUE) for m in members] for name in categorical
            },
        )
    count = len(members.keys)
    columns: dict[str, Floats] = {}
    for name in numeric:
        found = members.numeric.get(name)
        column = np.full(count, math.nan) if found is None else np.asarray(found, dtype=np.float64)
        if len(column) != count:
            raise ValueError(f"numeric {name}: {len(column)} values for {count} members")
        infinite = np.flatnonzero(np.isinf(column)).tolist()
        problems.extend(
            f"member {members.keys[i]}: numeric {name} must be a finite number, not {float(column[i])!r}"
            for i in infinite[:MAX_LISTED]
        )
        if len(infinite) > MAX_LISTED:
            problems.append(f"… and {len(infinite) - MAX_LISTED} more like these")
        columns[name] = column
    values: dict[str, Sequence[str]] = {}
    for name in categorical:
        given = members.categorical.get(name)
        if given is not None and len(given) != count:
            raise ValueError(f"categorical {name}: {len(given)} values for {count} members")
        values[name] = [MISSING_VALUE] * count if given is None else given
    return MemberColumns(keys=members.keys, numeric=columns, categorical=values)


def _codes(raw: Sequence[str]) -> tuple[Ints, list[str]]:
    """Each value's index among the distinct values, sorted."""
    found = sorted(set(raw))
    lookup = {value: i for i, value in enumerate(found)}
    return np.fromiter(map(lookup.__getitem__, raw), dtype=np.int64, count=len(raw)), found


def build_roster(request: FormationRequest) -> tuple[Roster, list[str]]:
    """The request as arrays, and the problems found in its attribute values."""
    problems: list[str] = []
    numeric_names = _unique(request.numeric)
    sections = [] if request.sections is None else [request.sections]
    categorical_names = _unique([*request.categorical, *request.no_isolation, *sections])
    given = as_columns(request.members, numeric_names, categorical_names, problems)
    targets = sorted(request.targets, key=lambda t: t.key)
    target_index = {t.key: i for i, t in enumerate(targets)}
    existing = [
        (target_index[key], member)
        for key in sorted(request.existing)
        if key in target_index
        for member in sorted(request.existing[key], key=lambda m: m.key)
    ]
    staying = as_columns([member for _, member in existing], numeric_names, categorical_names, problems)
    by_key = np.array(sorted(range(len(given.keys)), key=given.keys.__getitem__), dtype=np.int64)
    keys = [given.keys[i] for i in by_key.tolist()]
    count = len(keys)
    keys += staying.keys
    home = np.full(len(keys), -1, dtype=np.int64)
    home[count:] = [group for group, _ in existing]

    rank = np.arange(len(keys), dtype=np.int64)
    rank[seeded_order(keys[:count], request.seed)] = np.arange(count, dtype=np.int64)

    numeric = np.zeros((len(keys), len(numeric_names)), dtype=np.float64)
    for a, name in enumerate(numeric_names):
        column = np.concatenate([given.numeric[name][by_key], staying.numeric[name]])
        present = ~np.isnan(column)
        column[~present] = column[present].mean() if present.any() else 0.0
        numeric[:, a] = column

    codes: list[Ints] = []
    values: list[list[str]] = []
    protected: list[npt.NDArray[np.bool_]] = []
    for name in categorical_names:
        column_values = given.categorical[name]
        code, found = _codes([column_values[i] for i in by_key.tolist()] + list(staying.categorical[name]))
        codes.append(code)
        values.append(found)
        if name in request.protected:
            named = set(request.protected[name])
            protected.append(np.array([v in named for v in found], dtype=np.bool_))
        else:
            tally = np.bincount(code, minlength=len(found))
            protected.append(tally < request.minority_share * max(len(code), 1))

    roster = Roster(
        keys=keys,
        count=count,
        index=KeyIndex(keys, count),
        targets=targets,
        target_index=target_index,
        home=home,
        rank=rank,
        numeric_names=numeric_names,
        numeric=numeric,
        categorical_names=categorical_names,
        codes=codes,
        values=values,
        protected=protected,
    )
    return roster, problems
