"""Create and update for customers, projects and activities: one implementation, three specs.

Each kind describes its form (``fields``), its defaults and any rules of its own; the steps, the
order of checks and the automatic number are the same for all three, as in Kimai.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.auth.permissions import Caller
from punchclock.config import Settings
from punchclock.entities.fields import budget_defaults
from punchclock.entities.kinds import Kind
from punchclock.entities.service import load, next_number, number_taken
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.forms import Field, submit

Rules = Callable[[dict[str, Any]], dict[str, list[str]]]


@dataclass(frozen=True)
class EditSpec:
    """What differs between the kinds' forms."""

    kind: Kind
    # The form for a new entity (None) or an existing one.
    fields: Callable[[Session, Caller, Any], tuple[Field, ...]]
    # Values of a new entity before the form runs.
    defaults: Callable[[Caller], dict[str, Any]]
    # Entity-level rules beyond the unique number, on the merged values.
    rules: Callable[[dict[str, Any]], dict[str, list[str]]] = field(default=lambda merged: {})
    # Adjusts the entity after the submitted changes were applied: (entity, caller, changed, before),
    # both attribute -> value; ``before`` is empty for a new entity.
    after: Callable[[Any, Caller, dict[str, Any], dict[str, Any]], None] = field(
        default=lambda entity, caller, changed, before: None
    )


def default_number_format(kind: Kind) -> str:
    """The settings' default format for the kind's automatic numbers ({cc,4} …)."""
    default: str = Settings.model_fields[f"{kind.name}_number_format"].default
    return default


def _checks(session: Session, spec: EditSpec, own_id: int | None, allow_duplicates: bool) -> Rules:
    model = spec.kind.model

    def check(merged: dict[str, Any]) -> dict[str, list[str]]:
        errors = dict(spec.rules(merged))
        number = merged.get("number")
        if not allow_duplicates and number_taken(session, model=model, number=number, own_id=own_id):
            errors.setdefault("number", []).append(f"The number {number} is already used.")
        return errors

    return check


def columns(entity: Any) -> dict[str, Any]:
    return {column.key: getattr(entity, column.key) for column in entity.__table__.columns}


def create(
    session: Session,
    *,
    spec: EditSpec,
    caller: Caller,
    data: Any,
    number_format: str | None = None,
    allow_duplicates: bool = False,
) -> Any:
    kind = spec.kind
    if not caller.can(f"create_{kind.name}"):
        raise Forbidden()
    # Kimai numbers the new entity before the form runs: a submitted number (even "") replaces it.
    if number_format is None:
        number_format = default_number_format(kind)
    number = next_number(session, kind=kind, number_format=number_format, timezone=caller.timezone)
    current = {**spec.defaults(caller), "number": number}
    submission = submit(
        spec.fields(session, caller, None),
        data,
        current=current,
        clear_missing=False,
        extra_checks=_checks(session, spec, None, allow_duplicates),
    )
    values = budget_defaults({**current, **submission.changes})
    teams = values.pop("teams", [])
    entity = kind.model(**values)
    entity.teams = teams
    spec.after(entity, caller, submission.changes, {})
    session.add(entity)
    session.flush()
    session.refresh(entity)
    changes.record(session, entity=kind.name, entity_id=entity.id, op="upsert")
    return entity


def update(
    session: Session,
    *,
    spec: EditSpec,
    caller: Caller,
    entity_id: int,
    data: Any,
    allow_duplicates: bool = False,
) -> Any:
    kind = spec.kind
    entity = load(session, caller=caller, kind=kind, entity_id=entity_id, attributes=("edit",))
    before = columns(entity)
    submission = submit(
        spec.fields(session, caller, entity),
        data,
        current=before,
        clear_missing=False,
        extra_checks=_checks(session, spec, entity.id, allow_duplicates),
    )
    for attr, value in budget_defaults(dict(submission.changes)).items():
        setattr(entity, attr, value)
    spec.after(entity, caller, submission.changes, before)
    session.flush()
    session.refresh(entity)
    changes.record(session, entity=kind.name, entity_id=entity.id, op="upsert")
    return entity
