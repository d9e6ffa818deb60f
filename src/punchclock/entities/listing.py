"""Lists read with SQLAlchemy Core: the filtered rows in one query, then each kind of side data
(teams, custom fields) in one query for the whole list, keyed by owner.

ORM objects cost ~35 µs each to build and every relationship a query of its own; lists hand the
render functions plain records with the same attribute names instead.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from punchclock.teams.models import Team

Record = SimpleNamespace
Query = TypeVar("Query", bound=Select[Any])


def ids_of(query: Select[Any], id_column: Any) -> Select[Any]:
    """The ids the list query selects, unordered, for side-data queries to filter on."""
    return query.with_only_columns(id_column).order_by(None)


def changed_since(query: Query, modified_at: Any, since: dt.datetime | None) -> Query:
    """The ``modified_after`` extension: rows changed at or after ``since`` (all rows without it)."""
    return query if since is None else query.where(modified_at >= since)


def team_refs(session: Session, owner: Any, owner_ids: Select[Any] | list[int]) -> Mapping[int, list[Any]]:
    """Teams per owner from a link table column (``TeamCustomer.customer_id`` …), ordered by name."""
    link = owner.class_
    query = (
        select(owner.label("owner"), Team.id, Team.name, Team.color, Team.modified_at)
        .join(Team, Team.id == link.team_id)
        .where(owner.in_(owner_ids))
        .order_by(Team.name)
    )
    grouped: defaultdict[int, list[Any]] = defaultdict(list)
    for row in session.execute(query):
        grouped[row.owner].append(row)
    return grouped


def visible_meta(session: Session, meta_model: Any, owner_ids: Select[Any]) -> Mapping[int, list[Any]]:
    query = (
        select(meta_model.entity_id, meta_model.id, meta_model.name, meta_model.value, meta_model.visible)
        .where(meta_model.entity_id.in_(owner_ids), meta_model.visible.is_(True))
        .order_by(meta_model.id)
    )
    grouped: defaultdict[int, list[Any]] = defaultdict(list)
    for row in session.execute(query):
        grouped[row.entity_id].append(row)
    return grouped


def record(row: Any, **extra: Any) -> Record:
    return Record(**row._asdict(), **extra)
