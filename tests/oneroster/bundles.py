"""OneRoster 1.2 CSV bundles for the tests, written as the specification lays them out: every
file's header the specification's columns in its order, as it spells them (the CSV binding's
tables), the manifest's properties, and rows shaped as its examples are (an org, a term, a course
and its classes, students and a teacher, their enrollments and demographics). Independent of
the service's reader: the columns are written out here, not taken from it."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HEADERS = {
    "academicSessions": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,"
    "schoolYear",
    "classes": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
    "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    "courses": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,"
    "subjects,subjectCodes",
    "demographics": "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
    "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,"
    "hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,"
    "publicSchoolResidenceStatus",
    "enrollments": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
    "primary,beginDate,endDate",
    "orgs": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "users": "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,"
    "identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,"
    "preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns",
}

Row = dict[str, str]


@dataclass
class BundleFiles:
    """A bundle's rows by file, as dicts of the specification's columns (missing: empty)."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    """file kind -> bulk or delta (default bulk for every file with rows)."""

    def texts(self) -> dict[str, str]:
        files = {}
        for kind, rows in self.rows.items():
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            columns = HEADERS[kind].split(",")
            writer.writerow(columns)
            writer.writerows([row.get(c, "") for c in columns] for row in rows)
            files[f"{kind}.csv"] = out.getvalue()
        manifest = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
        for kind in (
            "academicSessions",
            "categories",
            "classes",
            "classResources",
            "courses",
            "courseResources",
            "demographics",
            "enrollments",
            "lineItems",
            "orgs",
            "resources",
            "results",
            "users",
        ):
            mode = self.modes.get(kind, "bulk") if kind in self.rows else "absent"
            manifest.append((f"file.{kind}", mode))
        manifest += [("source.systemName", "Example SIS"), ("source.systemCode", "EX")]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["propertyName", "value"])
        writer.writerows(manifest)
        files["manifest.csv"] = out.getvalue()
        return files

    def write_zip(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in self.texts().items():
                archive.writestr(name, text)
        return path

    def write_folder(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        for name, text in self.texts().items():
            (path / name).write_text(text, encoding="utf-8")
        return path


ORG = {"sourcedId": "org-1", "name": "Example High", "type": "school", "identifier": "EXH"}
TERM = {
    "sourcedId": "term-fall-2026",
    "title": "Fall 2026",
    "type": "term",
    "startDate": "2026-08-15",
    "endDate": "2026-12-20",
    "schoolYear": "2027",
}
COURSE = {
    "sourcedId": "course-math-101",
    "title": "Mathematics 101",
    "courseCode": "MATH101",
    "orgSourcedId": "org-1",
}


def school_class(sourced_id: str, code: str, title: str) -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "title": title,
        "grades": "09",
        "courseSourcedId": "course-math-101",
        "classCode": code,
        "classType": "scheduled",
        "location": "Room 19",
        "schoolSourcedId": "org-1",
        "termSourcedIds": "term-fall-2026",
        "subjects": "mathematics",
        "periods": "1",
    }


def person(sourced_id: str, given: str, family: str, username: str = "") -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "enabledUser": "true",
        "username": username or sourced_id,
        "userIds": f"{{LDAP:{sourced_id}}}",
        "givenName": given,
        "familyName": family,
        "identifier": sourced_id.upper(),
        "email": f"{username or sourced_id}@example.edu",
        "primaryOrgSourcedId": "org-1",
    }


def enrollment(class_id: str, user_id: str, role: str = "student", **extra: str) -> dict[str, str]:
    return {
        "sourcedId": f"enr-{class_id}-{user_id}",
        "classSourcedId": class_id,
        "schoolSourcedId": "org-1",
        "userSourcedId": user_id,
        "role": role,
        "primary": "true" if role == "teacher" else "false",
        "beginDate": "2026-08-15",
        "endDate": "2026-12-20",
        **extra,
    }


def demographics(user_id: str, sex: str, birth: str, **flags: str) -> dict[str, str]:
    return {
        "sourcedId": user_id,
        "birthDate": birth,
        "sex": sex,
        "asian": "false",
        "white": "false",
        "hispanicOrLatinoEthnicity": "false",
        "countryOfBirthCode": "US",
        **flags,
    }


def school(students: Sequence[tuple[str, str, str]], rosters: Mapping[str, Sequence[str]]) -> BundleFiles:
    """A school's bundle: the term, the course, a class per roster (`MATH101A` -> its students'
    ids), teacher `t-1` (username `jsmith`) in every class, and each student's demographics."""
    classes = [school_class(f"class-{code.lower()}", code, f"Math 101 {code[-1]}") for code in rosters]
    users = [person(sid, given, family) for sid, given, family in students]
    users.append(person("t-1", "John", "Smith", "jsmith"))
    enrollments = [enrollment(f"class-{code.lower()}", "t-1", "teacher") for code in rosters]
    enrollments += [
        enrollment(f"class-{code.lower()}", sid) for code, sids in rosters.items() for sid in sids
    ]
    sexes = ("female", "male", "other")
    return BundleFiles(
        rows={
            "orgs": [ORG],
            "academicSessions": [TERM],
            "courses": [COURSE],
            "classes": classes,
            "users": users,
            "enrollments": enrollments,
            "demographics": [
                demographics(
                    sid, sexes[i % 3], f"2010-0{1 + i % 9}-1{i % 10}", asian="true" if i % 2 else "false"
                )
                for i, (sid, _, _) in enumerate(students)
            ],
        }
    )


