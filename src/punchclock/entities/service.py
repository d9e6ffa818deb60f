"""Operations shared by customers, projects and activities: lookup, permission, delete, meta
fields, rates, comments, automatic numbers and Kimai's ``term`` search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.activities.models import Activity
from punchclock.auth.permissions import Caller
from punchclock.db import upsert, utcnow
from punchclock.entities.kinds import ACTIVITY, CUSTOMER, PROJECT, Entity, Kind, voter_teams
from punchclock.entities.models import MetaFieldDefinition
from punchclock.invoices.models import Invoice
from punchclock.kimai.datetimes import zone
from punchclock.kimai.errors import BadRequest, Forbidden, NotFound
from punchclock.kimai.forms import (
    INVALID_CHOICE,
    Field,
    FieldError,
    at_least,
    checkbox,
    fail,
    integer_id,
    money,
    not_blank,
    not_null,
    submit,
    text,
)
from punchclock.kimai.numbers import next_free_number
from punchclock.projects.models import Project
from punchclock.teams.models import TeamMember
from punchclock.timesheets.models import Timesheet
from punchclock.users.models import User

# Ids are 32-bit integers in the database: a larger one names no row (and PostgreSQL would refuse it).
MAX_ID = 2**31 - 1


def find(session: Session, model: Any, entity_id: int) -> Any:
    """The row with this id, or None."""
    return session.get(model, entity_id) if 0 < entity_id <= MAX_ID else None


def get_or_404(session: Session, kind: Kind, entity_id: int) -> Any:
    entity = find(session, kind.model, entity_id)
    if entity is None:
        raise NotFound()
    return entity


def require(caller: Caller, attribute: str, kind: Kind, entity: Entity) -> None:
    if not caller.may(attribute, kind.name, voter_teams(kind.name, entity)):
        raise Forbidden()


def load(session: Session, *, caller: Caller, kind: Kind, entity_id: int, attributes: Iterable[str]) -> Any:
    """The entity (404 first, as Kimai loads path entities before any permission check), then 403."""
    entity = get_or_404(session, kind, entity_id)
    for attribute in attributes:
        require(caller, attribute, kind, entity)
    return entity


def delete(session: Session, *, caller: Caller, kind: Kind, entity_id: int) -> None:
    """Delete with everything that hangs on it (the foreign keys cascade, as in Kimai); each
    removed customer, project, activity and timesheet is recorded as deleted."""
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("delete",))
    removed, owners = _cascade(session, kind, entity_id)
    session.delete(entity)
    session.flush()
    for name, ids in removed:
        for removed_id in ids:
            owner = owners.get(removed_id) if name == "timesheet" else None
            changes.record(session, entity=name, entity_id=removed_id, op="delete", owner_id=owner)


def _cascade(
    session: Session, kind: Kind, entity_id: int
) -> tuple[list[tuple[str, list[int]]], dict[int, int]]:
    """What deleting ``entity_id`` removes: itself, its projects, activities and timesheets (and a
    customer's invoices); plus the owner of each timesheet (its tombstone keeps it)."""
    projects = select(Project.id).where(Project.customer_id == entity_id)
    if kind is PROJECT:
        projects = select(literal(entity_id))
    activities = select(Activity.id).where(Activity.project_id.in_(projects))
    if kind is ACTIVITY:
        activities = select(literal(entity_id))
    timesheets = select(Timesheet.id, Timesheet.user_id).where(
        or_(Timesheet.activity_id.in_(activities), Timesheet.project_id.in_(projects))
    )
    found = [(kind.name, [entity_id])]
    if kind is CUSTOMER:
        found.append((PROJECT.name, list(session.scalars(projects))))
    if kind is not ACTIVITY:
        found.append((ACTIVITY.name, list(session.scalars(activities))))
    owners: dict[int, int] = {row.id: row.user_id for row in session.execute(timesheets)}
    found.append(("timesheet", list(owners)))
    if kind is CUSTOMER:
        found.append(
            ("invoice", list(session.scalars(select(Invoice.id).where(Invoice.customer_id == entity_id))))
        )
    return found, owners


# --- meta fields ---------------------------------------------------------------------------------


def declared_meta_fields(
    session: Session, *, entity_type: str, configured: dict[str, list[str]]
) -> dict[str, bool]:
    """Custom field name -> visible, from the settings and the database."""
    fields = {name: True for name in configured.get(entity_type, [])}
    rows = session.execute(
        select(MetaFieldDefinition.name, MetaFieldDefinition.visible).where(
            MetaFieldDefinition.entity_type == entity_type
        )
    )
    for name, visible in rows:
        fields[name] = visible
    return fields


def set_meta(
    session: Session,
    *,
    caller: Caller,
    kind: Kind,
    entity_id: int,
    data: Any,
    configured: dict[str, list[str]],
) -> Any:
    """Kimai's meta endpoint: ``name`` and ``value`` are both required body parameters (a missing
    one is 400 before the name is looked up); names match case-insensitively; unknown names are 404."""
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("edit",))
    if not isinstance(data, dict):
        raise BadRequest()
    name, value = data.get("name"), data.get("value")
    if not isinstance(name, str) or not isinstance(value, str):
        raise BadRequest()
    declared = declared_meta_fields(session, entity_type=kind.name, configured=configured)
    # A stored value stays settable even when its declaration was removed (as in Kimai).
    known = {row.name.lower(): (row.name, row.visible) for row in entity.meta}
    for declared_name, visible in declared.items():
        known.setdefault(declared_name.lower(), (declared_name, visible))
    if name.lower() not in known:
        raise NotFound()
    stored_name, visible = known[name.lower()]
    # One statement, so two first writes of the same field cannot collide.
    upsert(
        session,
        kind.meta_model.__table__,
        {
            "entity_id": entity_id,
            "name": stored_name,
            "value": value,
            "visible": visible,
            "modified_at": utcnow(),
        },
        keys=("entity_id", "name"),
        update=("value", "modified_at"),
    )
    session.expire(entity, ["meta"])
    touch(session, kind=kind, entity=entity)
    return entity


