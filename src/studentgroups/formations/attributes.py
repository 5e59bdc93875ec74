"""What a formation balances, read from the database for the members to place.

Attribute names, in a formation request:
- numeric: a key of the students' free `attributes` whose value is a number; `results`, the
  student's mean normalised score (score / max_score) over all their results; `results:<item>`,
  the same over one item's results;
- categorical: a key of `attributes` (its value as text), or a profile field: `sexe`,
  `country_of_residence`, `city_of_residence`.
A member without a value has none: the engine imputes the mean for a number, and counts a
missing category as a value of its own ("").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from studentgroups.lookup import CHUNK
from studentgroups.tables.results import Result
from studentgroups.tables.students import Student
from studentgroups.tenancy import scoped_columns

RESULTS = "results"
PROFILE_FIELDS: dict[str, Any] = {
    "sexe": Student.sexe,
    "country_of_residence": Student.country_of_residence,
    "city_of_residence": Student.city_of_residence,
}

Numeric = dict[int, dict[str, float]]
Categorical = dict[int, dict[str, str]]


def results_item(attribute: str) -> str | None:
    """The item of a `results:<item>` attribute; "" for `results` (all items); None otherwise."""
    if attribute == RESULTS:
        return ""
    prefix = RESULTS + ":"
    return attribute[len(prefix) :] if attribute.startswith(prefix) and len(attribute) > len(prefix) else None


def member_attributes(
    session: Session,
    *,
    instance_id: int,
    student_ids: Sequence[int],
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> tuple[Numeric, Categorical]:
    """Each student's numeric and categorical values for the named attributes (those it has)."""
    numbers: Numeric = defaultdict(dict)
    categories: Categorical = defaultdict(dict)
    free_numeric = [a for a in numeric if results_item(a) is None]
    free_categorical = [a for a in categorical if a not in PROFILE_FIELDS]
    profile = [a for a in categorical if a in PROFILE_FIELDS]
    wanted = list(dict.fromkeys(free_numeric + free_categorical))
    if wanted or profile:
        columns = [Student.attributes[key] for key in wanted] + [PROFILE_FIELDS[a] for a in profile]
        for start in range(0, len(student_ids), CHUNK):
            chunk = list(student_ids[start : start + CHUNK])
            rows = session.connection().execute(
                scoped_columns(Student, instance_id, Student.id, *columns).where(Student.id.in_(chunk))
            )
            for student_id, *values in rows:
                by_key = dict(zip(wanted, values[: len(wanted)], strict=True))
                for key in free_numeric:
                    value = by_key[key]
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        numbers[student_id][key] = float(value)
                for key in free_categorical:
                    value = by_key[key]
                    if value is not None and not isinstance(value, dict | list):
                        categories[student_id][key] = str(value)
                for key, value in zip(profile, values[len(wanted) :], strict=True):
                    if value is not None:
                        categories[student_id][key] = str(value)
    for attribute in numeric:
        item = results_item(attribute)
        if item is not None:
            for student_id, mean in _mean_scores(session, instance_id, student_ids, item):
                numbers[student_id][attribute] = float(mean)
    return dict(numbers), dict(categories)


def _mean_scores(
    session: Session, instance_id: int, student_ids: Sequence[int], item: str
) -> list[tuple[int, float]]:
    """(student id, mean normalised score) over the students' results (of one item, unless "")."""
    out: list[tuple[int, float]] = []
    for start in range(0, len(student_ids), CHUNK):
        chunk = list(student_ids[start : start + CHUNK])
        stmt = (
            scoped_columns(Result, instance_id, Result.student_id, func.avg(Result.score / Result.max_score))
            .where(Result.student_id.in_(chunk))
            .group_by(Result.student_id)
        )
        if item:
            stmt = stmt.where(Result.item == item)
        out.extend((student_id, mean) for student_id, mean in session.connection().execute(stmt))
    return out
