"""Kimai's timesheet voter and the team rules of timesheet lists.

On one's own record a permission ``<perm>_own_timesheet`` decides. On someone else's the caller
also needs team access: the record's project and activity open to the caller, and the owner in a
team the caller leads, or in no team at all; then ``<perm>_other_timesheet`` decides.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from punchclock.activities.models import Activity
from punchclock.auth.permissions import Caller
from punchclock.projects.models import Project
from punchclock.teams.models import TeamActivity, TeamCustomer, TeamMember, TeamProject
from punchclock.timesheets.models import Timesheet
from punchclock.timesheets.rules import activity_open, project_open

# Attribute -> the permission stem it checks (``duplicate`` creates a record).
_STEM = {"duplicate": "create"}


def usable(caller: Caller, project: Project | None, activity: Activity | None, *, required: bool) -> bool:
    """Kimai's create/start precondition: project (with customer) and activity visible and open to the
    caller; ``required``: both must be set (starting needs them, creating checks what is given)."""
    if required and (activity is None or project is None):
        return False
    if activity is not None and not (activity.visible and activity_open(caller, activity)):
        return False
    return project is None or (project.visible and project.customer.visible and project_open(caller, project))


def leads_owner(session: Session, caller: Caller, owner_id: int) -> bool:
    """The owner is in a team the caller leads, or in no team (admins: always)."""
    if caller.sees_all:
        return True
    teams = set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == owner_id)))
    return not teams or bool(teams & caller.lead_team_ids)


def may(session: Session, caller: Caller, attribute: str, ts: Timesheet) -> bool:
    if attribute in ("start", "duplicate") and not usable(caller, ts.project, ts.activity, required=True):
        return False
    if attribute == "create" and not usable(caller, ts.project, ts.activity, required=False):
        return False
    if attribute in ("edit", "delete") and ts.exported and not caller.can("edit_exported_timesheet"):
        return False
    stem = _STEM.get(attribute, attribute)
    if ts.user_id == caller.id:
        return caller.can(f"{stem}_own_timesheet")
    # A record being created may lack a project or activity (an invalid choice): Kimai skips that check.
    if not caller.sees_all and not (
        (ts.project is None or project_open(caller, ts.project))
        and (ts.activity is None or activity_open(caller, ts.activity))
        and leads_owner(session, caller, ts.user_id)
    ):
        return False
    return caller.can(f"{stem}_other_timesheet")


def led_users(session: Session, caller: Caller) -> list[int]:
    """Members of the teams the caller leads."""
    if not caller.lead_team_ids:
        return []
    return list(
        session.scalars(
            select(TeamMember.user_id).where(TeamMember.team_id.in_(caller.lead_team_ids)).distinct()
        )
    )


def users_without_team(candidates: Iterable[int]) -> ColumnElement[bool]:
    ids = list(candidates)
    return and_(Timesheet.user_id.in_(ids), not_(exists().where(TeamMember.user_id == Timesheet.user_id)))


def team_filter(session: Session, caller: Caller) -> list[ColumnElement[bool]]:
    """SQL for Kimai's list rule: a record whose customer, project or activity is given to teams is
    listed only to members of one of them (admins see everything). Kinds nobody restricted cost nothing."""
    if caller.sees_all:
        return []
    clauses: list[ColumnElement[bool]] = []
    teams = list(caller.team_ids)
    # The customer is reached through the record's project (in the subquery, correlated to the record).
    of_customer = and_(TeamCustomer.customer_id == Project.customer_id, Project.id == Timesheet.project_id)
    for link, match in (
        (TeamCustomer, of_customer),
        (TeamProject, TeamProject.project_id == Timesheet.project_id),
        (TeamActivity, TeamActivity.activity_id == Timesheet.activity_id),
    ):
        if session.scalar(select(exists().select_from(link))):
            open_ = not_(exists().where(match))
            clauses.append(or_(open_, exists().where(match, link.team_id.in_(teams))) if teams else open_)
    return clauses