def touch(session: Session, *, kind: Kind, entity: Entity) -> None:
    """Mark ``entity`` modified (also when only a side table changed) and record the change."""
    entity.modified_at = utcnow()
    session.flush()
    changes.record(session, entity=kind.name, entity_id=entity.id, op="upsert")


# --- rates -----------------------------------------------------------------------------------------


def selectable_user(session: Session, caller: Caller, user_id: int) -> bool:
    """Kimai's user choice: enabled, non-system users; non-admins only themselves and their team members."""
    user = find(session, User, user_id)
    if user is None or not user.enabled or user.system_account:
        return False
    if caller.sees_all or user_id == caller.id:
        return True
    led = select(TeamMember.user_id).where(
        TeamMember.team_id.in_(caller.lead_team_ids), TeamMember.user_id == user_id
    )
    return session.scalar(select(exists(led))) or False


def _rate_fields(session: Session, caller: Caller) -> tuple[Field, ...]:
    def user_choice(raw: Any) -> int | None:
        user_id = integer_id(raw)
        if user_id is not None and not selectable_user(session, caller, user_id):
            raise FieldError(INVALID_CHOICE)
        return user_id

    return (
        Field("user", user_choice, attr="user_id"),
        # Absent means 0.0 as in Kimai; an explicit empty value is refused (Kimai fails with a 500 there).
        Field("rate", money, (not_blank, at_least(0))),
        Field("internalRate", money),  # no constraint in Kimai: negative internal rates are stored
        Field("isFixed", checkbox, attr="fixed"),
    )


def list_rates(session: Session, *, caller: Caller, kind: Kind, entity_id: int) -> list[Any]:
    load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("edit",))
    return list(session.scalars(_rates_query(kind, [entity_id])))


def rates_of(
    session: Session, *, caller: Caller, kind: Kind, entities: Iterable[Any]
) -> dict[int, list[Any]]:
    """``list_rates`` of many entities in one query, by entity id: only those whose rates the caller
    may read (the same rule), the others left out."""
    found: dict[int, list[Any]] = {
        e.id: [] for e in entities if caller.may("edit", kind.name, voter_teams(kind.name, e))
    }
    if found:
        for rate in session.scalars(_rates_query(kind, list(found))):
            found[rate.entity_id].append(rate)
    return found


