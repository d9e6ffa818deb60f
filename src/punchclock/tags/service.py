"""Tags: keyword-only functions shared by the API and the command line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.auth.permissions import Caller
from punchclock.entities.fields import COLOR_FIELD
from punchclock.entities.listing import changed_since
from punchclock.entities.service import by_name, find
from punchclock.kimai.errors import Forbidden, NotFound
from punchclock.kimai.forms import (
    Field,
    checkbox,
    fail,
    length,
    no_special_characters,
    not_blank,
    submit,
    text,
)
from punchclock.tags.models import Tag
from punchclock.timesheets.models import TimesheetTag

TAKEN = "This value is already used."
NO_COMMA = "Tag name cannot contain comma"


def _visible(name: str | None, modified_after: dt.datetime | None) -> Any:
    """Kimai's tag lists: visible tags only, by name; ``name`` matches anywhere, case-insensitively."""
    query = changed_since(select(Tag).where(Tag.visible.is_(True)), Tag.modified_at, modified_after)
    if name is not None:
        query = query.where(Tag.name.icontains(name, autoescape=True))
    return query.order_by(by_name(Tag.name), Tag.id)


def list_tag_names(
    session: Session, *, name: str | None = None, modified_after: dt.datetime | None = None
) -> list[str]:
    return list(session.scalars(_visible(name, modified_after).with_only_columns(Tag.name)))


def find_tags(session: Session, *, name: str | None, modified_after: dt.datetime | None = None) -> list[Tag]:
    """``GET /api/tags/find``: nothing at all without a ``name``."""
    if name is None:
        return []
    return list(session.scalars(_visible(name, modified_after)))


def name_taken(session: Session, name: str | None) -> bool:
    """Kimai's unique check runs on MySQL, whose collation ignores case."""
    if not name:
        return False
    return session.scalar(select(Tag.id).where(func.lower(Tag.name) == name.lower()).limit(1)) is not None


def _fields(session: Session) -> tuple[Field, ...]:
    def unique(name: Any) -> str | None:
        return TAKEN if name_taken(session, name) else None

    def no_comma(name: Any) -> str | None:
        return NO_COMMA if isinstance(name, str) and "," in name else None

    # The entity's constraints in Kimai's order: the unique check (a class constraint) first.
    name_checks = (unique, no_special_characters, not_blank, length(2, 100), no_comma)
    return (Field("name", text, name_checks), Field("visible", checkbox), COLOR_FIELD)


def create_tag(session: Session, *, caller: Caller, data: Any) -> Tag:
    """POST /api/tags: every role may create tags; absent fields are submitted empty (clear-missing)."""
    if not (caller.can("manage_tag") or caller.can("create_tag")):
        raise Forbidden()
    fields = _fields(session)
    submission = submit(fields, data, current={}, clear_missing=True)
    tag = Tag(**submission.changes)
    try:
        with session.begin_nested():  # the unique index decides when two requests race
            session.add(tag)
            session.flush()
    except IntegrityError:
        fail(fields, {"name": [TAKEN]})
    changes.record(session, entity="tag", entity_id=tag.id, op="upsert")
    return tag


def delete_tag(session: Session, *, caller: Caller, tag_id: int) -> None:
    """404 before 403, as Kimai resolves the tag first. Timesheets lose the tag (and are recorded)."""
    tag = find(session, Tag, tag_id)
    if tag is None:
        raise NotFound()
    if not caller.can("delete_tag"):
        raise Forbidden()
    tagged = list(session.scalars(select(TimesheetTag.timesheet_id).where(TimesheetTag.tag_id == tag_id)))
    session.delete(tag)
    session.flush()
    changes.record(session, entity="tag", entity_id=tag_id, op="delete")
    for timesheet_id in tagged:
        changes.record(session, entity="timesheet", entity_id=timesheet_id, op="upsert")
