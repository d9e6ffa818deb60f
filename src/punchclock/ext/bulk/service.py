"""Bulk writes: up to 1,000 items of one kind in one transaction, each validated as the single route
validates it, and made upserts by the caller's ``externalId``s.

Items are applied in order. An item whose externalId names an existing entity of the caller's is
applied as a PATCH of it (``unchanged`` when that would change nothing: then nothing is written);
any other item is created, and its externalId (re)mapped to the new entity. Each update, and each
create of a customer, project or activity, runs in a SAVEPOINT of its own, so a failing item leaves
nothing behind; timesheet creates go to ``timesheets.bulk.create_many`` in batches. Everything is
committed together by the caller's transaction: a failing commit writes nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

from sqlalchemy import and_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from punchclock.activities.service import EDIT as ACTIVITY_EDIT
from punchclock.auth.permissions import Caller
from punchclock.config import Settings
from punchclock.customers.service import EDIT as CUSTOMER_EDIT
from punchclock.db import utcnow
from punchclock.entities import crud
from punchclock.entities.crud import EditSpec
from punchclock.ext.bulk.models import ExternalId
from punchclock.ext.bulk.schemas import EXTERNAL_ID_MAX, MAX_ITEMS
from punchclock.kimai.body import camelize
from punchclock.kimai.datetimes import parse_date, parse_form_datetime
from punchclock.kimai.errors import BadRequest, KimaiError, ValidationFailed
from punchclock.kimai.forms import error_envelope, length, not_blank
from punchclock.projects.service import EDIT as PROJECT_EDIT
from punchclock.timesheets import bulk as timesheet_bulk
from punchclock.timesheets import service as timesheets
from punchclock.timesheets.models import Timesheet

T = TypeVar("T")
Status = Literal["created", "updated", "unchanged", "error"]
EXTERNAL_ID = "externalId"
NOT_A_STRING = "This value should be of type string."


class NotAnArray(KimaiError):
    def __init__(self) -> None:
        super().__init__(400, f"The body must be a JSON array of 1 to {MAX_ITEMS} objects")


# --- reading the request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One item: the single POST's body without ``externalId`` (as ``read_body`` decodes it), its
    trimmed externalId, or the error that keeps it from reaching a service."""

    body: Any
    external_id: str | None = None
    error: KimaiError | None = None


def read_items(form: Any, raw: Any) -> list[Item]:
    """The items of a bulk body: ``form`` as ``read_body`` decodes it, ``raw`` with JSON's own types
    (``read_json_body``), which tell a string externalId from a number."""
    if not isinstance(form, list) or not 1 <= len(form) <= MAX_ITEMS:
        raise NotAnArray()
    raws = raw if isinstance(raw, list) and len(raw) == len(form) else form
    return [_item(item, raw_item) for item, raw_item in zip(form, raws, strict=True)]


def _item(form: Any, raw: Any) -> Item:
    if isinstance(form, list):
        return Item(form)  # the form itself answers "This value is not valid.", as for such a POST body
    if not isinstance(form, dict):
        return Item(None, error=BadRequest())  # a scalar body is a bad request on the single POST
    if EXTERNAL_ID not in form:
        return Item(form)  # as decoded: nothing else reads it (no copy per item)
    body = dict(form)
    del body[EXTERNAL_ID]
    value = next((v for k, v in raw.items() if camelize(str(k)) == EXTERNAL_ID), None)
    if value is None:  # JSON null: no key
        return Item(body)
    if not isinstance(value, str):
        return Item(body, error=_invalid_key(NOT_A_STRING))
    key = value.strip()
    problem = not_blank(key) or length(maximum=EXTERNAL_ID_MAX)(key)
    return Item(body, error=_invalid_key(problem)) if problem else Item(body, key)


def _invalid_key(message: str) -> ValidationFailed:
    return ValidationFailed(error_envelope([EXTERNAL_ID], {EXTERNAL_ID: [message]}))


# --- the kinds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    caller: Caller
    settings: Settings


class Kind:
    """How items of one kind are created, applied to an existing entity and compared."""

    name: str  # the entity: customer, project, activity, timesheet
    plural: str  # the route segment
    model: Any
    permission: str  # needed to create this kind at all (else the whole call is 403)

    def create(self, session: Session, call: Call, bodies: list[Any]) -> list[int | KimaiError]:
        raise NotImplementedError

    def update(self, session: Session, call: Call, entity: Any, body: Any) -> None:
        raise NotImplementedError

    def state(self, entity: Any) -> Any:
        """Everything an update may change, to tell ``updated`` from ``unchanged``."""
        return {
            attr.key: getattr(entity, attr.key)
            for attr in type(entity).__mapper__.column_attrs
            if attr.key != "modified_at"
        }


