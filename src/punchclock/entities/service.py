"""Operations shared by customers, projects and activities: lookup, permission, delete, meta
fields, rates, comments, automatic numbers and Kimai's ``term`` search."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.auth.permissions import Caller
from punchclock.db import utcnow
from punchclock.entities.kinds import Entity, Kind, voter_teams
from punchclock.entities.models import MetaFieldDefinition
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
from punchclock.teams.models import TeamMember
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
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("delete",))
    session.delete(entity)
    session.flush()
    changes.record(session, entity=kind.name, entity_id=entity_id, op="delete")


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
    stored = {row.name.lower(): row for row in entity.meta}
    canonical = {known.lower(): known for known in declared}
    row = stored.get(name.lower())
    if row is not None:
        row.value = value
    elif name.lower() in canonical:
        known = canonical[name.lower()]
        entity.meta.append(kind.meta_model(name=known, value=value, visible=declared[known]))
    else:
        raise NotFound()
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
    rate = kind.rate_model
    query = (
        select(rate)
        .outerjoin(User, User.id == rate.user_id)
        .where(rate.entity_id == entity_id)
        .order_by(User.alias.asc().nulls_first(), rate.id)
    )
    return list(session.scalars(query))


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
    session.add(row)
    touch(session, kind=kind, entity=entity)
    return row


def delete_rate(session: Session, *, caller: Caller, kind: Kind, entity_id: int, rate_id: int) -> None:
    entity = get_or_404(session, kind, entity_id)
    row = find(session, kind.rate_model, rate_id)
    if row is None or row.entity_id != entity_id:
        raise NotFound()
    require(caller, "edit", kind, entity)
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
    entity = load(
        session, caller=caller, kind=kind, entity_id=entity_id, attributes=("view", "edit", "comments")
    )
    row = find(session, kind.comment_model, comment_id)
    if row is None:
        raise NotFound()
    if row.entity_id != entity_id:
        raise Forbidden()
    return entity, row


def pin_comment(session: Session, *, caller: Caller, kind: Kind, entity_id: int, comment_id: int) -> Any:
    entity, row = _own_comment(session, caller=caller, kind=kind, entity_id=entity_id, comment_id=comment_id)
    row.pinned = not row.pinned
    touch(session, kind=kind, entity=entity)
    return row


def delete_comment(session: Session, *, caller: Caller, kind: Kind, entity_id: int, comment_id: int) -> None:
    entity, row = _own_comment(session, caller=caller, kind=kind, entity_id=entity_id, comment_id=comment_id)
    session.delete(row)
    touch(session, kind=kind, entity=entity)


# --- numbers and search ------------------------------------------------------------------------------

_NUMBER_FORMAT = re.compile(r"\{([a-z]{2}),(\d+)\}")


def next_number(session: Session, *, model: Any, number_format: str) -> str | None:
    """Kimai's automatic number: ``{cc,4}`` zero-padded to 4, skipping numbers in use.

    Kimai's counter renders the row count plus two (an empty table gives 0002, one row 0003, as
    its own API tests expect); clients comparing numbers with Kimai's get the same. Like Kimai it
    gives up (no number) after about a hundred numbers in use, e.g. with a format without counter.
    """
    count = session.scalar(select(func.count()).select_from(model)) or 0
    for candidate in range(count + 2, count + 103):
        number = _NUMBER_FORMAT.sub(partial(_pad, str(candidate)), number_format)
        if not session.scalar(select(exists().where(model.number == number))):
            return number
    return None


def _pad(digits: str, match: re.Match[str]) -> str:
    return digits.zfill(int(match.group(2)))


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


def check_form(fields: tuple[Field, ...], errors: dict[str, list[str]]) -> None:
    if errors:
        fail(fields, errors)
