"""Form fields that customers, projects and activities share, and the permission rules for them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from punchclock.auth.permissions import Caller
from punchclock.entities.kinds import voter_teams
from punchclock.entities.service import MAX_ID
from punchclock.kimai.colors import COLOR_CHOICES
from punchclock.kimai.forms import (
    INVALID_CHOICE,
    Field,
    FieldError,
    between,
    checkbox,
    choice,
    duration,
    id_list,
    length,
    money,
    not_blank,
    text,
)
from punchclock.teams.models import Team

# What a new customer, project or activity is before its form is applied.
LISTED_DEFAULTS: dict[str, Any] = {"visible": True, "billable": True, "budget": 0.0, "time_budget": 0}

MAX_BUDGET = 900_000_000_000
MAX_TIME_BUDGET = 2_145_600_000


def name_field(maximum: int = 150) -> Field:
    return Field("name", text, (not_blank, length(2, maximum)))


COLOR_FIELD = Field("color", choice(frozenset(COLOR_CHOICES.values())))
"""A configured colour, matched exactly (Kimai does not keep a stored colour outside the palette)."""


def budget_form_fields(*, money_allowed: bool, time_allowed: bool) -> tuple[Field, ...]:
    fields: list[Field] = []
    if money_allowed:
        fields.append(Field("budget", money, (between(0, MAX_BUDGET),)))
    if time_allowed:
        fields.append(Field("timeBudget", duration, (between(0, MAX_TIME_BUDGET),)))
    if money_allowed or time_allowed:
        fields.append(Field("budgetType", choice(("month",))))
    return tuple(fields)


def flag_fields() -> tuple[Field, ...]:
    return (Field("visible", checkbox), Field("billable", checkbox))


def teams_field(session: Session, caller: Caller) -> Field:
    """Teams on creation: admins may pick any team, others only teams they lead."""

    def parse(raw: Any) -> list[Team]:
        ids = id_list(raw)
        if not ids:
            return []
        known = [i for i in ids if i <= MAX_ID]
        teams = list(session.scalars(select(Team).where(Team.id.in_(known))))
        allowed = [t for t in teams if caller.sees_all or t.id in caller.lead_team_ids]
        if len(allowed) != len(set(ids)):
            raise FieldError(INVALID_CHOICE)
        return allowed

    return Field("teams", parse)


def shared_fields(session: Session, caller: Caller, kind: str, entity: Any) -> tuple[Field, ...]:
    """How every listed kind's form ends: teams (new entities only), colour, the budgets the caller
    may set on this entity (the voter's teams decide), visible and billable."""
    teams = voter_teams(kind, entity) if entity is not None else set()
    fields = [] if entity is not None else [teams_field(session, caller)]
    fields.append(COLOR_FIELD)
    fields += budget_form_fields(
        money_allowed=caller.may("budget", kind, teams), time_allowed=caller.may("time", kind, teams)
    )
    return (*fields, *flag_fields())


def budget_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """Nulls submitted to budget fields mean zero, as Kimai's entities store them."""
    if "budget" in values and values["budget"] is None:
        values["budget"] = 0.0
    if "time_budget" in values and values["time_budget"] is None:
        values["time_budget"] = 0
    return values
