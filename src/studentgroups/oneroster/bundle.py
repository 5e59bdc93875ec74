"""Reading a 1EdTech OneRoster 1.2 CSV bundle: a zip (or a folder) of `manifest.csv` and the
files it lists, every row of every file checked, every problem named by file, line and column.

What the service takes from it: `classes.csv` (each class a module), `users.csv` (who they are),
`enrollments.csv` (students on a class's roster, teachers its managers), and, when present,
`courses.csv` and `academicSessions.csv` (a module's description) and `demographics.csv` (the
students' attributes). The files the service has no use for (`orgs.csv`, `roles.csv`, …) may be
in the bundle and are not read. A file is `bulk` (the whole truth: what it lacks is gone) or
`delta` (changes: `status` says `active` or `tobedeleted`), as the manifest says.

The header names the specification's columns (any order, as the specification spells them, in
any case) and `metadata.*` extension columns; a required column is required of every row.
Nothing here touches the database.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from studentgroups.csv_import import (
    CsvFormat,
    InvalidCsvFile,
    OnProgress,
    RowProblem,
    decode_csv,
    read_csv,
)


class InvalidBundle(InvalidCsvFile):
    """The bundle has bad rows (or files); nothing was written."""

    kind = "OneRoster bundle"


MANIFEST = "manifest.csv"
MAX_BUNDLE_BYTES = 2 * 1024**3
"""What a bundle's files may hold, uncompressed: a zip that claims more is refused unread."""

MODES = ("absent", "bulk", "delta")
NEEDED = ("classes", "users", "enrollments")
"""The files an import needs (not `absent`)."""
READ = (*NEEDED, "courses", "academicSessions", "demographics")
"""The files an import reads when they are there."""

ENROLLMENT_ROLES = (
    "administrator",
    "proctor",
    "student",
    "teacher",
    "aide",
    "guardian",
    "parent",
    "relative",
)
"""Roles an enrollment may have (OneRoster 1.2, and 1.1's); `ext:` roles are accepted too.
Students are a class's roster and teachers its managers; the others are counted, not kept."""
SEXES = ("male", "female", "unspecified", "other")
BOOLEANS = ("true", "false")
RACE_COLUMNS = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
)

MAX_CODE = 64
MAX_TEXT = 255
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


REQUIRED: dict[str, tuple[str, ...]] = {}
"""Each file's required columns (lower case), by file name: in the header, and a value in every row."""
SPELLING: dict[str, str] = {}
"""Each column's name as the specification spells it (`sourcedId`), by its lower-case name."""


def _format(name: str, columns: str, required: str) -> CsvFormat:
    SPELLING.update({c.lower(): c for c in columns.split(",")})
    REQUIRED[name] = tuple(c.lower() for c in required.split(","))
    return CsvFormat(
        name=name,
        columns=tuple(c.lower() for c in columns.split(",")),
        required=(),  # checked by `_read_file`, to name them as the specification spells them
        rows="rows",
        error=InvalidBundle,
        open_columns=True,  # `metadata.*` columns; any other is refused by `_unknown_columns`
    )


COMMON = "sourcedId,status,dateLastModified"
FORMATS: dict[str, CsvFormat] = {
    "academicSessions": _format(
        "academicSessions.csv",
        f"{COMMON},title,type,startDate,endDate,parentSourcedId,schoolYear",
        "sourcedId,title,type,startDate,endDate,schoolYear",
    ),
    "courses": _format(
        "courses.csv",
        f"{COMMON},schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes",
        "sourcedId,title,orgSourcedId",
    ),
    "classes": _format(
        "classes.csv",
        f"{COMMON},title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,"
        "termSourcedIds,subjects,subjectCodes,periods",
        "sourcedId,title,courseSourcedId,classType,schoolSourcedId,termSourcedIds",
    ),
    "users": _format(
        "users.csv",
        f"{COMMON},enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,"
        "phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,"
        "preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns",
        "sourcedId,enabledUser,givenName,familyName",
    ),
    "enrollments": _format(
        "enrollments.csv",
        f"{COMMON},classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate",
        "sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role",
    ),
    "demographics": _format(
        "demographics.csv",
        f"{COMMON},birthDate,sex,{','.join(RACE_COLUMNS)},countryOfBirthCode,stateOfBirthAbbreviation,"
        "cityOfBirth,publicSchoolResidenceStatus",
        "sourcedId",
    ),
}


@dataclass(frozen=True, slots=True)
class Row:
    """What every row has: where it is, its `sourcedId`, and whether it is withdrawn (`tobedeleted`)."""

    line: int
    sourced_id: str
    deleted: bool


