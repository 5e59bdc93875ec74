"""A request's members as arrays: the one place that reads `Member` objects.

Everything after this works on integer indices, so that the order members, targets or values
arrive in never matters: new members are indexed in key order, existing members after them in
(target key, member key) order, targets in key order and categorical values in sorted order.
The seeded rank is `shuffled`'s order, the same one random formation deals in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.model import FormationRequest, Member
from studentgroups.grouping.random import MAX_SEED, Target, shuffled

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

MISSING_VALUE = ""
MAX_LISTED = 20


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
    index: dict[str, int]
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
    if request.spread_weight is not None and not 0 <= request.spread_weight <= 1:
        problems.append("spread_weight: must be between 0 and 1")
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
    seen: dict[str, str] = {}
    repeated: list[str] = []
    for member in request.members:
        if member.key in seen:
            repeated.append(f"member {member.key} appears more than once")
        seen[member.key] = ""
    for target_key in sorted(request.existing):
        for member in request.existing[target_key]:
            if member.key in seen:
                where = f"already in {seen[member.key]}" if seen[member.key] else "to be placed"
                repeated.append(f"member {member.key} is in {target_key} and also {where}")
            seen[member.key] = target_key
    problems.extend(capped(sorted(set(repeated))))
    return problems


def _numeric_column(members: Sequence[Member], name: str, problems: list[str]) -> Floats:
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
    present = ~np.isnan(column)
    column[~present] = column[present].mean() if present.any() else 0.0
    return column


def build_roster(request: FormationRequest) -> tuple[Roster, list[str]]:
    """The request as arrays, and the problems found in its attribute values."""
    problems: list[str] = []
    new = sorted(request.members, key=lambda m: m.key)
    targets = sorted(request.targets, key=lambda t: t.key)
    target_index = {t.key: i for i, t in enumerate(targets)}
    existing = [
        (target_index[key], member)
        for key in sorted(request.existing)
        if key in target_index
        for member in sorted(request.existing[key], key=lambda m: m.key)
    ]
    members = new + [member for _, member in existing]
    keys = [m.key for m in members]
    count = len(new)
    index = {key: i for i, key in enumerate(keys)}
    home = np.full(len(members), -1, dtype=np.int64)
    home[count:] = [group for group, _ in existing]

    rank = np.arange(len(members), dtype=np.int64)
    order = shuffled(keys[:count], request.seed)
    rank[[index[key] for key in order]] = np.arange(count, dtype=np.int64)

    numeric_names = _unique(request.numeric)
    numeric = np.zeros((len(members), len(numeric_names)), dtype=np.float64)
    for a, name in enumerate(numeric_names):
        numeric[:, a] = _numeric_column(members, name, problems)

    categorical_names = _unique([*request.categorical, *request.no_isolation])
    codes: list[Ints] = []
    values: list[list[str]] = []
    protected: list[npt.NDArray[np.bool_]] = []
    for name in categorical_names:
        raw = np.array([m.categorical.get(name, MISSING_VALUE) for m in members], dtype=object)
        found, inverse = np.unique(raw.astype(str), return_inverse=True) if len(raw) else (raw, raw)
        code = np.asarray(inverse, dtype=np.int64).reshape(-1)
        codes.append(code)
        values.append([str(v) for v in found])
        if name in request.protected:
            named = set(request.protected[name])
            protected.append(np.array([v in named for v in values[-1]], dtype=np.bool_))
        else:
            tally = np.bincount(code, minlength=len(found))
            protected.append(tally < request.minority_share * max(len(code), 1))

    roster = Roster(
        keys=keys,
        count=count,
        index=index,
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
