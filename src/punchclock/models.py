"""Imports every model so ``Base.metadata`` is complete (Alembic, tests)."""

from punchclock.activities.models import Activity, ActivityMeta, ActivityRate
from punchclock.customers.models import Customer, CustomerComment, CustomerMeta, CustomerRate
from punchclock.db import Base
from punchclock.entities.models import MetaFieldDefinition
from punchclock.ext.bulk.models import ExternalId
from punchclock.ext.changes.models import ChangeLogEntry, ChangeLogState
from punchclock.ext.idempotency.models import IdempotencyKey
from punchclock.invoices.models import Invoice, InvoiceMeta, InvoiceTimesheet
from punchclock.projects.models import Project, ProjectComment, ProjectMeta, ProjectRate
from punchclock.tags.models import Tag
from punchclock.teams.models import Team, TeamActivity, TeamCustomer, TeamMember, TeamProject
from punchclock.timesheets.models import Timesheet, TimesheetFavorite, TimesheetMeta, TimesheetTag
from punchclock.users.models import ApiToken, User, UserPreference

metadata = Base.metadata

__all__ = [
    "Activity",
    "ActivityMeta",
    "ActivityRate",
    "ApiToken",
    "Base",
    "ChangeLogEntry",
    "ChangeLogState",
    "Customer",
    "CustomerComment",
    "CustomerMeta",
    "CustomerRate",
    "ExternalId",
    "IdempotencyKey",
    "Invoice",
    "InvoiceMeta",
    "InvoiceTimesheet",
    "MetaFieldDefinition",
    "Project",
    "ProjectComment",
    "ProjectMeta",
    "ProjectRate",
    "Tag",
    "Team",
    "TeamActivity",
    "TeamCustomer",
    "TeamMember",
    "TeamProject",
    "Timesheet",
    "TimesheetFavorite",
    "TimesheetMeta",
    "TimesheetTag",
    "User",
    "UserPreference",
    "metadata",
]
