"""Team JSON views."""

from __future__ import annotations

from typing import Any

from punchclock.activities import render as activity_render
from punchclock.customers import render as customer_render
from punchclock.entities.render import team_ref
from punchclock.projects import render as project_render
from punchclock.teams.models import Team
from punchclock.users import render as user_render
from punchclock.users.models import User

collection = team_ref


def entity(
    team: Team,
    *,
    members: list[tuple[User, bool]],
    customers: list[Any],
    projects: list[Any],
    activities: list[Any],
) -> dict[str, Any]:
    """With members (users as embedded everywhere) and the entities the team has access to, each
    in its embedded view (a project's customer and an activity's project as ids)."""
    view = team_ref(team)
    view.update(
        {
            "members": [{"user": user_render.collection(user), "teamlead": lead} for user, lead in members],
            "customers": [customer_render.embedded(c) for c in customers],
            "projects": [project_render.embedded(p) for p in projects],
            "activities": [activity_render.embedded(a) for a in activities],
        }
    )
    return view
