"""OpenAPI shapes of the tag views and form."""

from __future__ import annotations

from pydantic import BaseModel, Field

from punchclock.entities.schemas import Colored, Modified


class TagEntity(Colored, Modified):
    id: int
    name: str
    visible: bool


class TagForm(BaseModel):
    """Kimai's tag form. As for every POST of tags, an absent ``visible`` means false (a hidden tag)."""

    name: str = Field(min_length=2, max_length=100, description='Unique; no comma and none of < > " =')
    color: str | None = Field(None, description="One of GET /api/config/colors")
    visible: bool = Field(False, description="Send true: absent means a hidden tag, as in Kimai")