@dataclass(frozen=True, slots=True)
class ClassRow(Row):
    title: str
    code: str
    course_id: str
    term_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserRow(Row):
    name: str
    username: str


@dataclass(frozen=True, slots=True)
class EnrollmentRow(Row):
    class_id: str
    user_id: str
    role: str


@dataclass(frozen=True, slots=True)
class DemographicsRow(Row):
    sexe: str | None
    birth_date: date | None
    attributes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class TitledRow(Row):
    """A course or an academic session: what a module's description names."""

    title: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """A bundle's rows, checked: each file's mode, and its rows by `sourcedId` (enrollments in file order)."""

    modes: Mapping[str, str]
    classes: Mapping[str, ClassRow]
    users: Mapping[str, UserRow]
    enrollments: Sequence[EnrollmentRow]
    demographics: Mapping[str, DemographicsRow] = field(default_factory=dict)
    courses: Mapping[str, TitledRow] = field(default_factory=dict)
    sessions: Mapping[str, TitledRow] = field(default_factory=dict)
    system: str = ""
    """The source system's name (`source.systemName`), for the report."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Each file's name in the bundle, by kind (`users.csv`), for problems found later."""

    def file(self, kind: str) -> str:
        """The name of the file of this kind (`enrollments` -> `enrollments.csv`)."""
        return self.names.get(kind, f"{kind}.csv")

    def bulk(self, kind: str) -> bool:
        """Whether the file is the whole truth (bulk), not a list of changes (delta)."""
        return self.modes.get(kind) == "bulk"


# Files -------------------------------------------------------------------------------------------


def open_bundle(path: Path) -> dict[str, bytes]:
    """The CSV files of a bundle, by name: a zip's (at its root, or in its one folder), or a
    folder's. InvalidBundle when it is neither, has no manifest, or a zip claims too much."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.suffix.lower() == ".csv"}
    if not zipfile.is_zipfile(path):
        raise InvalidBundle(
            [RowProblem(1, None, "not_a_bundle", f"{path.name} is neither a zip nor a folder")]
        )
    return read_zip(path.read_bytes())


def read_zip(data: bytes) -> dict[str, bytes]:
    """The CSV files of a zipped bundle, by name (at the zip's root, or in its one folder)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise InvalidBundle([RowProblem(1, None, "not_a_zip", f"not a readable zip: {error}")]) from None
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".csv")]
        if sum(i.file_size for i in members) > MAX_BUNDLE_BYTES:
            raise InvalidBundle(
                [RowProblem(1, None, "too_large", f"its files hold more than {MAX_BUNDLE_BYTES} bytes")]
            )
        folders = {i.filename.rsplit("/", 1)[0] if "/" in i.filename else "" for i in members}
        if len(folders) > 1:
            raise InvalidBundle([RowProblem(1, None, "folders", "its CSV files are in more than one folder")])
        return {i.filename.rsplit("/", 1)[-1]: archive.read(i) for i in members}


def _named(files: Mapping[str, bytes], kind: str) -> tuple[str, bytes] | None:
    wanted = f"{kind}.csv".lower()
    for name, data in files.items():
        if name.lower() == wanted:
            return name, data
    return None