def _rates_query(kind: Kind, entity_ids: list[int]) -> Any:
    rate = kind.rate_model
    return (
        select(rate)
        .outerjoin(User, User.id == rate.user_id)
        .where(rate.entity_id.in_(entity_ids))
        .order_by(User.alias.asc().nulls_first(), rate.id)
    )


def add_rate(session: Session, *, caller: Caller, kind: Kind, entity_id: int, data: Any) -> Any:
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("edit",))
    fields = _rate_fields(session, caller)
    rate = kind.rate_model

    def unique(merged: dict[str, Any]) -> dict[str, list[str]]:
        user_id = merged.get("user_id")
        same_user = rate.user_id.is_(None) if user_id is None else rate.user_id == user_id
        taken = session.scalar(select(exists().where(rate.entity_id == entity_id, same_user)))
        return {"user": ["This value is already used."]} if taken else {}

    defaults = {"user_id": None, "rate": 0.0, "internal_rate": None, "fixed": False}
    submission = submit(fields, data, current=defaults, clear_missing=False, extra_checks=unique)
    row = rate(entity_id=entity_id, **{**defaults, **submission.changes})
    try:
        with session.begin_nested():  # the unique index decides when two requests race
            session.add(row)
            session.flush()
    except IntegrityError:
        fail(fields, {"user": ["This value is already used."]})
    touch(session, kind=kind, entity=entity)
    return row


def delete_rate(session: Session, *, caller: Caller, kind: Kind, entity_id: int, rate_id: int) -> None:
    # Kimai's order: unknown entity or rate 404, then the permission, then another entity's rate 404.
    entity = get_or_404(session, kind, entity_id)
    row = find(session, kind.rate_model, rate_id)
    if row is None:
        raise NotFound()
    require(caller, "edit", kind, entity)
    if row.entity_id != entity_id:
        raise NotFound()
    session.delete(row)
    touch(session, kind=kind, entity=entity)


# --- comments --------------------------------------------------------------------------------------

_COMMENT_FIELDS = (
    Field("message", text, (not_null,)),
    Field("pinned", checkbox),
)


def list_comments(session: Session, *, caller: Caller, kind: Kind, entity_id: int) -> list[Any]:
    load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("view", "comments"))
    comment = kind.comment_model
    return list(
        session.scalars(
            select(comment)
            .where(comment.entity_id == entity_id)
            .order_by(comment.pinned.desc(), comment.created_at.desc(), comment.id.desc())
        )
    )


def add_comment(session: Session, *, caller: Caller, kind: Kind, entity_id: int, data: Any) -> Any:
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("view", "comments"))
    submission = submit(_COMMENT_FIELDS, data, current={"pinned": False}, clear_missing=False)
    values = {"pinned": False, **submission.changes}  # a submitted ``pinned`` replaces the default
    row = kind.comment_model(entity_id=entity_id, created_by_id=caller.id, **values)
    session.add(row)
    touch(session, kind=kind, entity=entity)
    return row


def _own_comment(session: Session, *, caller: Caller, kind: Kind, entity_id: int, comment_id: int) -> Any:
    """Kimai's order: both path entities 404, then the permissions, then another entity's comment 403."""
    entity = get_or_404(session, kind, entity_id)
    row = find(session, kind.comment_model, comment_id)
    if row is None:
        raise NotFound()
    for attribute in ("view", "edit", "comments"):
        require(caller, attribute, kind, entity)
    if row.entity_id != entity_id:
        raise Forbidden()
    return entity, row


def pin_comment(session: Session, *, caller: Caller, kind: Kind, entity_id: int, comment_id: int) -> Any:
    entity, row = _own_comment(session, caller=caller, kind=kind, entity_id=entity_id, comment_id=comment_id)
    comment = kind.comment_model
    # Toggled in SQL: two concurrent pins cancel out instead of one being lost.
    session.execute(update(comment).where(comment.id == row.id).values(pinned=not_(comment.pinned)))
    session.refresh(row)
    touch(session, kind=kind, entity=entity)
    return row


