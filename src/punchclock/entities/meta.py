"""Declared custom fields: which meta field names may be set on which entity type."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from punchclock.entities.models import MetaFieldDefinition

ENTITY_TYPES = ("customer", "project", "activity", "timesheet")


def add_definition(
    session: Session, *, entity_type: str, name: str, visible: bool = True
) -> MetaFieldDefinition:
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {entity_type!r} (choose from {', '.join(ENTITY_TYPES)})")
    if not name or len(name) > 50 or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError("a field name has 1-50 letters, digits, '_' or '-'")
    existing = session.scalars(
        select(MetaFieldDefinition).where(
            MetaFieldDefinition.entity_type == entity_type, MetaFieldDefinition.name == name
        )
    ).first()
    if existing is not None:
        raise ValueError(f"{entity_type}.{name} is declared already")
    row = MetaFieldDefinition(entity_type=entity_type, name=name, visible=visible)
    session.add(row)
    session.flush()
    return row


def list_definitions(session: Session) -> list[MetaFieldDefinition]:
    query = select(MetaFieldDefinition).order_by(MetaFieldDefinition.entity_type, MetaFieldDefinition.name)
    return list(session.scalars(query))


def remove_definition(session: Session, *, entity_type: str, name: str) -> None:
    result = session.execute(
        delete(MetaFieldDefinition).where(
            MetaFieldDefinition.entity_type == entity_type, MetaFieldDefinition.name == name
        )
    )
    if not getattr(result, "rowcount", 0):
        raise ValueError(f"no custom field {entity_type}.{name}")
