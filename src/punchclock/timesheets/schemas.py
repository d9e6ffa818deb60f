"""OpenAPI shapes of the timesheet views and form."""

from __future__ import annotations

from pydantic import BaseModel, Field

from punchclock.activities.schemas import ActivityExpanded
from punchclock.entities.schemas import MetaField, Shape, UserRef
from punchclock.projects.schemas import ProjectExpanded

DATETIME = "Y-m-d\\TH:i:sO in the record's timezone"


class _TimesheetBase(Shape):
    id: int
    begin: str = Field(description=DATETIME)
    end: str | None = Field(description=DATETIME + "; null while running")
    duration: int = Field(description="Seconds (0 while running)")
    break_: int = Field(alias="break", description="Seconds")
    description: str | None
    tags: list[str] = Field(description="Tag names")
    exported: bool
    billable: bool
    metaFields: list[MetaField]
    modifiedAt: str = Field(description="Extension: the last change, in UTC (Y-m-d\\TH:i:sO)")
    rate: float = Field(0.0, description="Only with the permission to see this record's rates")
    internalRate: float | None = Field(None, description="Only with the permission to see rates")


class TimesheetCollection(_TimesheetBase):
    activity: int
    project: int
    user: int


class TimesheetEntity(TimesheetCollection):
    fixedRate: float | None = Field(None, description="Only with the permission to see rates")
    hourlyRate: float | None = Field(None, description="Only with the permission to see rates")


class TimesheetCollectionExpanded(_TimesheetBase):
    activity: ActivityExpanded
    project: ProjectExpanded
    user: UserRef


class TimesheetEntityExpanded(TimesheetCollectionExpanded):
    fixedRate: float | None = Field(None, description="Only with the permission to see rates")
    hourlyRate: float | None = Field(None, description="Only with the permission to see rates")


class TimesheetForm(BaseModel):
    """Kimai's timesheet form. Fields a permission withholds are extra fields (400) for the caller."""

    begin: str | None = Field(
        None,
        description="Y-m-dTH:i[:s], an offset (Z, +02:00) is honoured; without one the time is read in "
        "your timezone (POST) or the record's (PATCH). Default on POST: now",
    )
    end: str | None = Field(None, description="As begin; empty for a running record")
    project: int = Field(description="Project id")
    activity: int = Field(description="Activity id (of the project, or global)")
    description: str | None = None
    tags: str | None = Field(
        None, description="Comma-separated tag names; unknown names are dropped (no tag is created)"
    )
    fixedRate: float | None = Field(None, description="With the edit_rate permission")
    hourlyRate: float | None = Field(None, description="With the edit_rate permission")
    user: int | None = Field(None, description="Owner: POST needs create_other_timesheet")
    exported: bool | None = Field(None, description="With the edit_export permission")
    billable: bool | None = Field(None, description="With the edit_billable permission")
    break_: str | None = Field(
        None, alias="break", description="Hours (0.5), H:MM or 30m; only when break time is enabled"
    )


class RestartForm(BaseModel):
    copy_: str | None = Field(
        None, alias="copy", description='"all" also copies description, tags and fields'
    )
    begin: str | None = Field(None, description="Y-m-dTH:i:s in your timezone (default: now)")


class TimesheetConfig(Shape):
    trackingMode: str
    defaultBeginTime: str
    activeEntriesHardLimit: int
    isAllowFutureTimes: bool
    isAllowOverlapping: bool
