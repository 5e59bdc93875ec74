"""Group types and access levels, as LumiNUS numbers them, with the names we show."""

from __future__ import annotations

from enum import IntEnum


class GroupType(IntEnum):
    """LumiNUS `groupType`; 3 to 9, 11, 12 and 20 are undocumented upstream and refused."""

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
    """LumiNUS `groupAccess` (undocumented upstream; defined here).

    Module managers (admin keys, the module's creator, its staff) always view and manage.
    0 staff only: nobody else sees the group.
    1 members view: the group's members see it and its members.
    2 module view: every student of the module, and every key of the instance, sees it.
    3 members manage: as 2, and the group's members may also manage its membership.
    """

    STAFF_ONLY = 0
    MEMBERS_VIEW = 1
    MODULE_VIEW = 2
    MEMBERS_MANAGE = 3


ACCESS_DESCRIPTION = (GroupAccess.__doc__ or "").strip()
