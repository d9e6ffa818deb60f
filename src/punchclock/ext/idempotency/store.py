"""Claiming, finishing and releasing keys: short transactions, run on the database threads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from punchclock.ext.idempotency.models import DONE, IN_PROGRESS, IdempotencyKey

_TABLE = IdempotencyKey.__table__


@dataclass(frozen=True)
class Held:
    """A key someone else holds: still running, or done with the answer to replay."""

    fingerprint: str
    done: bool
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def claim(
    session: Session,
    *,
    user_id: int,
    key: str,
    fingerprint: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    purge: bool,
) -> int | Held | None:
    """The id of a new in-progress row for the key, or the live row that holds it already; None
    when the holder vanished between the two statements (released, or expired meanwhile): try again.

    Expired rows count as absent: this user's for this key is removed first, everybody's when
    ``purge``. The insert skips a conflict instead of failing, so the transaction stays usable
    (PostgreSQL waits there for a concurrent claim to commit or roll back).
    """
    expired = IdempotencyKey.expires_at <= now
    if purge:
        session.execute(delete(IdempotencyKey).where(expired))
    else:
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, expired
            )
        )
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    inserted = session.execute(
        dialect.insert(_TABLE)
        .values(
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            state=IN_PROGRESS,
            created_at=now,
            expires_at=lease_until,
            modified_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(_TABLE.c.id)
    ).scalar()
    if inserted is not None:
        return int(inserted)
    return find(session, user_id=user_id, key=key, now=now)


def find(session: Session, *, user_id: int, key: str, now: dt.datetime) -> Held | None:
    """The live row of the key, if any."""
    row = session.execute(
        select(
            IdempotencyKey.fingerprint,
            IdempotencyKey.state,
            IdempotencyKey.status,
            IdempotencyKey.headers,
            IdempotencyKey.body,
        ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.expires_at > now)
    ).first()
    if row is None:
        return None
    return Held(
        fingerprint=row.fingerprint,
        done=row.state == DONE,
        status=row.status or 0,
        headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in row.headers or []],
        body=row.body or b"",
    )


def finish(
    session: Session,
    *,
    row_id: int,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    expires_at: dt.datetime,
) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id, IdempotencyKey.state == IN_PROGRESS)
        .values(
            state=DONE,
            status=status,
            headers=[[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers],
            body=body,
            expires_at=expires_at,
        )
    )


def release(session: Session, *, row_id: int) -> None:
    session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id == row_id, IdempotencyKey.state == IN_PROGRESS)
    )