def university_rows(users: int, classes: int) -> dict[str, list[list[str]]]:
    """A university's bundle, every file's rows in the specification's column order (empty cells
    where not given): `users` users, 1 in 100 a teacher, each class taught by one, every student
    in two classes, a demographics row per student; a term and a course. Rows as lists: 400,000
    of them are a benchmark's, or a test's at scale."""
    columns = {kind: HEADERS[kind].split(",") for kind in HEADERS}

    def row(kind: str, **cells: str) -> list[str]:
        return [cells.get(c, "") for c in columns[kind]]

    teachers = [f"t{i:06d}" for i in range(users // 100)]
    students = [f"s{i:07d}" for i in range(users - len(teachers))]
    rows: dict[str, list[list[str]]] = {
        "academicSessions": [
            row(
                "academicSessions",
                sourcedId="term-1",
                title="Fall 2026",
                type="term",
                startDate="2026-08-15",
                endDate="2026-12-20",
                schoolYear="2027",
            )
        ],
        "courses": [row("courses", sourcedId="course-1", title="Course 1", orgSourcedId="org-1")],
        "classes": [
            row(
                "classes",
                sourcedId=f"class-{c:05d}",
                title=f"Class {c}",
                courseSourcedId="course-1",
                classCode=f"C{c:05d}",
                classType="scheduled",
                schoolSourcedId="org-1",
                termSourcedIds="term-1",
            )
            for c in range(classes)
        ],
        "users": [
            row(
                "users",
                sourcedId=u,
                enabledUser="true",
                username=u,
                givenName="Given",
                familyName=f"Family {u}",
            )
            for u in (*students, *teachers)
        ],
        "enrollments": [
            row(
                "enrollments",
                sourcedId=f"e-{c}-{t}",
                classSourcedId=f"class-{c:05d}",
                schoolSourcedId="org-1",
                userSourcedId=t,
                role="teacher",
            )
            for c, t in ((c, teachers[c % len(teachers)]) for c in range(classes))
        ]
        + [
            row(
                "enrollments",
                sourcedId=f"e-{k}-{s}",
                classSourcedId=f"class-{(i * 2 + k * 7) % classes:05d}",
                schoolSourcedId="org-1",
                userSourcedId=s,
                role="student",
            )
            for i, s in enumerate(students)
            for k in range(2)
        ],
        "demographics": [
            row(
                "demographics",
                sourcedId=s,
                birthDate=f"2005-0{1 + i % 9}-1{i % 10}",
                sex=("female", "male", "other")[i % 3],
                asian="true" if i % 4 == 0 else "false",
            )
            for i, s in enumerate(students)
        ],
    }
    return rows


def write_rows_zip(path: Path, rows: dict[str, list[list[str]]]) -> Path:
    """The rows as a zipped bundle, with its manifest (`bulk` for each file given)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for kind, kind_rows in rows.items():
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(HEADERS[kind].split(","))
            writer.writerows(kind_rows)
            archive.writestr(f"{kind}.csv", out.getvalue())
        modes = {kind: "bulk" for kind in rows}
        manifest = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
        manifest += [
            (f"file.{k}", modes.get(k, "absent"))
            for k in (
                "academicSessions",
                "classes",
                "courses",
                "demographics",
                "enrollments",
                "orgs",
                "users",
            )
        ]
        archive.writestr(
            "manifest.csv", "propertyName,value\r\n" + "".join(f"{k},{v}\r\n" for k, v in manifest)
        )
    return path