class EntityKind(Kind):
    """Customers, projects and activities, through ``entities.crud`` one item at a time."""

    def __init__(
        self,
        spec: EditSpec,
        plural: str,
        *,
        as_patch: Callable[[Any, dict[str, Any]], None] = lambda entity, body: None,
    ) -> None:
        """``as_patch`` turns a POST body into the PATCH body of ``entity`` that means the same."""
        self.spec = spec
        self.name = spec.kind.name
        self.plural = plural
        self.model = spec.kind.model
        self.permission = f"create_{self.name}"
        self._as_patch = as_patch

    def create(self, session: Session, call: Call, bodies: list[Any]) -> list[int | KimaiError]:
        number_format: str = getattr(call.settings, f"{self.name}_number_format")

        def create_one(body: Any) -> int:
            entity = crud.create(
                session,
                spec=self.spec,
                caller=call.caller,
                data=body,
                number_format=number_format,
                allow_duplicates=call.settings.allow_duplicate_numbers,
            )
            return int(entity.id)

        return [_attempt(session, partial(create_one, body)) for body in bodies]

    def update(self, session: Session, call: Call, entity: Any, body: Any) -> None:
        if isinstance(body, dict):
            body = {key: value for key, value in body.items() if key != "teams"}  # POST only, as in Kimai
            self._as_patch(entity, body)
        crud.update(
            session,
            spec=self.spec,
            caller=call.caller,
            entity_id=entity.id,
            data=body,
            allow_duplicates=call.settings.allow_duplicate_numbers,
        )


def _project_dates(_project: Any, body: dict[str, Any]) -> None:
    """POST takes project dates as Y-m-d, PATCH as Y-m-dTH:i:s (the same day in the caller's zone)."""
    for key in ("orderDate", "start", "end"):
        value = body.get(key)
        if isinstance(value, str) and parse_date(value.strip()) is not None:
            body[key] = value.strip() + "T00:00:00"


def _global_stays_global(activity: Any, body: dict[str, Any]) -> None:
    """A global activity's PATCH form has no ``project``: an empty one changes nothing, so it goes."""
    if activity.project_id is None and body.get("project") in (None, ""):
        body.pop("project", None)


class TimesheetKind(Kind):
    name = "timesheet"
    plural = "timesheets"
    model = Timesheet
    permission = "create_own_timesheet"

    def create(self, session: Session, call: Call, bodies: list[Any]) -> list[int | KimaiError]:
        return timesheet_bulk.create_many(session, caller=call.caller, settings=call.settings, bodies=bodies)

    def update(self, session: Session, call: Call, entity: Any, body: Any) -> None:
        if isinstance(body, dict):
            # POST reads a time without offset in the caller's timezone, PATCH in the record's: the
            # item means the POST's instant.
            body = {
                key: _instant(value, call.caller.timezone) if key in ("begin", "end") else value
                for key, value in body.items()
            }
        timesheets.update(
            session, caller=call.caller, settings=call.settings, timesheet_id=entity.id, data=body
        )

    def state(self, entity: Any) -> Any:
        return super().state(entity), sorted(tag.id for tag in entity.tags)


def _instant(value: Any, timezone: str) -> Any:
    parsed = parse_form_datetime(value, timezone) if isinstance(value, str) else None
    return value if parsed is None else parsed.isoformat()


KINDS: tuple[Kind, ...] = (
    EntityKind(CUSTOMER_EDIT, "customers"),
    EntityKind(PROJECT_EDIT, "projects", as_patch=_project_dates),
    EntityKind(ACTIVITY_EDIT, "activities", as_patch=_global_stays_global),
    TimesheetKind(),
)


# --- applying the items ---------------------------------------------------------------------------------


def _attempt(session: Session, work: Callable[[], T]) -> T | KimaiError:
    """``work`` in a SAVEPOINT: rolled back (with the changes it recorded) when it fails."""
    savepoint = session.begin_nested()
    try:
        result = work()
    except KimaiError as exc:
        savepoint.rollback()
        return exc
    savepoint.commit()
    return result


@dataclass(frozen=True)
class Outcome:
    status: Status
    id: int | None
    external_id: str | None = None
    error: KimaiError | None = None

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {"status": self.status, "id": self.id}
        if self.external_id is not None:
            view["externalId"] = self.external_id
        if self.error is not None:
            view["error"] = self.error.body() or {"code": self.error.status, "message": self.error.message}
        return view


