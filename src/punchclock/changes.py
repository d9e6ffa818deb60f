"""The one place every write reports what it changed.

Services call ``record`` for each inserted, updated or deleted row of a tracked entity. The
records travel with the session (``session.info``) so a later consumer (change feed, outbox,
webhooks) can persist them in the same transaction.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

Operation = Literal["upsert", "delete"]


def record(session: Session, *, entity: str, entity_id: int, op: Operation) -> None:
    session.info.setdefault("changes", []).append((entity, entity_id, op))


def recorded(session: Session) -> list[tuple[str, int, Operation]]:
    return list(session.info.get("changes", []))
