"""Activity JSON views. Collection and entity are the same; expanded views nest the project.

Each view takes an ORM object or a listing record with the same attributes.
"""

from __future__ import annotations

from typing import Any

from punchclock.auth.permissions import Caller
from punchclock.entities.render import budget_fields, color_fields, meta_fields, modified_at, team_ref
from punchclock.projects import render as project_render


def embedded(a: Any) -> dict[str, Any]:
    """The base fields, ``project`` as its id or null (inside teams)."""
    return {
        "id": a.id,
        "name": a.name,
        "project": a.project_id,
        "number": a.number,
        "comment": a.comment,
        "visible": a.visible,
        "billable": a.billable,
        "metaFields": meta_fields(a),
        **color_fields(a.color, a.name),
        "modifiedAt": modified_at(a),
    }


def expanded(a: Any) -> dict[str, Any]:
    """Inside expanded timesheets: the project as an object (with its customer), or null."""
    view = embedded(a)
    view["project"] = project_render.expanded(a.project) if a.project is not None else None
    return view


def entity(a: Any, caller: Caller) -> dict[str, Any]:
    view = embedded(a)
    view["parentTitle"] = a.project.name if a.project is not None else None
    view["teams"] = [team_ref(t) for t in a.teams]
    view.update(budget_fields(caller, "activity", a))
    return view


collection = entity