def apply(
    session: Session, *, kind: Kind, caller: Caller, settings: Settings, items: Sequence[Item]
) -> list[dict[str, Any]]:
    """Applies ``items`` in order; one result view per item."""
    call = Call(caller, settings)
    keys = {item.external_id for item in items if item.external_id is not None}
    known = _mapped(session, caller.id, kind, keys)
    ahead = _Ahead(session, kind.model, [known[i.external_id] for i in items if i.external_id in known])
    outcomes: list[Outcome | None] = [None] * len(items)
    pending: list[int] = []  # creates not written yet: written in order, before anything that follows
    pending_keys: set[str] = set()
    remembered: dict[str, int] = {}

    def write_pending() -> None:
        results = kind.create(session, call, [items[index].body for index in pending]) if pending else []
        for index, result in zip(pending, results, strict=True):
            key = items[index].external_id
            if isinstance(result, KimaiError):
                outcomes[index] = Outcome("error", None, key, result)
                continue
            outcomes[index] = Outcome("created", result, key)
            if key is not None:
                known[key] = remembered[key] = result
        pending.clear()
        pending_keys.clear()

    for index, item in enumerate(items):
        key = item.external_id
        if item.error is not None:
            outcomes[index] = Outcome("error", None, key, item.error)
        elif key is not None and (key in known or key in pending_keys):
            write_pending()  # an item that repeats a key sees what the earlier one did
            if key in known:
                outcomes[index] = _update(session, kind, call, ahead.get(known[key]), item)
            else:
                pending.append(index)
                pending_keys.add(key)
        else:
            pending.append(index)
            if key is not None:
                pending_keys.add(key)
    write_pending()
    _remember(session, caller.id, kind, remembered)
    return [outcome.view() for outcome in outcomes if outcome is not None]


class _Ahead:
    """The entities items will update, loaded ``CHUNK`` at a time in item order (with what they hang
    on, a few queries per chunk instead of several per item) and held until the next chunk: the
    identity map keeps only weak references, and a small one keeps each savepoint rollback cheap."""

    CHUNK = 100

    def __init__(self, session: Session, model: Any, ids: list[int]) -> None:
        self.session = session
        self.model = model
        self.order = list(dict.fromkeys(ids))
        self.position = {entity_id: index for index, entity_id in enumerate(self.order)}
        self.held: dict[int, Any] = {}

    def get(self, entity_id: int) -> Any:
        if entity_id not in self.held and entity_id in self.position:
            start = self.position[entity_id]
            chunk = self.order[start : start + self.CHUNK]
            query = select(self.model).where(self.model.id.in_(chunk))
            self.held = {entity.id: entity for entity in self.session.scalars(query)}
        return self.held.get(entity_id) or self.session.get(self.model, entity_id)


def _update(session: Session, kind: Kind, call: Call, entity: Any, item: Item) -> Outcome:
    entity_id = entity.id
    savepoint = session.begin_nested()
    try:
        before = kind.state(entity)
        kind.update(session, call, entity, item.body)
        changed = kind.state(entity) != before
    except KimaiError as exc:
        savepoint.rollback()
        return Outcome("error", entity_id, item.external_id, exc)
    if not changed:
        savepoint.rollback()  # nothing to write: modified_at and the change feed stay as they were
        return Outcome("unchanged", entity_id, item.external_id)
    savepoint.commit()
    return Outcome("updated", entity_id, item.external_id)


# --- the externalId mappings ------------------------------------------------------------------------------


def _lock_key(kind: Kind) -> int:
    return zlib.crc32(f"external_ids:{kind.name}".encode()) & 0x7FFFFFFF


def _mapped(session: Session, owner_id: int, kind: Kind, keys: set[str]) -> dict[str, int]:
    """The entities the caller's ``keys`` name, those that still exist.

    On PostgreSQL the caller's bulk writes of this kind take turns first: a retry sent while the
    first call still runs waits for it and then finds its keys (SQLite writers take turns anyway)."""
    if not keys:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :owner)"),
            {"space": _lock_key(kind), "owner": owner_id},
        )
    model = kind.model
    query = (
        select(ExternalId.external_id, ExternalId.entity_id)
        # SQLite gives a new row the id of a deleted last one: that younger entity is not the one mapped.
        .join(model, and_(model.id == ExternalId.entity_id, model.created_at <= ExternalId.modified_at))
        .where(
            ExternalId.owner_id == owner_id,
            ExternalId.entity == kind.name,
            ExternalId.external_id.in_(keys),
        )
    )
    return {key: entity_id for key, entity_id in session.execute(query)}


def _remember(session: Session, owner_id: int, kind: Kind, created: dict[str, int]) -> None:
    """Maps each key to the entity just created for it (a key whose entity was deleted is remapped)."""
    if not created:
        return
    dialect: Any = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(ExternalId)
    statement = statement.on_conflict_do_update(
        index_elements=["owner_id", "entity", "external_id"],
        set_={"entity_id": statement.excluded.entity_id, "modified_at": statement.excluded.modified_at},
    )
    now = utcnow()
    rows = [
        {
            "owner_id": owner_id,
            "entity": kind.name,
            "external_id": key,
            "entity_id": entity_id,
            "modified_at": now,
        }
        for key, entity_id in created.items()
    ]
    session.execute(statement, rows)
