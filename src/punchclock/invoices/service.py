"""Invoices: keyword-only service functions shared by the API and the CLI.

Kimai's invoice voter: every action needs ``view_invoice`` and access to the invoice's customer
(its teams); editing custom fields also needs ``create_invoice``, deleting ``delete_invoice`` (which
no built-in role has).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, joinedload

from punchclock import changes
from punchclock.auth.permissions import Caller
from punchclock.customers.models import Customer
from punchclock.db import upsert, utcnow
from punchclock.entities.access import check_filter_access, has_access, open_to
from punchclock.entities.kinds import CUSTOMER
from punchclock.entities.service import declared_meta_fields, find
from punchclock.invoices import document
from punchclock.invoices.models import STATUSES, Invoice, InvoiceMeta, InvoiceTimesheet
from punchclock.invoices.render import due_date
from punchclock.kimai.datetimes import end_of_day, start_of_day, zone
from punchclock.kimai.errors import BadRequest, Forbidden, NotFound
from punchclock.kimai.numbers import NumberFormatError, render_number
from punchclock.kimai.paging import PageRequest, fetch_page
from punchclock.projects.models import Project
from punchclock.teams.models import TeamCustomer
from punchclock.timesheets.models import Timesheet
from punchclock.users.models import User

KIND = "invoice"
DEFAULT_NUMBER_FORMAT = "{Y}/{cy,3}"
# Kimai's built-in invoice documents (templates/invoice/renderer): deleting one is refused with 400.
BUILT_IN_DOCUMENTS = frozenset({"default", "invoice", "service-date", "timesheet"})


class InvoiceError(ValueError):
    """Creating or changing an invoice from the command line failed (a message for the user)."""


# --- permissions and lookup ----------------------------------------------------------------------


def may(caller: Caller, attribute: str, invoice: Invoice) -> bool:
    """Kimai's invoice voter for ``view``, ``edit`` and ``delete``."""
    if not caller.can("view_invoice") or not has_access(caller, CUSTOMER.name, invoice.customer):
        return False
    required = {"view": "view_invoice", "edit": "create_invoice", "delete": "delete_invoice"}[attribute]
    return caller.can(required)


def load(session: Session, *, caller: Caller, invoice_id: int, attribute: str) -> Invoice:
    """The invoice (404 first, as Kimai loads it before the voter runs), then 403."""
    invoice: Invoice | None = find(session, Invoice, invoice_id)
    if invoice is None:
        raise NotFound()
    if not may(caller, attribute, invoice):
        raise Forbidden()
    return invoice


# --- list ------------------------------------------------------------------------------------------


@dataclass
class Filters:
    begin: dt.datetime | None = None
    end: dt.datetime | None = None
    customers: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def list_invoices(
    session: Session, *, caller: Caller, filters: Filters, page: PageRequest
) -> tuple[list[Invoice], int]:
    """One page of invoices, newest first, and the total. Callers without ``view_all_data`` see the
    invoices of customers without teams or with one of their teams."""
    if not caller.can("view_invoice"):
        raise Forbidden()
    customers = check_filter_access(session, caller, CUSTOMER, filters.customers)
    query = select(Invoice).options(joinedload(Invoice.customer), joinedload(Invoice.user))
    if filters.begin is not None:
        query = query.where(Invoice.created_at >= filters.begin)
    if filters.end is not None:
        query = query.where(Invoice.created_at <= filters.end)
    if customers:
        query = query.where(Invoice.customer_id.in_(customers))
    if filters.statuses:
        query = query.where(Invoice.status.in_(filters.statuses))
    if not caller.sees_all:
        query = query.where(open_to(caller, TeamCustomer.customer_id, Invoice.customer_id))
    # Kimai orders by date only; the id keeps pages stable when two invoices share a second.
    query = query.order_by(Invoice.created_at.desc(), Invoice.id.desc())
    result = fetch_page(session, query, page)
    return [row[0] for row in result.rows], result.total


# --- custom fields ---------------------------------------------------------------------------------