def read_manifest(files: Mapping[str, bytes]) -> tuple[dict[str, str], str]:
    """Each file's mode (`bulk`, `delta`, `absent`) by kind, and the source system's name;
    InvalidBundle naming `manifest.csv`'s lines when it is missing or wrong."""
    found = _named(files, "manifest")
    if found is None:
        raise InvalidBundle(
            [RowProblem(1, None, "missing_file", "the bundle has no manifest.csv", file=MANIFEST)]
        )
    fmt = CsvFormat(
        "manifest", ("propertyname", "value"), (("propertyname",), ("value",)), "properties", InvalidBundle
    )
    properties: dict[str, tuple[int, str]] = {}

    def check(line: int, values: Mapping[str, str]) -> tuple[int, str, str] | list[RowProblem]:
        if "propertyname" not in values:
            return [RowProblem(line, "propertyName", "missing", "required")]
        return line, values["propertyname"], values.get("value", "")

    try:
        checked = read_csv(decode_csv(found[1], fmt), fmt, check)
    except InvalidBundle as error:
        raise InvalidBundle([replace(p, file=MANIFEST) for p in error.problems]) from None
    problems = [replace(p, file=MANIFEST) for p in checked.problems]
    for line, name, value in checked.entries:
        properties[name] = (line, value)
    expected = {"manifest.version": "1.0", "oneroster.version": "1.2"}
    for name, value in expected.items():
        line, given = properties.get(name, (checked.header_line, None))
        if given != value:
            said = "missing" if given is None else f"{given!r}"
            problems.append(
                RowProblem(line, "value", "version", f"{name} must be {value} ({said})", MANIFEST)
            )
    modes: dict[str, str] = {}
    for kind in READ:
        line, mode = properties.get(f"file.{kind}", (checked.header_line, "absent"))
        if mode not in MODES:
            problems.append(
                RowProblem(
                    line,
                    "value",
                    "mode",
                    f"file.{kind} must be absent, bulk or delta, not {mode!r}",
                    MANIFEST,
                )
            )
            continue
        present = _named(files, kind) is not None
        if mode == "absent" and kind in NEEDED:
            problems.append(
                RowProblem(
                    line, "value", "needed", f"file.{kind} is needed (bulk or delta), not absent", MANIFEST
                )
            )
        elif mode != "absent" and not present:
            problems.append(
                RowProblem(
                    line,
                    "value",
                    "missing_file",
                    f"file.{kind} is {mode}, but the bundle has no {kind}.csv",
                    MANIFEST,
                )
            )
        elif mode == "absent" and present:
            problems.append(
                RowProblem(
                    line, "value", "absent", f"file.{kind} is absent, but the bundle has {kind}.csv", MANIFEST
                )
            )
        modes[kind] = mode
    if problems:
        raise InvalidBundle(problems)
    return modes, properties.get("source.systemName", (0, ""))[1]


# Rows --------------------------------------------------------------------------------------------

Parsed = TypeVar("Parsed", bound=Row)


