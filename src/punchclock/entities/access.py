"""Kimai's team rule, in SQL for lists and in Python for single entities: an entity without teams
is open to everybody, one with teams only to their members (admins see everything)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, exists, not_, or_, select
from sqlalchemy.orm import Session

from punchclock.auth.permissions import Caller
from punchclock.entities.kinds import ACTIVITY, PROJECT, Kind
from punchclock.entities.listing import team_refs
from punchclock.entities.service import MAX_ID, find
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.forms import INVALID_CHOICE, FieldError, integer_id
from punchclock.teams.models import TeamCustomer, TeamProject


def open_to(caller: Caller, link_owner: Any, owner_id: Any) -> ColumnElement[bool]:
    """SQL: the owner (``owner_id``) has no link rows in the team link table, or one of the caller's teams.

    ``link_owner`` is the link table's owner column, e.g. ``TeamCustomer.customer_id``.
    """
    link = link_owner.class_
    return or_(
        not_(exists().where(link_owner == owner_id)),
        exists().where(link_owner == owner_id, link.team_id.in_(caller.team_ids)),
    )


def has_access(caller: Caller, kind: str, entity: Any) -> bool:
    """Kimai's ``access``: the entity's teams open to the caller, and those of its parents (a project's
    customer; an activity's project and that project's customer)."""
    if caller.sees_all:
        return True
    if (
        kind == ACTIVITY.name
        and entity.project is not None
        and not has_access(caller, PROJECT.name, entity.project)
    ):
        return False
    groups = [entity.teams] + ([entity.customer.teams] if kind == PROJECT.name else [])
    return all(caller.shares_team(team.id for team in group) for group in groups)


def check_filter_access(session: Session, caller: Caller, kind: Kind, ids: list[int]) -> dict[int, Any]:
    """The filter ids that exist, with their rows; one the caller may not access is 403. Unknown ids
    are dropped, as in Kimai, so alone they filter nothing."""
    wanted = [i for i in dict.fromkeys(ids) if 0 < i <= MAX_ID]
    if not wanted:
        return {}
    table = kind.model.__table__
    rows = {row.id: row for row in session.execute(select(table).where(table.c.id.in_(wanted)))}
    if rows and not caller.sees_all:
        is_project = kind is PROJECT
        link = TeamProject.project_id if is_project else TeamCustomer.customer_id
        own = team_refs(session, link, list(rows))
        owners = [row.customer_id for row in rows.values()] if is_project else []
        parents = team_refs(session, TeamCustomer.customer_id, owners) if owners else {}
        for entity_id, row in rows.items():
            groups = [own.get(entity_id, [])] + ([parents.get(row.customer_id, [])] if is_project else [])
            if not all(caller.shares_team(team.id for team in group) for group in groups):
                raise Forbidden()
    return rows


def parent_choice(
    session: Session, caller: Caller, kind: Kind, current: int | None
) -> Callable[[Any], int | None]:
    """A form field choosing the parent (a project's customer, an activity's project): visible, with
    visible parents, open to the caller; the current parent stays allowed whatever its state."""

    def parse(raw: Any) -> int | None:
        parent_id = integer_id(raw)
        if parent_id is None:
            return None
        parent = find(session, kind.model, parent_id)
        if parent is None:
            raise FieldError(INVALID_CHOICE)
        usable = parent.visible and (kind is not PROJECT or parent.customer.visible)
        if parent_id != current and not (usable and has_access(caller, kind.name, parent)):
            raise FieldError(INVALID_CHOICE)
        return parent_id

    return parse