def _php_string(value: Any) -> str | None:
    """A JSON scalar as PHP's ``(string)`` cast stores it; None for null; 400 for arrays and objects."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int | str):
        return str(value)
    raise BadRequest()


def set_custom_fields(
    session: Session, *, caller: Caller, invoice_id: int, data: Any, configured: dict[str, list[str]]
) -> Invoice:
    """Kimai's ``PATCH /{id}/custom-fields``: each element of the body needs ``name`` and ``value``
    (400 otherwise); an unknown name is 404 (nothing is saved then). Names match case-insensitively.
    Once anything is set, every declared field is stored (unset ones empty), as Kimai persists them."""
    invoice = load(session, caller=caller, invoice_id=invoice_id, attribute="edit")
    declared = declared_meta_fields(session, entity_type=KIND, configured=configured)
    # Stored values stay settable even when their declaration was removed.
    known = {row.name.lower(): (row.name, row.visible) for row in invoice.meta}
    for name, visible in declared.items():
        known.setdefault(name.lower(), (name, visible))
    items = data.values() if isinstance(data, dict) else data
    values: dict[str, str | None] = {}
    for item in items:
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise BadRequest()
        asked = _php_string(item["name"])
        if asked is None:
            raise BadRequest()
        if asked.lower() not in known:
            raise NotFound()
        values[known[asked.lower()][0]] = _php_string(item["value"])
    if not values:
        return invoice
    stored = {row.name for row in invoice.meta}
    now = utcnow()
    for name, visible in known.values():
        if name in values or name not in stored:
            upsert(
                session,
                InvoiceMeta.__table__,
                {
                    "entity_id": invoice.id,
                    "name": name,
                    "value": values.get(name),
                    "visible": visible,
                    "modified_at": now,
                },
                keys=("entity_id", "name"),
                update=("value", "modified_at"),
            )
    session.expire(invoice, ["meta"])
    invoice.modified_at = now
    session.flush()
    changes.record(session, entity=KIND, entity_id=invoice.id, op="upsert")
    return invoice


# --- document, delete ------------------------------------------------------------------------------


def download(session: Session, *, caller: Caller, invoice_id: int) -> tuple[str, str, bytes]:
    """File name, content type and content of the invoice's stored document."""
    invoice = load(session, caller=caller, invoice_id=invoice_id, attribute="view")
    return invoice.invoice_filename, invoice.document_type, invoice.document


def delete_invoice(session: Session, *, caller: Caller, invoice_id: int) -> None:
    """Delete the invoice with its document and custom fields; its timesheets stay exported (Kimai)."""
    invoice = load(session, caller=caller, invoice_id=invoice_id, attribute="delete")
    session.delete(invoice)
    session.flush()
    changes.record(session, entity=KIND, entity_id=invoice_id, op="delete")


def delete_document(*, caller: Caller, name: str) -> None:
    """Invoice documents (renderer files) cannot be uploaded here: a built-in one is refused (400),
    any other name is unknown (404)."""
    if not caller.can("manage_invoice_template"):
        raise Forbidden()
    if name in BUILT_IN_DOCUMENTS:
        raise BadRequest()
    raise NotFound()


def delete_template(*, template_id: int) -> None:
    """There are no invoice templates: every id is unknown, and Kimai resolves the template before it
    checks ``manage_invoice_template``, so that is 404 for everybody."""
    raise NotFound()


# --- create, status (command line) ----------------------------------------------------------------


def _round(value: Decimal, places: int) -> Decimal:
    """PHP's round(): half away from zero."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def totals(rates: list[float], vat: float) -> tuple[float, float, float]:
    """Subtotal, tax and total as Kimai's calculator computes them (tax rounded to 4, then 2 places)."""
    subtotal = _round(sum((Decimal(str(rate)) for rate in rates), Decimal(0)), 2)
    tax = _round(_round(subtotal * Decimal(str(vat)) / 100, 4), 2)
    return float(subtotal), float(tax), float(_round(subtotal + tax, 2))


_COUNTER = re.compile(r"^c(c|u)?(y|m|d)?$")


def _counter(session: Session, name: str, today: dt.date, tz: str, customer_id: int, user_id: int) -> int:
    """Kimai's invoice counters: ``c`` all invoices, ``cc`` the customer's, ``cu`` the user's;
    a trailing ``y``/``m``/``d`` counts only those created this year, month or day (in ``tz``)."""
    match = _COUNTER.match(name)
    assert match is not None
    scope, period = match.groups()
    query = select(func.count()).select_from(Invoice)
    if scope == "c":
        query = query.where(Invoice.customer_id == customer_id)
    elif scope == "u":
        query = query.where(Invoice.user_id == user_id)
    if period:
        first = {"y": today.replace(month=1, day=1), "m": today.replace(day=1), "d": today}[period]
        last = {
            "y": today.replace(month=12, day=31),
            "m": (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1),
            "d": today,
        }[period]
        query = query.where(
            Invoice.created_at >= start_of_day(first, tz), Invoice.created_at <= end_of_day(last, tz)
        )
    return session.scalar(query) or 0