class _Problems:
    """The problems of one file's rows, each named by file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[RowProblem] = []

    def add(self, line: int, column: str | None, rule: str, message: str) -> None:
        self.found.append(RowProblem(line, column, rule, message, self.file))


def _common(line: int, values: Mapping[str, str], delta: bool, problems: _Problems) -> tuple[str, bool]:
    status = values.get("status", "")
    if status not in (("active", "tobedeleted") if delta else ("", "active", "tobedeleted")):
        allowed = "active or tobedeleted" if delta else "empty, active or tobedeleted"
        problems.add(
            line,
            "status",
            "enum",
            f"must be {allowed}, not {status!r}" if status else "required in a delta file",
        )
    if len(values.get("sourcedid", "")) > MAX_TEXT:
        problems.add(line, "sourcedId", "too_long", f"at most {MAX_TEXT} characters")
    return values.get("sourcedid", ""), status == "tobedeleted"


def _enum(
    line: int, values: Mapping[str, str], column: str, name: str, allowed: Sequence[str], problems: _Problems
) -> str | None:
    value = values.get(column)
    if value is not None and value not in allowed:
        problems.add(line, name, "enum", f"must be one of {', '.join(allowed)}, not {value!r}")
        return None
    return value


def _date(line: int, values: Mapping[str, str], column: str, name: str, problems: _Problems) -> date | None:
    value = values.get(column)
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        problems.add(line, name, "date", f"must be a date written YYYY-MM-DD, not {value!r}")
        return None


def _text(
    line: int, values: Mapping[str, str], column: str, name: str, limit: int, problems: _Problems
) -> str:
    value = values.get(column, "")
    if len(value) > limit:
        problems.add(line, name, "too_long", f"at most {limit} characters")
    return value


def _class(line: int, values: Mapping[str, str], delta: bool, problems: _Problems) -> ClassRow:
    sourced_id, deleted = _common(line, values, delta, problems)
    _enum(line, values, "classtype", "classType", ("homeroom", "scheduled"), problems)
    code = values.get("classcode") or sourced_id
    if len(code) > MAX_CODE:
        problems.add(
            line,
            "classCode" if "classcode" in values else "sourcedId",
            "too_long",
            f"a module's code has at most {MAX_CODE} characters",
        )
    terms = tuple(t.strip() for t in values.get("termsourcedids", "").split(",") if t.strip())
    return ClassRow(
        line,
        sourced_id,
        deleted,
        _text(line, values, "title", "title", MAX_TEXT, problems),
        code,
        values.get("coursesourcedid", ""),
        terms,
    )


def _user(line: int, values: Mapping[str, str], delta: bool, problems: _Problems) -> UserRow:
    sourced_id, deleted = _common(line, values, delta, problems)
    _enum(line, values, "enableduser", "enabledUser", BOOLEANS, problems)
    given = values.get("preferredgivenname") or values.get("givenname", "")
    family = values.get("preferredfamilyname") or values.get("familyname", "")
    name = f"{given} {family}".strip()
    if len(name) > MAX_TEXT:
        problems.add(
            line, "givenName", "too_long", f"a name has at most {MAX_TEXT} characters, given and family"
        )
    username = _text(line, values, "username", "username", MAX_TEXT, problems)
    return UserRow(line, sourced_id, deleted, name, username)


def _enrollment(line: int, values: Mapping[str, str], delta: bool, problems: _Problems) -> EnrollmentRow:
    sourced_id, deleted = _common(line, values, delta, problems)
    role = values.get("role", "")
    if role not in ENROLLMENT_ROLES and not role.startswith("ext:"):
        problems.add(
            line, "role", "enum", f"must be one of {', '.join(ENROLLMENT_ROLES)} or ext:…, not {role!r}"
        )
    _enum(line, values, "primary", "primary", BOOLEANS, problems)
    _date(line, values, "begindate", "beginDate", problems)
    _date(line, values, "enddate", "endDate", problems)
    return EnrollmentRow(
        line, sourced_id, deleted, values.get("classsourcedid", ""), values.get("usersourcedid", ""), role
    )


_DEMOGRAPHIC_ATTRIBUTES = tuple(
    c.lower()
    for c in (
        "sex",
        *RACE_COLUMNS,
        "countryOfBirthCode",
        "stateOfBirthAbbreviation",
        "cityOfBirth",
        "publicSchoolResidenceStatus",
    )
)
"""The columns of `demographics.csv` that become attributes, under these names (lower case)."""


def _demographics(line: int, values: Mapping[str, str], delta: bool, problems: _Problems) -> DemographicsRow:
    sourced_id, deleted = _common(line, values, delta, problems)
    sex = _enum(line, values, "sex", "sex", SEXES, problems)
    for column in RACE_COLUMNS:
        _enum(line, values, column.lower(), column, BOOLEANS, problems)
    for column in _DEMOGRAPHIC_ATTRIBUTES:
        _text(line, values, column, SPELLING[column], MAX_TEXT, problems)
    return DemographicsRow(
        line,
        sourced_id,
        deleted,
        sexe=None if sex is None else sex if sex in ("male", "female") else "undefined",
        birth_date=_date(line, values, "birthdate", "birthDate", problems),
        attributes={c: values[c] for c in _DEMOGRAPHIC_ATTRIBUTES if c in values},
    )


def _titled(line: int, values: Mapping[str, str], delta: bool, problems: _Problems) -> TitledRow:
    sourced_id, deleted = _common(line, values, delta, problems)
    return TitledRow(line, sourced_id, deleted, values.get("title", ""))


READ_COLUMNS: dict[str, frozenset[str]] = {
    kind: frozenset(c.lower() for c in columns.split(","))
    for kind, columns in {
        "classes": f"{COMMON},title,courseSourcedId,classCode,classType,schoolSourcedId,termSourcedIds",
        "users": f"{COMMON},enabledUser,username,givenName,familyName,preferredGivenName,preferredFamilyName",
        "enrollments": f"{COMMON},classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,"
        "endDate",
        "demographics": ",".join(FORMATS["demographics"].columns),
        "courses": f"{COMMON},title,orgSourcedId",
        "academicSessions": f"{COMMON},title,type,startDate,endDate,schoolYear",
    }.items()
}
"""The columns each file's rows are checked on and read from (the others are checked as header
columns only: the service keeps nothing of them)."""

_ROWS: dict[str, Callable[[int, Mapping[str, str], bool, _Problems], Any]] = {
    "classes": _class,
    "users": _user,
    "enrollments": _enrollment,
    "demographics": _demographics,
    "courses": _titled,
    "academicSessions": _titled,
}


def _read_file(
    name: str, data: bytes, kind: str, delta: bool, on_progress: OnProgress | None
) -> tuple[list[Any], list[RowProblem]]:
    """A file's rows, and its problems: its header's (a required column missing, an unknown one),
    then its rows' (a required cell empty is a problem only where the header names the column)."""
    fmt = FORMATS[kind]
    required = REQUIRED[fmt.name]
    problems = _Problems(name)
    make = _ROWS[kind]

    def check(line: int, values: Mapping[str, str]) -> Any:
        # A bad row is kept (its problems refuse the bundle): its references still resolve.
        for column in required:
            if column not in values:
                problems.add(line, SPELLING[column], "missing", "required")
        return make(line, values, delta, problems)

    try:
        checked = read_csv(
            decode_csv(data, fmt), fmt, check, on_progress=on_progress, keep=READ_COLUMNS[kind]
        )
    except InvalidBundle as error:
        return [], [replace(p, file=name) for p in error.problems]
    header = _Problems(name)
    known = ", ".join(SPELLING[c] for c in fmt.columns)
    for position, column in enumerate(checked.columns, start=1):
        if column not in fmt.columns and not column.startswith("metadata."):
            message = f"not a {fmt.name} column (column {position}); the columns are {known}, and metadata.*"
            header.add(checked.header_line, column, "unknown_column", message)
    for column in required:
        if column not in checked.columns:
            header.add(checked.header_line, SPELLING[column], "missing_column", "the header must name it")
    in_header = {SPELLING.get(c, c) for c in checked.columns}
    rows = [p for p in problems.found if p.rule != "missing" or p.column in in_header]
    read = [replace(p, file=name) for p in checked.problems if p.rule != "empty"]
    return checked.entries, [*header.found, *rows, *read]


