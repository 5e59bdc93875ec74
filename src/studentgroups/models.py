"""Every table, imported in one place so that metadata (and Alembic) sees them all."""

from studentgroups.audit.models import AuditEvent
from studentgroups.clusters.models import StudentCluster
from studentgroups.db import Base
from studentgroups.enrolment.models import EnrolmentPolicy, WaitlistEntry
from studentgroups.formations.models import SavedFormation
from studentgroups.groups.models import Group, Membership
from studentgroups.instances.models import ApiKey, Instance, User
from studentgroups.modules.models import Module, ModuleStaff
from studentgroups.results.models import Result
from studentgroups.students.models import Student

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "EnrolmentPolicy",
    "Group",
    "Instance",
    "Membership",
    "Module",
    "ModuleStaff",
    "Result",
    "SavedFormation",
    "Student",
    "StudentCluster",
    "User",
    "WaitlistEntry",
]
