"""Project JSON views. Collection and entity are the same; expanded views nest the customer.

Each view takes an ORM object or a listing record with the same attributes.
"""

from __future__ import annotations

from typing import Any

from punchclock.auth.permissions import Caller
from punchclock.customers import render as customer_render
from punchclock.entities.render import budget_fields, color_fields, meta_fields, modified_at, team_ref
from punchclock.kimai.datetimes import format_date


def embedded(p: Any) -> dict[str, Any]:
    """The base fields, ``customer`` as its id (inside teams)."""
    return {
        "id": p.id,
        "name": p.name,
        "customer": p.customer_id,
        "number": p.number,
        "orderNumber": p.order_number,
        "orderDate": format_date(p.order_date, p.timezone),
        "start": format_date(p.start, p.timezone),
        "end": format_date(p.end, p.timezone),
        "comment": p.comment,
        "visible": p.visible,
        "billable": p.billable,
        "globalActivities": p.global_activities,
        # Newer Kimai versions have it; Punchclock has no project locks yet.
        "lockedUntil": None,
        "metaFields": meta_fields(p),
        **color_fields(p.color, p.name),
        "modifiedAt": modified_at(p),
    }


def expanded(p: Any) -> dict[str, Any]:
    """Inside expanded activities and timesheets: the customer as an object."""
    view = embedded(p)
    view["customer"] = customer_render.embedded(p.customer)
    return view


def entity(p: Any, caller: Caller) -> dict[str, Any]:
    view = embedded(p)
    view["parentTitle"] = p.customer.name
    view["teams"] = [team_ref(t) for t in p.teams]
    view.update(budget_fields(caller, "project", p))
    return view


collection = entity