def _by_id(name: str, rows: Sequence[Parsed], problems: list[RowProblem]) -> dict[str, Parsed]:
    first: dict[str, Parsed] = {}
    for row in rows:
        if row.sourced_id in first:
            problems.append(
                RowProblem(
                    row.line,
                    "sourcedId",
                    "duplicate",
                    f"{row.sourced_id!r} is also on line {first[row.sourced_id].line}",
                    name,
                )
            )
        else:
            first[row.sourced_id] = row
    return first


def _refer(
    rows: Sequence[Row],
    file: str,
    column: str,
    targets: Mapping[str, Row],
    what: str,
    target_file: str,
    problems: list[RowProblem],
) -> None:
    """A problem for each row whose `column` (one id, or a comma-separated list of them: a
    tuple on the row) names no row of `targets`."""
    attribute = _ATTRIBUTE_OF[column]
    for row in rows:
        value = getattr(row, attribute)
        for target in value if isinstance(value, tuple) else (value,):
            if target not in targets:
                message = f"no {what} {target!r} in {target_file}"
                problems.append(RowProblem(row.line, column, "not_found", message, file))


_ATTRIBUTE_OF = {
    "courseSourcedId": "course_id",
    "termSourcedIds": "term_ids",
    "classSourcedId": "class_id",
    "userSourcedId": "user_id",
    "sourcedId": "sourced_id",
}
"""The row attribute that holds a referring column's ids."""


def read_bundle(files: Mapping[str, bytes], *, on_progress: OnProgress | None = None) -> Bundle:
    """Every row of the bundle's files checked, and their references to each other where the
    referred file is bulk (a delta's references may be to rows imported before: the import
    finds those); InvalidBundle listing every problem (file, line, column) if one is bad."""
    modes, system = read_manifest(files)
    problems: list[RowProblem] = []
    read: dict[str, tuple[str, list[Any]]] = {}
    for kind in READ:
        if modes.get(kind, "absent") == "absent":
            continue
        found = _named(files, kind)
        assert found is not None  # read_manifest
        rows, found_problems = _read_file(found[0], found[1], kind, modes[kind] == "delta", on_progress)
        read[kind] = (found[0], rows)
        problems.extend(found_problems)
    by_id = {kind: _by_id(name, rows, problems) for kind, (name, rows) in read.items()}
    name = {kind: file for kind, (file, _) in read.items()}
    classes: dict[str, ClassRow] = by_id["classes"]
    codes: dict[str, ClassRow] = {}
    for row in classes.values():
        if row.code in codes:
            message = f"a module's code: {row.code!r} is also on line {codes[row.code].line}"
            problems.append(RowProblem(row.line, "classCode", "duplicate", message, name["classes"]))
        codes.setdefault(row.code, row)
    references = (
        ("classes", "courseSourcedId", "courses", "course"),
        ("classes", "termSourcedIds", "academicSessions", "academic session"),
        ("enrollments", "classSourcedId", "classes", "class"),
        ("enrollments", "userSourcedId", "users", "user"),
        ("demographics", "sourcedId", "users", "user"),
    )
    for kind, column, target, what in references:
        if kind in read and modes.get(target) == "bulk":
            _refer(read[kind][1], name[kind], column, by_id[target], what, name[target], problems)
    if problems:
        raise InvalidBundle(problems)
    return Bundle(
        modes=modes,
        classes=classes,
        users=by_id["users"],
        enrollments=read["enrollments"][1],
        demographics=by_id.get("demographics", {}),
        courses=by_id.get("courses", {}),
        sessions=by_id.get("academicSessions", {}),
        system=system,
        names=name,
    )
