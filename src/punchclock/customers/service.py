"""Customers: keyword-only service functions shared by the API and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from punchclock.auth.permissions import Caller
from punchclock.customers.models import Customer, CustomerMeta
from punchclock.entities import fields as common
from punchclock.entities.access import open_to
from punchclock.entities.crud import EditSpec
from punchclock.entities.kinds import CUSTOMER
from punchclock.entities.listing import Record, changed_since, ids_of, record, team_refs, visible_meta
from punchclock.entities.service import by_name, ordered, term_filter
from punchclock.kimai import forms
from punchclock.kimai.datetimes import timezone_names
from punchclock.kimai.forms import Field, choice, email, length, not_blank, text
from punchclock.kimai.intl import COUNTRIES, CURRENCIES, LANGUAGES
from punchclock.teams.models import TeamCustomer

SEARCH_COLUMNS = (
    Customer.name,
    Customer.comment,
    Customer.company,
    Customer.vat_id,
    Customer.number,
    Customer.contact,
    Customer.phone,
    Customer.email,
    Customer.address,
    Customer.invoice_email,
)


def visible_to(caller: Caller) -> Any:
    """Kimai's team filter for lists: customers without teams, or with one of the caller's teams."""
    if caller.sees_all:
        return None
    return open_to(caller, TeamCustomer.customer_id, Customer.id)


def list_customers(
    session: Session,
    *,
    caller: Caller,
    visible: int = 1,
    order_by: str = "name",
    order: str = "ASC",
    term: str | None = None,
    modified_after: dt.datetime | None = None,
) -> list[Record]:
    query = changed_since(select(*Customer.__table__.columns), Customer.modified_at, modified_after)
    if visible == 1:
        query = query.where(Customer.visible.is_(True))
    elif visible == 2:
        query = query.where(Customer.visible.is_(False))
    team_rule = visible_to(caller)
    if team_rule is not None:
        query = query.where(team_rule)
    if term:
        query = query.where(term_filter(term, SEARCH_COLUMNS, CustomerMeta, Customer.id))
    key = {"id": Customer.id, "modified": Customer.modified_at}.get(order_by, by_name(Customer.name))
    query = ordered(query, key, Customer.id, order)
    rows = session.execute(query).all()
    ids = ids_of(query, Customer.id)
    teams = team_refs(session, TeamCustomer.customer_id, ids)
    meta = visible_meta(session, CustomerMeta, ids)
    return [record(row, teams=teams.get(row.id, []), meta=meta.get(row.id, [])) for row in rows]


def _fields(session: Session, caller: Caller, customer: Customer | None) -> tuple[Field, ...]:
    result: list[Field] = [
        common.name_field(),
        Field("number", text, (length(maximum=50),)),
        Field("comment", text),
        Field("company", text, (length(maximum=100),)),
        Field("vatId", text, (length(maximum=50),)),
        Field("contact", text, (length(maximum=100),)),
    ]
    if customer is not None and customer.address:
        result.append(Field("address", text))  # deprecated: only while a legacy address exists
    result += [
        Field("addressLine1", text, (length(maximum=150),)),
        Field("addressLine2", text, (length(maximum=150),)),
        Field("addressLine3", text, (length(maximum=150),)),
        Field("postCode", text, (length(maximum=20),)),
        Field("city", text, (length(maximum=50),)),
        Field("country", choice(COUNTRIES, "Please select a valid country."), (not_blank,)),
        Field("language", choice(LANGUAGES, "Please select a valid language."), (not_blank,)),
        Field("currency", choice(CURRENCIES, "Please select a valid currency."), (not_blank,)),
        Field("phone", text, (length(maximum=30),)),
        Field("fax", text, (length(maximum=30),)),
        Field("mobile", text, (length(maximum=30),)),
        Field("email", text, (email, length(maximum=75))),
        Field("homepage", forms.url, (length(maximum=100),)),
        Field(
            "timezone",
            choice(timezone_names, "Please select a valid timezone."),
            (not_blank, length(maximum=64)),
        ),
        Field("invoiceText", text),
        Field("invoiceTemplate", forms.choice(()), attr="invoice_template_id"),
        Field("invoiceEmail", text, (email, length(maximum=75))),
        Field("buyerReference", text, (length(maximum=50),)),
    ]
    return (*result, *common.shared_fields(session, caller, "customer", customer))


_DEFAULTS: dict[str, Any] = {**common.LISTED_DEFAULTS, "country": "DE", "language": "en", "currency": "EUR"}

EDIT = EditSpec(
    kind=CUSTOMER,
    fields=_fields,
    # A new customer gets the caller's timezone, as in Kimai.
    defaults=lambda caller: {**_DEFAULTS, "timezone": caller.timezone},
)
