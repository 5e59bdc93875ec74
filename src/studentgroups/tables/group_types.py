"""Group types and access levels, as LumiNUS numbers them, with the names we show."""

from __future__ import annotations

import inspect
from enum import IntEnum


class GroupType(IntEnum):
    """LumiNUS `groupType` (its `groupTypeName` in brackets): 1 [Class Group], 2 [Student Roster],
    10 [Guest Group], 21 [Lecture], 22 [Tutorial], 23 [Laboratory], 24 [Sectional], 25 [Ensemble],
    26 [Independent], 27 [Others], 28 [Mini Project], 29 [Recitation], 30 [Seminar],
    31 [Supervision], 32 [Workshop]. 3 to 9, 11, 12 and 20 are undocumented upstream and refused.
    """

    CLASS_GROUP = 1
    STUDENT_ROSTER = 2
    GUEST_GROUP = 10
    LECTURE = 21
    TUTORIAL = 22
    LABORATORY = 23
    SECTIONAL = 24
    ENSEMBLE = 25
    INDEPENDENT = 26
    OTHERS = 27
    MINI_PROJECT = 28
    RECITATION = 29
    SEMINAR = 30
    SUPERVISION = 31
    WORKSHOP = 32

    @property
    def display_name(self) -> str:
        """LumiNUS `groupTypeName`."""
        return GROUP_TYPE_NAMES[self]


GROUP_TYPE_NAMES = {
    GroupType.CLASS_GROUP: "Class Group",
    GroupType.STUDENT_ROSTER: "Student Roster",
    GroupType.GUEST_GROUP: "Guest Group",
    GroupType.LECTURE: "Lecture",
    GroupType.TUTORIAL: "Tutorial",
    GroupType.LABORATORY: "Laboratory",
    GroupType.SECTIONAL: "Sectional",
    GroupType.ENSEMBLE: "Ensemble",
    GroupType.INDEPENDENT: "Independent",
    GroupType.OTHERS: "Others",
    GroupType.MINI_PROJECT: "Mini Project",
    GroupType.RECITATION: "Recitation",
    GroupType.SEMINAR: "Seminar",
    GroupType.SUPERVISION: "Supervision",
    GroupType.WORKSHOP: "Workshop",
}


class GroupAccess(IntEnum):
    """LumiNUS `groupAccess`: who may view and who may manage a module's group (undocumented
    upstream; defined here, enforced on both surfaces by `groups.access`).

    The module's managers (admin keys; its creator and its staff, with keys that may write)
    always view and manage every group of the module. Beyond them:
    0 staff only: nobody else sees the group.
    1 members view: learners in the group see it and its members (a learner is a key whose
    user was linked to a student with `student_uid`).
    2 module view: as 1, and every learner on the module's roster or guests, and every key of the
    instance that is not a learner's, sees it.
    3 members manage: as 2, and learners in the group set its members, with a key that may write.
    Groups not of a module (Domoscio's) are open to the whole instance. Otherwise: 403.
    """

    STAFF_ONLY = 0
    MEMBERS_VIEW = 1
    MODULE_VIEW = 2
    MEMBERS_MANAGE = 3


ACCESS_DESCRIPTION = inspect.cleandoc(GroupAccess.__doc__ or "")
