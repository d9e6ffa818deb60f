"""Tag JSON view."""

from __future__ import annotations

from typing import Any

from punchclock.entities.render import color_fields, modified_at
from punchclock.tags.models import Tag


def entity(t: Tag) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "visible": t.visible,
        **color_fields(t.color, t.name),
        "modifiedAt": modified_at(t),
    }
