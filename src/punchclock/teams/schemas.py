"""OpenAPI shapes of the team views and form."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from punchclock.activities.schemas import ActivityEmbedded
from punchclock.customers.schemas import CustomerEmbedded
from punchclock.entities.schemas import Shape, TeamRef, UserRef
from punchclock.projects.schemas import ProjectEmbedded

TeamCollection = TeamRef


class TeamMember(Shape):
    user: UserRef
    teamlead: bool


class TeamEntity(TeamRef):
    members: list[TeamMember]
    customers: list[CustomerEmbedded]
    projects: list[ProjectEmbedded]
    activities: list[ActivityEmbedded]


# Inline, as request bodies are documented without shared components.
_MEMBER: JsonDict = {
    "type": "object",
    "properties": {
        "user": {"type": "integer", "description": "A user id (an enabled user you may see, or a member)"},
        "teamlead": {
            "type": "boolean",
            "default": False,
            "description": 'false, 0, "0", "false", "", null: no',
        },
    },
    "required": ["user"],
}


class TeamForm(BaseModel):
    """Kimai's team form. On POST absent fields are submitted empty; on PATCH ``members`` replaces
    the whole list. At least one member, and at least one team lead."""

    name: str = Field(min_length=2, max_length=100, description='Unique; none of < > " =')
    color: str | None = Field(None, description="One of GET /api/config/colors")
    members: list[dict[str, Any]] = Field(json_schema_extra={"items": _MEMBER})
