"""Operations shared by customers, projects and activities: lookup, permission, delete, meta
fields, rates, comments, automatic numbers and Kimai's ``term`` search."""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    Field,
    FieldError,
    at_least,
    checkbox,
    fail,
    integer_id,
    money,
    not_blank,
    submit,
    text,
)
from punchclock.users.models import User


def get_or_404(session: Session, kind: Kind, entity_id: int) -> Any:
    entity = session.get(kind.model, entity_id)
    if entity is None:
        raise NotFound()
    return entity


def require(caller: Caller, attribute: str, kind: Kind, entity: Entity) -> None:
    if not caller.may(attribute, kind.name, voter_teams(entity)):
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


def declared_meta_fields(session: Session, *, entity_type: str, configured: dict[str, list[str]]) -> dict[str, bool]:
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
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("edit",))
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise BadRequest()
    name = data["name"]
    declared = declared_meta_fields(session, entity_type=kind.name, configured=configured)
    if name not in declared:
        raise NotFound()
    value = data.get("value")
    if value is not None and not isinstance(value, str):
        raise BadRequest()
    row = next((row for row in entity.meta if row.name == name), None)
    if row is None:
        entity.meta.append(kind.meta_model(name=name, value=value or None, visible=declared[name]))
    else:
        row.value = value or None
    touch(session, kind=kind, entity=entity)
    return entity


def touch(session: Session, *, kind: Kind, entity: Entity) -> None:
    """Mark ``entity`` modified (also when only a side table changed) and record the change."""
    entity.modified_at = utcnow()
    session.flush()
    changes.record(session, entity=kind.name, entity_id=entity.id, op="upsert")


# --- rates -----------------------------------------------------------------------------------------


def _rate_fields(session: Session) -> tuple[Field, ...]:
    def user_choice(raw: Any) -> int | None:
        user_id = integer_id(raw)
        if user_id is not None and session.get(User, user_id) is None:
            raise FieldError("The selected choice is invalid.")
        return user_id

    return (
        Field("user", user_choice, attr="user_id"),
        Field("rate", money, (not_blank, at_least(0))),
        Field("internalRate", money, (at_least(0),)),
        Field("isFixed", checkbox, attr="fixed"),
    )


def list_rates(session: Session, *, caller: Caller, kind: Kind, entity_id: int) -> list[Any]:
    load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("edit",))
    rate = kind.rate_model
    return list(session.scalars(select(rate).where(rate.entity_id == entity_id).order_by(rate.id)))


def add_rate(session: Session, *, caller: Caller, kind: Kind, entity_id: int, data: Any) -> Any:
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("edit",))
    fields = _rate_fields(session)
    rate = kind.rate_model

    def unique(merged: dict[str, Any]) -> dict[str, list[str]]:
        user_id = merged.get("user_id")
        same_user = rate.user_id.is_(None) if user_id is None else rate.user_id == user_id
        taken = session.scalar(select(exists().where(rate.entity_id == entity_id, same_user)))
        return {"user": ["The rate for this user already exists."]} if taken else {}

    submission = submit(fields, data, current={"fixed": False}, clear_missing=False, extra_checks=unique)
    row = rate(entity_id=entity_id, **{"fixed": False, **submission.changes})
    session.add(row)
    touch(session, kind=kind, entity=entity)
    return row


def delete_rate(session: Session, *, caller: Caller, kind: Kind, entity_id: int, rate_id: int) -> None:
    entity = get_or_404(session, kind, entity_id)
    row = session.get(kind.rate_model, rate_id)
    if row is None or row.entity_id != entity_id:
        raise NotFound()
    require(caller, "edit", kind, entity)
    session.delete(row)
    touch(session, kind=kind, entity=entity)


# --- comments --------------------------------------------------------------------------------------

_COMMENT_FIELDS = (
    Field("message", text, (not_blank,)),
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
    row = kind.comment_model(
        entity_id=entity_id, created_by_id=caller.id, pinned=False, **submission.changes
    )
    session.add(row)
    touch(session, kind=kind, entity=entity)
    return row


def _own_comment(session: Session, *, caller: Caller, kind: Kind, entity_id: int, comment_id: int) -> Any:
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("view", "edit", "comments"))
    row = session.get(kind.comment_model, comment_id)
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


def next_number(session: Session, *, model: Any, number_format: str) -> str:
    """Kimai's automatic number: ``{cc,4}`` is the row count plus one, zero-padded; used ones are skipped."""
    count = session.scalar(select(func.count()).select_from(model)) or 0
    candidate = count + 1
    while True:
        number = _NUMBER_FORMAT.sub(lambda m: str(candidate).zfill(int(m.group(2))), number_format)
        if not session.scalar(select(exists().where(model.number == number))):
            return number
        candidate += 1


def number_taken(session: Session, *, model: Any, number: str | None, own_id: int | None) -> bool:
    if not number:
        return False
    query = select(exists().where(model.number == number, model.id != (own_id or 0)))
    return bool(session.scalar(query))


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def term_filter(term: str, columns: Iterable[Any], meta_model: Any, entity_id: Any) -> ColumnElement[bool]:
    """Kimai's search: words AND-ed, each matching any column; ``!word`` excludes; ``name:value``
    searches a custom field (``name:*`` any value, ``name:~`` no such field, ``name:""`` empty)."""
    columns = list(columns)
    clauses: list[ColumnElement[bool]] = []
    for word in term.split():
        if ":" in word and not word.startswith("!") and word.index(":") > 0:
            name, value = word.split(":", 1)
            meta = select(meta_model.id).where(meta_model.entity_id == entity_id, meta_model.name == name)
            if value == "*":
                clauses.append(exists(meta.where(meta_model.value.is_not(None), meta_model.value != "")))
            elif value == "~":
                clauses.append(not_(exists(meta)))
            elif value in ('""', "''"):
                clauses.append(
                    or_(not_(exists(meta)), exists(meta.where(or_(meta_model.value.is_(None), meta_model.value == ""))))
                )
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
