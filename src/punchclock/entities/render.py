"""Pieces of the JSON views that customers, projects and activities share."""

from __future__ import annotations

from functools import partial
from typing import Any

from punchclock.auth.permissions import Caller
from punchclock.entities.kinds import voter_teams
from punchclock.kimai.colors import safe_color, visible_color
from punchclock.kimai.datetimes import format_datetime
from punchclock.teams.models import Team


def color_fields(color: str | None, name: str) -> dict[str, Any]:
    return {"color": visible_color(color), "color-safe": safe_color(color, name)}


def modified_at(entity: Any) -> str | None:
    """Extension: when ``entity`` last changed, in UTC (every view of every kind carries it)."""
    return format_datetime(entity.modified_at, "UTC")


def team_ref(team: Team) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        **color_fields(team.color, team.name),
        "modifiedAt": modified_at(team),
    }


def meta_fields(entity: Any) -> list[dict[str, Any]]:
    return [
        {"name": row.name, "value": row.value}
        for row in sorted(entity.meta, key=lambda r: r.id)
        if row.visible
    ]


def budget_fields(caller: Caller, kind: str, entity: Any) -> dict[str, Any]:
    """``budget``/``timeBudget``/``budgetType``, each present only when the caller may see it."""
    teams = partial(voter_teams, kind, entity)  # only computed for callers without the plain permission
    money = caller.may("budget", kind, teams)
    time = caller.may("time", kind, teams)
    fields: dict[str, Any] = {}
    if money:
        fields["budget"] = float(entity.budget)
    if time:
        fields["timeBudget"] = int(entity.time_budget)
    if money or time:
        fields["budgetType"] = entity.budget_type
    return fields