def delete_comment(session: Session, *, caller: Caller, kind: Kind, entity_id: int, comment_id: int) -> None:
    entity, row = _own_comment(session, caller=caller, kind=kind, entity_id=entity_id, comment_id=comment_id)
    session.delete(row)
    touch(session, kind=kind, entity=entity)


# --- numbers and search ------------------------------------------------------------------------------

# Each kind's own counter placeholder in a number format; another kind's counter stays literal text.
COUNTERS = {"customer": "cc", "project": "pc", "activity": "ac"}


def next_number(session: Session, *, kind: Kind, number_format: str, timezone: str) -> str | None:
    """Kimai's automatic number (see ``kimai.numbers``), skipping numbers in use; None for an empty
    format or when no free number turns up. Dates in the format are the caller's today."""
    model = kind.model
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent creates would otherwise pick the same number; SQLite writers are serialised anyway.
        session.execute(select(func.pg_advisory_xact_lock(_NUMBERING_LOCKS[kind.name])))
    count = session.scalar(select(func.count()).select_from(model)) or 0
    return next_free_number(
        number_format,
        count=count,
        today=dt.datetime.now(zone(timezone)).date(),
        taken=lambda number: bool(session.scalar(select(exists().where(model.number == number)))),
        counter_names=frozenset({COUNTERS[kind.name]}),
    )


# Transaction-scoped PostgreSQL advisory lock keys, one per kind.
_NUMBERING_LOCKS = {"customer": 7_100_001, "project": 7_100_002, "activity": 7_100_003}


def number_taken(session: Session, *, model: Any, number: str | None, own_id: int | None) -> bool:
    if not number:
        return False
    query = select(exists().where(model.number == number, model.id != (own_id or 0)))
    return bool(session.scalar(query))


def by_name(column: Any) -> Any:
    """A name as Kimai sorts it: case-insensitively (its MySQL collation); indexed per table."""
    return func.lower(column)


def ordered(query: Any, key: Any, tiebreak: Any, order: str) -> Any:
    """Kimai's list order: the key, then the id in the same direction; missing keys (a global
    activity's project) come first ascending, as on MySQL."""
    if order == "DESC":
        return query.order_by(key.desc().nulls_last(), tiebreak.desc())
    return query.order_by(key.asc().nulls_first(), tiebreak.asc())


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def term_filter(term: str, columns: Iterable[Any], meta_model: Any, entity_id: Any) -> ColumnElement[bool]:
    """Kimai's search: words AND-ed, each matching any column; ``!word`` excludes; ``name:value``
    searches a custom field (``name:*`` any value, ``name:~`` no such field, ``name:""`` empty)."""
    columns = list(columns)
    clauses: list[ColumnElement[bool]] = []
    for word in term.split():
        name, colon, value = word.partition(":")
        if colon and name and value and not word.startswith("!"):
            meta = select(meta_model.id).where(meta_model.entity_id == entity_id, meta_model.name == name)
            if value == "*":
                clauses.append(exists(meta.where(meta_model.value.is_not(None))))
            elif value.startswith("!") and len(value) > 1:
                negated = or_(
                    meta_model.value.is_(None), not_(meta_model.value.ilike(_like(value[1:]), escape="\\"))
                )
                clauses.append(exists(meta.where(negated)))
            elif value == "~":
                clauses.append(not_(exists(meta)))
            elif value in ('""', "''"):
                clauses.append(or_(not_(exists(meta)), exists(meta.where(meta_model.value.is_(None)))))
            else:
                clauses.append(exists(meta.where(meta_model.value.ilike(_like(value), escape="\\"))))
            continue
        if word.startswith("!") and len(word) > 1:
            pattern = _like(word[1:])
            clauses.append(and_(*(or_(c.is_(None), not_(c.ilike(pattern, escape="\\"))) for c in columns)))
            continue
        pattern = _like(word)
        clauses.append(or_(*(c.ilike(pattern, escape="\\") for c in columns)))
    return and_(*clauses) if clauses else and_(True)