def next_invoice_number(
    number_format: str, *, today: dt.date, count: Callable[[str], int], taken: Callable[[str], bool]
) -> str | None:
    """Kimai's configurable invoice number (default ``{Y}/{cy,3}``): date placeholders as for
    customer numbers, counters (``c``, ``cy``, ``cm``, ``cd``, ``cc…``, ``cu…``) are the count plus 1;
    the first of 100 candidates not yet used, else None."""
    parts = re.findall(r"\{[^}]*\}", number_format or DEFAULT_NUMBER_FORMAT)
    counts: dict[str, int] = {}
    for attempt in range(100):
        number = number_format or DEFAULT_NUMBER_FORMAT
        for part in parts:
            name = re.split(r"[+\-,]", part[1:-1], maxsplit=1)[0]
            if _COUNTER.match(name):
                # Kimai's attempts 0 and 1 both add 1 (an offset of 0 counts as 1).
                counter = counts.setdefault(name, count(name)) + max(attempt - 1, 0)
                value = render_number(part, counter=counter, today=today, counter_names=frozenset({name}))
            else:
                value = render_number(part, counter=0, today=today, counter_names=frozenset())
            number = number.replace(part, value)
        if not taken(number):
            return number
    return None


def check_number_format(number_format: str) -> None:
    try:
        next_invoice_number(
            number_format, today=dt.date(2000, 1, 1), count=lambda _: 0, taken=lambda _: False
        )
    except NumberFormatError as exc:
        raise InvoiceError(f"invalid number format {number_format!r}: {exc}") from None


def _lines(timesheets: list[Timesheet]) -> list[document.Line]:
    return [
        document.Line(
            begin=ts.begin,
            duration=ts.duration,
            user=ts.user.display_name,
            project=ts.project.name,
            activity=ts.activity.name,
            description=ts.description,
            rate=float(ts.rate),
        )
        for ts in timesheets
    ]


def _address(customer: Customer) -> list[str]:
    city = " ".join(part for part in (customer.post_code, customer.city) if part)
    parts = [customer.address, customer.address_line1, customer.address_line2, customer.address_line3, city]
    return [part for part in parts if part]


def first_super_admin(session: Session) -> User | None:
    """The oldest enabled super admin: the default creator of invoices made on the command line."""
    users = session.scalars(select(User).where(User.enabled.is_(True)).order_by(User.id))
    return next((user for user in users if "ROLE_SUPER_ADMIN" in user.roles), None)


