"""Every table (SQLAlchemy 2), a module a domain; all imported here, so that the metadata (and
Alembic) sees them all. Tables import nothing of the service but `db` and `roles`."""

from studentgroups.db import Base
from studentgroups.tables.audit import AuditEvent
from studentgroups.tables.clusters import StudentCluster
from studentgroups.tables.console import ConsoleSession, SignInLink
from studentgroups.tables.enrolment import EnrolmentPolicy, WaitlistEntry
from studentgroups.tables.formations import SavedFormation
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.instances import ApiKey, Instance, User
from studentgroups.tables.lti import LtiAccount, LtiContext, LtiLogin, LtiPlatform, LtiToolKey
from studentgroups.tables.modules import Module, ModuleStaff
from studentgroups.tables.results import Result
from studentgroups.tables.students import Student

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "ConsoleSession",
    "EnrolmentPolicy",
    "Group",
    "Instance",
    "LtiAccount",
    "LtiContext",
    "LtiLogin",
    "LtiPlatform",
    "LtiToolKey",
    "Membership",
    "Module",
    "ModuleStaff",
    "Result",
    "SavedFormation",
    "SignInLink",
    "Student",
    "StudentCluster",
    "User",
    "WaitlistEntry",
]
