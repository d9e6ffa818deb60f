"""Customers: keyword-only service functions shared by the API and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, not_, or_, select
from sqlalchemy.orm import Session

from punchclock import changes
from punchclock.auth.permissions import Caller
from punchclock.customers.models import Customer, CustomerMeta
from punchclock.entities import fields as common
from punchclock.entities.kinds import CUSTOMER
from punchclock.entities.service import load, next_number, number_taken, term_filter
from punchclock.kimai import forms
from punchclock.kimai.datetimes import timezone_names
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.forms import Field, choice, email, length, not_blank, text
from punchclock.kimai.intl import COUNTRIES, CURRENCIES, LANGUAGES
from punchclock.teams.models import Team, TeamCustomer

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
    no_team = not_(exists().where(TeamCustomer.customer_id == Customer.id))
    mine = exists().where(TeamCustomer.customer_id == Customer.id, TeamCustomer.team_id.in_(caller.team_ids))
    return or_(no_team, mine)


def list_customers(
    session: Session,
    *,
    caller: Caller,
    visible: int = 1,
    order_by: str = "name",
    order: str = "ASC",
    term: str | None = None,
) -> list[Customer]:
    query = select(Customer)
    if visible == 1:
        query = query.where(Customer.visible.is_(True))
    elif visible == 2:
        query = query.where(Customer.visible.is_(False))
    team_rule = visible_to(caller)
    if team_rule is not None:
        query = query.where(team_rule)
    if term:
        query = query.where(term_filter(term, SEARCH_COLUMNS, CustomerMeta, Customer.id))
    column = Customer.id if order_by == "id" else Customer.name
    if order == "DESC":
        query = query.order_by(column.desc(), Customer.id.desc())
    else:
        query = query.order_by(column.asc(), Customer.id.asc())
    return list(session.scalars(query).unique())


def _fields(session: Session, caller: Caller, customer: Customer | None) -> tuple[Field, ...]:
    teams = {t.id for t in customer.teams} if customer else set()
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
    if customer is None:
        result.append(common.teams_field(session, caller))
    result.append(common.COLOR_FIELD)
    result += common.budget_fields(
        money_allowed=caller.may("budget", "customer", teams),
        time_allowed=caller.may("time", "customer", teams),
    )
    result += common.flag_fields()
    return tuple(result)


_DEFAULTS: dict[str, Any] = {
    "country": "DE",
    "language": "en",
    "currency": "EUR",
    "visible": True,
    "billable": True,
    "budget": 0.0,
    "time_budget": 0,
}


def _current(customer: Customer) -> dict[str, Any]:
    return {column.key: getattr(customer, column.key) for column in Customer.__table__.columns}


def _number_rule(session: Session, customer_id: int | None, allow_duplicates: bool) -> Any:
    def check(merged: dict[str, Any]) -> dict[str, list[str]]:
        number = merged.get("number")
        if allow_duplicates or not number_taken(session, model=Customer, number=number, own_id=customer_id):
            return {}
        return {"number": [f"The number {number} is already used."]}

    return check


def create_customer(
    session: Session,
    *,
    caller: Caller,
    data: Any,
    number_format: str = "{cc,4}",
    allow_duplicates: bool = False,
) -> Customer:
    if not caller.can("create_customer"):
        raise Forbidden()
    fields = _fields(session, caller, None)
    # Kimai numbers the new customer before the form runs: a submitted number (even "") replaces it.
    number = next_number(session, model=Customer, number_format=number_format) or None
    current = {**_DEFAULTS, "timezone": caller.timezone, "number": number}
    submission = forms.submit(
        fields,
        data,
        current=current,
        clear_missing=False,
        extra_checks=_number_rule(session, None, allow_duplicates),
    )
    values = common.budget_defaults({**current, **submission.changes})
    teams: list[Team] = values.pop("teams", [])
    customer = Customer(**values)
    customer.teams = teams
    session.add(customer)
    session.flush()
    changes.record(session, entity=CUSTOMER.name, entity_id=customer.id, op="upsert")
    return customer


def update_customer(
    session: Session, *, caller: Caller, customer_id: int, data: Any, allow_duplicates: bool = False
) -> Customer:
    customer: Customer = load(
        session, caller=caller, kind=CUSTOMER, entity_id=customer_id, attributes=("edit",)
    )
    fields = _fields(session, caller, customer)
    submission = forms.submit(
        fields,
        data,
        current=_current(customer),
        clear_missing=False,
        extra_checks=_number_rule(session, customer.id, allow_duplicates),
    )
    for attr, value in common.budget_defaults(dict(submission.changes)).items():
        setattr(customer, attr, value)
    session.flush()
    changes.record(session, entity=CUSTOMER.name, entity_id=customer.id, op="upsert")
    return customer