def create_invoice(
    session: Session,
    *,
    customer_id: int,
    begin: dt.date,
    end: dt.date,
    user: User,
    timezone: str | None = None,
    vat: float = 0.0,
    due_days: int = 30,
    comment: str | None = None,
    number_format: str = DEFAULT_NUMBER_FORMAT,
    now: dt.datetime | None = None,
) -> Invoice | None:
    """An invoice for the customer's stopped, billable, not yet exported timesheets that begin
    between ``begin`` 00:00:00 and ``end`` 23:59:59 in ``timezone`` (default: the user's), as
    Kimai's ``invoice:create`` makes it: total = sum of the rates plus ``vat`` percent, created by
    ``user`` in their timezone. The timesheets are marked exported and linked to the invoice, and an
    HTML document is stored with it. None (and nothing written) when there is no such timesheet."""
    if begin > end:
        raise InvoiceError("the begin date is after the end date")
    if not 0 <= vat <= 99.99:
        raise InvoiceError("vat must be between 0 and 99.99 (percent)")
    if not 0 <= due_days <= 999:
        raise InvoiceError("due days must be between 0 and 999")
    check_number_format(number_format)
    customer = find(session, Customer, customer_id)
    if customer is None:
        raise InvoiceError(f"unknown customer ID: {customer_id}")
    tz = timezone or user.timezone
    start, stop = start_of_day(begin, tz), end_of_day(end, tz)
    if start is None or stop is None:
        raise InvoiceError("the dates are out of range")
    timesheets = list(
        session.scalars(
            select(Timesheet)
            .join(Project, Project.id == Timesheet.project_id)
            .where(
                Project.customer_id == customer.id,
                Timesheet.end.is_not(None),
                Timesheet.exported.is_(False),
                Timesheet.billable.is_(True),
                Timesheet.begin >= start,
                Timesheet.begin <= stop,  # Kimai's end filter compares the begin
            )
            .order_by(Timesheet.begin, Timesheet.id)
        )
    )
    if not timesheets:
        return None
    created_at = now or utcnow()
    today = created_at.astimezone(zone(user.timezone)).date()
    if session.get_bind().dialect.name == "postgresql":
        # Two concurrent creates would otherwise count the same invoices; SQLite writers are serialised.
        session.execute(select(func.pg_advisory_xact_lock(7_100_010)))
    number = next_invoice_number(
        number_format,
        today=today,
        count=lambda name: _counter(session, name, today, user.timezone, customer.id, user.id),
        taken=lambda n: bool(session.scalar(select(exists().where(Invoice.invoice_number == n)))),
    )
    if number is None:
        raise InvoiceError(f"no free invoice number for the format {number_format!r}")
    if len(number) > 50:
        raise InvoiceError(f"the invoice number {number!r} is longer than 50 characters")
    filename = document.filename(number, customer.name, customer.company)
    if len(filename) >= document.MAX_FILENAME:
        raise InvoiceError(f"the file name {filename!r} is too long (at most 149 characters)")
    if session.scalar(select(exists().where(Invoice.invoice_filename == filename))):
        raise InvoiceError(f"an invoice file {filename!r} exists already")
    subtotal, tax, total = totals([ts.rate for ts in timesheets], vat)
    invoice = Invoice(
        invoice_number=number,
        comment=comment,
        customer_id=customer.id,
        user_id=user.id,
        created_at=created_at,
        timezone=user.timezone,
        total=total,
        tax=tax,
        currency=customer.currency,
        due_days=due_days,
        vat=vat,
        status="new",
        invoice_filename=filename,
        document_type=document.CONTENT_TYPE,
        document=b"",
    )
    session.add(invoice)
    session.flush()
    invoice.document = document.render(
        document.Summary(
            number=number,
            created_at=created_at,
            timezone=user.timezone,
            due_date=due_date(invoice),
            customer=customer.name,
            company=customer.company,
            address=_address(customer),
            issuer=user.display_name,
            currency=customer.currency,
            subtotal=subtotal,
            vat=vat,
            tax=tax,
            total=total,
            comment=comment,
        ),
        _lines(timesheets),
    )
    ids = [ts.id for ts in timesheets]
    session.add_all(InvoiceTimesheet(invoice_id=invoice.id, timesheet_id=i) for i in ids)
    session.execute(
        update(Timesheet).where(Timesheet.id.in_(ids)).values(exported=True, modified_at=created_at),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    changes.record(session, entity=KIND, entity_id=invoice.id, op="upsert")
    for timesheet_id in ids:
        changes.record(session, entity="timesheet", entity_id=timesheet_id, op="upsert")
    return invoice


def set_status(
    session: Session, *, invoice_id: int, status: str, payment_date: dt.date | None = None
) -> Invoice:
    """Kimai's status change: ``new`` and ``pending`` clear the payment date, ``paid`` sets it (the
    given day, else today in the invoice's timezone), ``canceled`` keeps it."""
    if status not in STATUSES:
        raise InvoiceError(f"unknown status {status!r} (choose from {', '.join(STATUSES)})")
    invoice: Invoice | None = find(session, Invoice, invoice_id)
    if invoice is None:
        raise InvoiceError(f"unknown invoice ID: {invoice_id}")
    if payment_date is not None and status != "paid":
        raise InvoiceError("a payment date goes with the status paid only")
    invoice.status = status
    if status in ("new", "pending"):
        invoice.payment_date = None
    elif status == "paid":
        invoice.payment_date = payment_date or utcnow().astimezone(zone(invoice.timezone)).date()
    session.flush()
    changes.record(session, entity=KIND, entity_id=invoice.id, op="upsert")
    return invoice


def invoiced_timesheets(session: Session, invoice_id: int) -> list[int]:
    """Ids of the timesheets the invoice was made from."""
    query = (
        select(InvoiceTimesheet.timesheet_id)
        .where(InvoiceTimesheet.invoice_id == invoice_id)
        .order_by(InvoiceTimesheet.timesheet_id)
    )
    return list(session.scalars(query))
