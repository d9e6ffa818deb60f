"""Invoices (/api/invoices… and ``punchclock invoice``), against Kimai 2.66's InvoiceController,
Invoice entity, InvoiceRepository and InvoiceVoter, with the expectations of its InvoiceControllerTest.

Invoices whose API behaviour is under test are inserted directly (as Kimai's tests import fixtures);
creation is tested through the service and the real command line.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from punchclock import changes
from punchclock.auth.permissions import Caller, permissions_for
from punchclock.config import Settings
from punchclock.db import Database, utcnow
from punchclock.entities.kinds import CUSTOMER
from punchclock.entities.models import MetaFieldDefinition
from punchclock.entities.service import delete as delete_entity
from punchclock.invoices import document, service
from punchclock.invoices.models import Invoice, InvoiceMeta
from punchclock.kimai.numbers import NumberFormatError
from punchclock.timesheets.models import Timesheet
from punchclock.users.models import User
from tests.conftest import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    PEOPLE,
    POSTGRES_URL,
    Api,
    add_team,
    backends,
)
from tests.conftest import test_settings as settings_for
from tests.test_cli import Cli, assert_failed
from tests.test_projects import make_activity, make_customer, make_project

URL = "/api/invoices"
SUPER, ADMIN, LEAD, USER = (PEOPLE[key].id for key in ("super", "admin", "teamlead", "user"))
BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
NOT_ALLOWED = {"code": 405, "message": "Method Not Allowed"}

INVOICE_KEYS = {
    "id", "invoiceNumber", "comment", "customer", "user", "createdAt", "total", "tax", "currency",
    "dueDays", "vat", "status", "invoiceFilename", "paymentDate", "overdue", "metaFields",
}  # fmt: skip
CUSTOMER_KEYS = {
    "id", "name", "number", "comment", "visible", "billable", "company", "country", "language",
    "currency", "phone", "fax", "mobile", "homepage", "timezone", "metaFields", "color", "color-safe",
    "modifiedAt",
}  # fmt: skip
USER_KEYS = {
    "id", "username", "email", "enabled", "apiToken", "systemAccount", "alias", "title", "avatar",
    "accountNumber", "color", "color-safe", "initials", "language", "locale", "timezone", "modifiedAt",
}  # fmt: skip


@pytest.fixture
def app_settings(database_url: str) -> Settings:
    return settings_for(
        database_url, meta_fields={"customer": ["crm_id"], "invoice": ["po_number", "cost_center"]}
    )


_numbers = itertools.count(1)


def add_invoice(
    db: Database,
    customer: int,
    *,
    status: str = "new",
    created: dt.datetime = BASE,
    user: int = SUPER,
    timezone: str = "Europe/Berlin",
    **columns: Any,
) -> int:
    """An invoice row written directly, as Kimai's InvoiceFixtures import them."""
    number = columns.pop("invoice_number", f"T-{next(_numbers):05d}")
    values: dict[str, Any] = {
        "invoice_number": number,
        "customer_id": customer,
        "user_id": user,
        "created_at": created,
        "timezone": timezone,
        "total": 119.0,
        "tax": 19.0,
        "currency": "EUR",
        "due_days": 30,
        "vat": 19.0,
        "status": status,
        "invoice_filename": f"{number}.html",
        "document": f"<p>{number}</p>".encode(),
        "document_type": document.CONTENT_TYPE,
        **columns,
    }
    with db.session(write=True) as session:
        invoice = Invoice(**values)
        session.add(invoice)
        session.flush()
        return invoice.id


def add_timesheet(
    db: Database,
    project: int,
    activity: int,
    begin: dt.datetime,
    *,
    hours: float | None = 1,
    rate: float = 100.0,
    user: int = SUPER,
    **columns: Any,
) -> int:
    end = None if hours is None else begin + hours * HOUR
    with db.session(write=True) as session:
        timesheet = Timesheet(
            user_id=user,
            project_id=project,
            activity_id=activity,
            begin=begin,
            end=end,
            duration=0 if end is None else int((end - begin).total_seconds()),
            timezone="Europe/Berlin",
            rate=rate,
            **columns,
        )
        session.add(timesheet)
        session.flush()
        return timesheet.id


def listed(api: Api, query: str = "", *, as_: str = "super") -> list[int]:
    response = api.get(f"{URL}?{query}", as_=as_)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()]


def paging(response: Any) -> tuple[str, ...]:
    headers = response.headers
    return headers["X-Page"], headers["X-Per-Page"], headers["X-Total-Pages"], headers["X-Total-Count"]


@pytest.fixture
def acme(api: Api) -> int:
    return int(make_customer(api, "Acme", company="Acme GmbH")["id"])


# --- list: permissions, shape, paging ------------------------------------------------------------


def test_list_needs_credentials(api: Api) -> None:
    assert api.get(URL, as_=None).status_code == 401


@pytest.mark.parametrize(
    ("role", "status"), [("user", 403), ("teamlead", 200), ("admin", 200), ("super", 200)]
)
def test_list_needs_view_invoice(api: Api, acme: int, db: Database, role: str, status: int) -> None:
    invoice = add_invoice(db, acme)
    response = api.get(URL, as_=role)
    assert response.status_code == status
    if status == 403:
        assert response.json() == FORBIDDEN
    else:
        assert [row["id"] for row in response.json()] == [invoice]


def test_the_view_field_for_field(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(
        db,
        acme,
        invoice_number="2024/007",
        comment="thanks",
        status="paid",
        payment_date=dt.date(2024, 5, 3),
        invoice_filename="2024-007-Acme_GmbH.html",
        total=123.45,
        tax=0.0,
        vat=0.0,
        due_days=14,
    )
    customer = {k: v for k, v in api.get(f"/api/customers/{acme}").json().items() if k in CUSTOMER_KEYS}
    creator = {k: v for k, v in api.get(f"/api/users/{SUPER}").json().items() if k in USER_KEYS}
    expected = {
        "id": invoice,
        "invoiceNumber": "2024/007",
        "comment": "thanks",
        "customer": customer,
        "user": creator,
        "createdAt": "2024-05-01T12:00:00+0200",  # the invoice's own timezone
        "total": 123.45,
        "tax": 0.0,
        "currency": "EUR",
        "dueDays": 14,
        "vat": 0.0,
        "status": "paid",
        "invoiceFilename": "2024-007-Acme_GmbH.html",
        "paymentDate": "2024-05-03T00:00:00+0200",
        "overdue": True,  # Kimai looks at the due date only, not at the status
        "metaFields": [],
    }
    assert set(customer) == CUSTOMER_KEYS
    assert set(creator) == USER_KEYS
    listed_view = api.get(URL).json()
    assert listed_view == [expected]
    assert api.get(f"{URL}/{invoice}").json() == expected
    # The payment date is a midnight in the caller's timezone; createdAt stays in the invoice's.
    for role, payment in (("admin", "2024-05-03T00:00:00-0400"), ("teamlead", "2024-05-03T00:00:00+0200")):
        view = api.get(f"{URL}/{invoice}", as_=role).json()
        assert (view["paymentDate"], view["createdAt"]) == (payment, "2024-05-01T12:00:00+0200")
    assert b'"tax":0.0' in api.get(f"{URL}/{invoice}").content  # floats keep their fraction


def test_created_at_shows_the_invoice_timezone(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(
        db, acme, timezone="Pacific/Tongatapu", created=dt.datetime(2024, 5, 1, 23, 0, tzinfo=dt.UTC)
    )
    assert api.get(f"{URL}/{invoice}", as_="admin").json()["createdAt"] == "2024-05-02T12:00:00+1300"


@pytest.mark.parametrize(
    ("age_days", "due_days", "overdue"),
    [(40, 30, True), (29, 30, False), (1, 0, True), (0, 30, False), (400, 999, False)],
)
def test_overdue_is_the_due_date_passing(
    api: Api, acme: int, db: Database, age_days: int, due_days: int, overdue: bool
) -> None:
    created = utcnow() - dt.timedelta(days=age_days)
    for status in ("new", "pending", "paid", "canceled"):
        invoice = add_invoice(db, acme, created=created, due_days=due_days, status=status)
        assert api.get(f"{URL}/{invoice}").json()["overdue"] is overdue, status


def test_the_due_date_counts_calendar_days_across_a_dst_change(db: Database, api: Api, acme: int) -> None:
    # 2024-03-30T12:00 in Berlin (+01:00) plus one day is 2024-03-31T12:00 (+02:00): 23 hours later.
    from punchclock.invoices.render import due_date

    created = dt.datetime(2024, 3, 30, 11, 0, tzinfo=dt.UTC)
    with db.session(write=True) as session:
        invoice = session.get(Invoice, add_invoice(db, acme, created=created, due_days=1))
        assert invoice is not None
        assert due_date(invoice) - created == 23 * HOUR


def test_list_is_newest_first_with_ties_by_id(api: Api, acme: int, db: Database) -> None:
    old = add_invoice(db, acme, created=BASE)
    newest = add_invoice(db, acme, created=BASE + DAY)
    tie_a = add_invoice(db, acme, created=BASE + HOUR)
    tie_b = add_invoice(db, acme, created=BASE + HOUR)
    assert listed(api) == [newest, tie_b, tie_a, old]
    # Kimai declares no order parameters for invoices: they are ignored.
    assert listed(api, "order=ASC&orderBy=name") == [newest, tie_b, tie_a, old]


def test_pagination(api: Api, acme: int, db: Database) -> None:
    ids = [add_invoice(db, acme, created=BASE + i * HOUR) for i in range(20)][::-1]
    response = api.get(f"{URL}?page=2&size=4", as_="teamlead")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == ids[4:8]
    assert paging(response) == ("2", "4", "5", "20")
    assert set(response.json()[0]) == INVOICE_KEYS
    last = api.get(f"{URL}?page=3&size=7")
    assert ([row["id"] for row in last.json()], paging(last)) == (ids[14:], ("3", "7", "3", "20"))
    assert api.get(f"{URL}?page=6&size=4").json() == NOT_FOUND
    assert api.get(f"{URL}?page=99999999999999999999").json() == NOT_FOUND


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ("1", "50", "1", "3")),
        ("size=0", ("1", "50", "1", "3")),
        ("size=501", ("1", "500", "1", "3")),
        ("page=0&size=2", ("1", "2", "2", "3")),
        ("page=2&size=2", ("2", "2", "2", "3")),
        ("size=3", ("1", "3", "1", "3")),  # a full page: the total is counted
    ],
)
def test_page_size_rules(api: Api, acme: int, db: Database, query: str, expected: tuple[str, ...]) -> None:
    for i in range(3):
        add_invoice(db, acme, created=BASE + i * HOUR)
    assert paging(api.get(f"{URL}?{query}")) == expected


def test_an_empty_list_is_one_empty_page(api: Api) -> None:
    response = api.get(URL)
    assert (response.json(), paging(response)) == ([], ("1", "50", "1", "0"))
    assert api.get(f"{URL}?page=2").json() == NOT_FOUND


# --- list: filters ---------------------------------------------------------------------------------


def test_status_filter(api: Api, acme: int, db: Database) -> None:
    made = {
        status: [add_invoice(db, acme, status=status) for _ in range(count)]
        for status, count in (("pending", 5), ("new", 2), ("paid", 7), ("canceled", 1))
    }
    assert sorted(listed(api, "status[]=paid", as_="teamlead")) == made["paid"]
    assert sorted(listed(api, "status[]=paid&status[]=new&status[]=paid")) == sorted(
        made["paid"] + made["new"]
    )
    assert sorted(listed(api, "status[]=canceled")) == made["canceled"]
    assert len(listed(api)) == 15


@pytest.mark.parametrize(
    "query",
    [
        "status[]=bogus",
        "status[]=PAID",
        "status[]=paid&status[]=open",
        "status=paid",
        "customers=1",
        "customers[]=abc",
        "customers[]=-1",
        "customers[]=1.5",
        "begin=2024-05-01",
        "begin=2024-05-01T10:00",
        "begin=2024-05-01 10:00:00",
        "end=2024-02-30T00:00:00",
        "end=2024-05-01T10:00:00+02:00",
        "page=abc",
        "page=-1",
        "size=1.5",
    ],
)
def test_bad_parameters_are_400(api: Api, query: str) -> None:
    assert api.get(f"{URL}?{query}").json() == BAD_REQUEST


def test_permission_comes_before_parameters(api: Api) -> None:
    assert api.get(f"{URL}?status[]=bogus&page=x", as_="user").json() == FORBIDDEN


def test_date_filters_are_inclusive_local_times(api: Api, acme: int, db: Database) -> None:
    before = add_invoice(db, acme, created=dt.datetime(2024, 5, 1, 21, 59, 59, tzinfo=dt.UTC))
    edge = add_invoice(db, acme, created=dt.datetime(2024, 5, 1, 22, 0, tzinfo=dt.UTC))
    after = add_invoice(db, acme, created=dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC))
    # 2024-05-02T00:00:00 in Berlin is 22:00 UTC; in New York it is 04:00 UTC the next morning.
    assert listed(api, "begin=2024-05-02T00:00:00") == [after, edge]
    assert listed(api, "end=2024-05-02T00:00:00") == [edge, before]
    assert listed(api, "begin=2024-05-01T18:00:00", as_="admin") == [after, edge]
    assert listed(api, "begin=2024-05-02T00:00:00&end=2024-05-02T14:00:00") == [after, edge]
    assert listed(api, "begin=2024-05-03T00:00:00") == []


def test_customer_filter(api: Api, acme: int, db: Database) -> None:
    beta = int(make_customer(api, "Beta")["id"])
    mine, theirs = add_invoice(db, acme), add_invoice(db, beta)
    assert listed(api, f"customers[]={acme}") == [mine]
    assert sorted(listed(api, f"customers[]={acme}&customers[]={beta}")) == [mine, theirs]
    # Unknown ids are dropped; alone they filter nothing (Kimai's findByIds).
    assert sorted(listed(api, "customers[]=999")) == [mine, theirs]
    assert listed(api, f"customers[]=999&customers[]={beta}&customers[]={beta}") == [theirs]


def test_team_rules(api: Api, acme: int, db: Database) -> None:
    closed = int(make_customer(api, "Closed")["id"])
    shared = int(make_customer(api, "Shared")["id"])
    add_team(db, "foo", leads=["admin"], customers=[closed])
    add_team(db, "bar", leads=["super"], members=["teamlead"], customers=[shared])
    open_invoice, closed_invoice, shared_invoice = (add_invoice(db, c) for c in (acme, closed, shared))
    # A team lead sees invoices of customers without teams and of their teams' customers.
    assert sorted(listed(api, as_="teamlead")) == [open_invoice, shared_invoice]
    assert sorted(listed(api, as_="admin")) == [open_invoice, closed_invoice, shared_invoice]
    assert api.get(f"{URL}?customers[]={closed}", as_="teamlead").json() == FORBIDDEN
    assert listed(api, f"customers[]={shared}", as_="teamlead") == [shared_invoice]
    assert listed(api, f"customers[]={closed}", as_="admin") == [closed_invoice]
    for path in ("", "/download"):
        assert api.get(f"{URL}/{closed_invoice}{path}", as_="teamlead").status_code == 403
        assert api.get(f"{URL}/{shared_invoice}{path}", as_="teamlead").status_code == 200
        assert api.get(f"{URL}/{closed_invoice}{path}", as_="admin").status_code == 200


# --- one invoice, download -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("user", 403), ("teamlead", 200), ("admin", 200), ("super", 200)]
)
@pytest.mark.parametrize("path", ["", "/download"])
def test_get_permissions(api: Api, acme: int, db: Database, role: str, status: int, path: str) -> None:
    invoice = add_invoice(db, acme)
    response = api.get(f"{URL}/{invoice}{path}", as_=role)
    assert response.status_code == status
    if status == 403:
        assert response.json() == FORBIDDEN


@pytest.mark.parametrize("path", ["", "/download"])
@pytest.mark.parametrize("invoice", ["999", "2147483648", "99999999999999999999", "abc", "-1"])
def test_unknown_invoice_is_404_before_403(api: Api, path: str, invoice: str) -> None:
    assert api.get(f"{URL}/{invoice}{path}", as_="user").json() == NOT_FOUND


def test_reading_needs_credentials(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(db, acme)
    for path in ("", "/download"):
        assert api.get(f"{URL}/{invoice}{path}", as_=None).status_code == 401


def test_download_sends_the_stored_document(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(db, acme, invoice_filename="2024-001-Acme_GmbH.html", document=b"<p>stored</p>")
    response = api.get(f"{URL}/{invoice}/download", as_="teamlead")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=UTF-8"
    assert response.headers["content-disposition"] == "attachment; filename=2024-001-Acme_GmbH.html"
    assert response.content == b"<p>stored</p>"


def test_download_quotes_an_unusual_file_name(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(db, acme, invoice_filename='a b"c.html')
    disposition = api.get(f"{URL}/{invoice}/download").headers["content-disposition"]
    assert disposition == 'attachment; filename="a b\\"c.html"'


# --- custom fields ---------------------------------------------------------------------------------


def custom(api: Api, invoice: int | str, body: Any, *, as_: str = "admin") -> Any:
    return api.patch(f"{URL}/{invoice}/custom-fields", json=body, as_=as_)


def stored_meta(db: Database, invoice: int) -> dict[str, tuple[str | None, bool]]:
    with db.session() as session:
        rows = session.scalars(select(InvoiceMeta).where(InvoiceMeta.entity_id == invoice))
        return {row.name: (row.value, row.visible) for row in rows}


@pytest.fixture
def hidden_field(db: Database) -> None:
    with db.session(write=True) as session:
        session.add(MetaFieldDefinition(entity_type="invoice", name="internal_ref", visible=False))


def test_custom_fields_unknown_invoice_is_404(api: Api) -> None:
    assert custom(api, 42, []).json() == NOT_FOUND
    assert custom(api, 42, [{"name": "po_number", "value": "x"}], as_="user").json() == NOT_FOUND


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "X", "value": "X"}, BAD_REQUEST),  # an object, not a list of them
        ([{"value": "X"}], BAD_REQUEST),
        ([{"name": "X"}], BAD_REQUEST),
        (["po_number"], BAD_REQUEST),
        ([["po_number", "x"]], BAD_REQUEST),
        ([{"name": None, "value": "x"}], BAD_REQUEST),
        ([{"name": "po_number", "value": {"a": 1}}], BAD_REQUEST),
        ([{"name": "X", "value": "Y"}], NOT_FOUND),
        ([{"name": "po_number", "value": "x"}, {"name": "nope", "value": "y"}], NOT_FOUND),
        ([{"name": "po_number", "value": "x"}, {"value": "y"}], BAD_REQUEST),
    ],
)
def test_custom_fields_bad_bodies(
    api: Api, acme: int, db: Database, body: Any, error: dict[str, Any]
) -> None:
    invoice = add_invoice(db, acme)
    assert custom(api, invoice, body).json() == error
    assert stored_meta(db, invoice) == {}  # nothing is saved, not even the fields before the error


def test_custom_fields_are_set(api: Api, acme: int, db: Database, hidden_field: None) -> None:
    invoice = add_invoice(db, acme)
    response = custom(
        api,
        invoice,
        [{"name": "PO_Number", "value": "another,testing,bar"}, {"name": "internal_ref", "value": 13081978}],
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == INVOICE_KEYS
    # Only visible fields are shown; every declared field is stored once one is set (Kimai persists them).
    assert body["metaFields"] == [
        {"name": "po_number", "value": "another,testing,bar"},
        {"name": "cost_center", "value": None},
    ]
    assert stored_meta(db, invoice) == {
        "po_number": ("another,testing,bar", True),
        "cost_center": (None, True),
        "internal_ref": ("13081978", False),
    }
    assert api.get(f"{URL}/{invoice}").json()["metaFields"] == body["metaFields"]


@pytest.mark.parametrize(
    ("value", "stored"),
    [("text", "text"), ("", ""), (None, None), (True, "1"), (False, ""), (7, "7"), (1.5, "1.5"), (2.0, "2")],
)
def test_custom_field_values_are_stored_as_php_strings(
    api: Api, acme: int, db: Database, value: Any, stored: str | None
) -> None:
    invoice = add_invoice(db, acme)
    response = custom(api, invoice, [{"name": "po_number", "value": value}])
    assert response.json()["metaFields"][0] == {"name": "po_number", "value": stored}


def test_custom_fields_from_a_form_body(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(db, acme)
    response = api.patch(
        f"{URL}/{invoice}/custom-fields",
        content="0[name]=po_number&0[value]=42",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["metaFields"][0] == {"name": "po_number", "value": "42"}


def test_an_empty_list_changes_nothing(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(db, acme)
    for body in ([], {}):
        assert custom(api, invoice, body).json()["metaFields"] == []
    assert stored_meta(db, invoice) == {}


def test_custom_fields_update_a_stored_value(api: Api, acme: int, db: Database) -> None:
    invoice = add_invoice(db, acme)
    custom(api, invoice, [{"name": "cost_center", "value": "a"}])
    response = custom(api, invoice, [{"name": "COST_CENTER", "value": "b"}])
    assert response.json()["metaFields"] == [
        {"name": "po_number", "value": None},
        {"name": "cost_center", "value": "b"},
    ]


@pytest.mark.parametrize(
    ("role", "status"), [("user", 403), ("teamlead", 200), ("admin", 200), ("super", 200)]
)
def test_custom_fields_need_create_invoice(api: Api, acme: int, db: Database, role: str, status: int) -> None:
    invoice = add_invoice(db, acme)
    assert custom(api, invoice, [{"name": "po_number", "value": "1"}], as_=role).status_code == status


def test_custom_fields_need_customer_access(api: Api, acme: int, db: Database) -> None:
    add_team(db, "foo", leads=["admin"], customers=[acme])
    invoice = add_invoice(db, acme)
    assert custom(api, invoice, [{"name": "po_number", "value": "1"}], as_="teamlead").json() == FORBIDDEN
    assert custom(api, invoice, [], as_=None).status_code == 401


def test_custom_fields_record_the_change(db: Database, api: Api, acme: int) -> None:
    invoice = add_invoice(db, acme)
    caller = person_caller("admin")
    with db.session(write=True) as session:
        service.set_custom_fields(
            session,
            caller=caller,
            invoice_id=invoice,
            data=[{"name": "po_number", "value": "1"}],
            configured={"invoice": ["po_number"]},
        )
        assert changes.recorded(session) == [("invoice", invoice, "upsert")]


# --- delete ----------------------------------------------------------------------------------------


def person_caller(key: str, *extra: str) -> Caller:
    person = PEOPLE[key]
    return Caller(
        id=person.id,
        username=person.username,
        timezone=person.timezone,
        language="en",
        roles=person.roles,
        permissions=permissions_for(person.roles) | set(extra),
    )


@pytest.mark.parametrize("role", ["user", "teamlead", "admin", "super"])
def test_no_built_in_role_may_delete(api: Api, acme: int, db: Database, role: str) -> None:
    invoice = add_invoice(db, acme)
    assert api.delete(f"{URL}/{invoice}", as_=role).json() == FORBIDDEN
    assert api.get(f"{URL}/{invoice}").status_code == 200


def test_delete_unknown_is_404_and_needs_credentials(api: Api, acme: int, db: Database) -> None:
    assert api.delete(f"{URL}/2147483647").json() == NOT_FOUND
    assert api.delete(f"{URL}/{add_invoice(db, acme)}", as_=None).status_code == 401


def test_delete_with_the_permission(api: Api, acme: int, db: Database) -> None:
    project = make_project(api, "Web", acme)
    activity = make_activity(api, "Code", project["id"])
    timesheet = add_timesheet(db, project["id"], activity["id"], BASE)
    with db.session(write=True) as session:
        made = service.create_invoice(
            session,
            customer_id=acme,
            begin=dt.date(2024, 5, 1),
            end=dt.date(2024, 5, 1),
            user=session.get(User, SUPER),
        )
        assert made is not None
        invoice = made.id
    custom(api, invoice, [{"name": "po_number", "value": "1"}])
    admin = person_caller("admin")
    with db.session(write=True) as session, pytest.raises(Exception, match="403"):
        service.delete_invoice(session, caller=admin, invoice_id=invoice)
    with db.session(write=True) as session:
        service.delete_invoice(session, caller=person_caller("admin", "delete_invoice"), invoice_id=invoice)
        assert changes.recorded(session) == [("invoice", invoice, "delete")]
    assert api.get(f"{URL}/{invoice}").json() == NOT_FOUND
    assert stored_meta(db, invoice) == {}
    with db.session() as session:
        assert service.invoiced_timesheets(session, invoice) == []
        exported = session.get(Timesheet, timesheet)
        assert exported is not None
        assert exported.exported  # Kimai leaves them exported


def test_deleting_a_customer_deletes_its_invoices(api: Api, acme: int, db: Database) -> None:
    beta = int(make_customer(api, "Beta")["id"])
    gone, kept = add_invoice(db, acme), add_invoice(db, beta)
    custom(api, gone, [{"name": "po_number", "value": "1"}])
    with db.session(write=True) as session:
        delete_entity(session, caller=person_caller("super"), kind=CUSTOMER, entity_id=acme)
        assert ("invoice", gone, "delete") in changes.recorded(session)
    assert listed(api) == [kept]
    assert stored_meta(db, gone) == {}
    assert api.delete(f"/api/customers/{beta}").status_code == 204
    assert listed(api) == []


# --- documents and templates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "role", "expected"),
    [
        ("documents/invoice", "user", FORBIDDEN),
        ("documents/invoice", "teamlead", FORBIDDEN),
        ("documents/this-does-not-exist", "user", FORBIDDEN),
        ("documents/invoice", "admin", BAD_REQUEST),  # a built-in document cannot be deleted
        ("documents/service-date", "super", BAD_REQUEST),
        ("documents/this-does-not-exist", "admin", NOT_FOUND),
        ("documents/12", "admin", NOT_FOUND),
        ("templates/1", "user", NOT_FOUND),  # Kimai resolves the template before the permission
        ("templates/1", "teamlead", NOT_FOUND),
        ("templates/1", "admin", NOT_FOUND),
        ("templates/2147483647", "super", NOT_FOUND),
        ("templates/abc", "admin", NOT_FOUND),
    ],
)
def test_documents_and_templates(api: Api, path: str, role: str, expected: dict[str, Any]) -> None:
    assert api.delete(f"{URL}/{path}", as_=role).json() == expected


def test_documents_and_templates_need_credentials_and_delete(api: Api) -> None:
    for path in ("documents/invoice", "templates/1"):
        assert api.delete(f"{URL}/{path}", as_=None).status_code == 401
    # The template route only deletes (its predecessor accepted GET).
    assert api.get(f"{URL}/templates/1").json() == NOT_ALLOWED


# --- creating invoices (service) -------------------------------------------------------------------


@pytest.fixture
def world(api: Api, acme: int) -> dict[str, int]:
    project = make_project(api, "Web", acme)["id"]
    activity = make_activity(api, "Code", project)["id"]
    beta = make_customer(api, "Beta")["id"]
    other_project = make_project(api, "Other", beta)["id"]
    other_activity = make_activity(api, "Other work", other_project)["id"]
    return {
        "customer": acme,
        "project": project,
        "activity": activity,
        "beta": beta,
        "other_project": other_project,
        "other_activity": other_activity,
    }


def create(db: Database, customer: int, begin: dt.date, end: dt.date, **options: Any) -> Invoice | None:
    with db.session(write=True) as session:
        user = session.get(User, options.pop("user", SUPER))
        assert user is not None
        invoice = service.create_invoice(
            session, customer_id=customer, begin=begin, end=end, user=user, **options
        )
        if invoice is not None:
            invoice.document  # noqa: B018 - loaded while the session is open
        return invoice


MAY = (dt.date(2024, 5, 1), dt.date(2024, 5, 31))
JUNE_3 = dt.datetime(2024, 6, 3, 10, 0, tzinfo=dt.UTC)


def test_create_invoices_the_matching_timesheets(api: Api, db: Database, world: dict[str, int]) -> None:
    p, a = world["project"], world["activity"]
    berlin = dt.timezone(dt.timedelta(hours=2))
    included = [
        add_timesheet(
            db, p, a, dt.datetime(2024, 5, 1, 0, 30, tzinfo=berlin), rate=10.005, description="early"
        ),
        add_timesheet(db, p, a, dt.datetime(2024, 5, 2, 10, 0, tzinfo=berlin), hours=2, rate=100.0),
        add_timesheet(db, p, a, dt.datetime(2024, 5, 31, 23, 30, tzinfo=berlin), rate=50.5, user=USER),
    ]
    excluded = [
        add_timesheet(db, p, a, dt.datetime(2024, 4, 30, 23, 30, tzinfo=berlin)),  # the day before
        add_timesheet(db, p, a, dt.datetime(2024, 6, 1, 0, 30, tzinfo=berlin)),  # the day after
        add_timesheet(db, p, a, dt.datetime(2024, 5, 3, 9, 0, tzinfo=berlin), hours=None),  # running
        add_timesheet(db, p, a, dt.datetime(2024, 5, 4, 9, 0, tzinfo=berlin), exported=True),
        add_timesheet(db, p, a, dt.datetime(2024, 5, 5, 9, 0, tzinfo=berlin), billable=False),
        add_timesheet(
            db, world["other_project"], world["other_activity"], dt.datetime(2024, 5, 6, 9, 0, tzinfo=berlin)
        ),
    ]
    invoice = create(db, world["customer"], *MAY, vat=19, due_days=14, comment="May", now=JUNE_3)
    assert invoice is not None
    # 10.005 + 100 + 50.5 = 160.505 -> 160.51; tax 19 % = 30.4969 -> 30.50; total 191.01.
    assert (invoice.total, invoice.tax, invoice.vat) == (191.01, 30.50, 19.0)
    assert (invoice.invoice_number, invoice.invoice_filename) == ("2024/001", "2024-001-Acme_GmbH.html")
    assert (invoice.status, invoice.currency, invoice.due_days, invoice.comment) == ("new", "EUR", 14, "May")
    assert (invoice.created_at, invoice.timezone, invoice.user_id) == (JUNE_3, "Europe/Berlin", SUPER)
    with db.session() as session:
        assert service.invoiced_timesheets(session, invoice.id) == included
        flags = dict(session.execute(select(Timesheet.id, Timesheet.exported)).all())
    assert [flags[i] for i in included] == [True] * 3
    assert [flags[i] for i in excluded] == [False, False, False, True, False, False]
    html = invoice.document.decode()
    for expected in (
        "Invoice 2024/001",
        "Acme GmbH",
        "early",
        "191.01 EUR",
        "john_user",
        "Due: 2024-06-17",
        "Tax (19 %)",
    ):
        assert expected in html
    view = api.get(f"{URL}/{invoice.id}").json()
    assert (view["total"], view["createdAt"], view["status"]) == (191.01, "2024-06-03T12:00:00+0200", "new")
    assert api.get(f"{URL}/{invoice.id}/download").content == invoice.document
    assert api.get(f"/api/timesheets/{included[0]}").json()["exported"] is True


def test_create_records_every_change(db: Database, world: dict[str, int]) -> None:
    first = add_timesheet(db, world["project"], world["activity"], BASE + DAY)
    second = add_timesheet(db, world["project"], world["activity"], BASE)
    with db.session(write=True) as session:
        user = session.get(User, SUPER)
        assert user is not None
        invoice = service.create_invoice(
            session, customer_id=world["customer"], begin=MAY[0], end=MAY[1], user=user
        )
        assert invoice is not None
        assert changes.recorded(session) == [
            ("invoice", invoice.id, "upsert"),
            ("timesheet", second, "upsert"),
            ("timesheet", first, "upsert"),
        ]


def test_nothing_to_invoice_creates_nothing(api: Api, db: Database, world: dict[str, int]) -> None:
    add_timesheet(db, world["project"], world["activity"], BASE)
    assert create(db, world["customer"], *MAY, now=JUNE_3) is not None
    assert create(db, world["customer"], *MAY, now=JUNE_3) is None  # all exported now
    assert create(db, world["beta"], *MAY) is None
    assert len(listed(api)) == 1


def test_numbers_count_invoices_of_the_year(api: Api, db: Database, world: dict[str, int]) -> None:
    numbers = []
    for day in (1, 2, 3):
        add_timesheet(db, world["project"], world["activity"], BASE + day * DAY)
        invoice = create(db, world["customer"], *MAY, now=JUNE_3)
        assert invoice is not None
        numbers.append(invoice.invoice_number)
    add_timesheet(db, world["other_project"], world["other_activity"], BASE)
    beta = create(db, world["beta"], *MAY, now=JUNE_3, number_format="{cc,2}/{c}")
    next_year = dt.datetime(2025, 1, 2, 10, 0, tzinfo=dt.UTC)
    add_timesheet(db, world["project"], world["activity"], BASE + 9 * DAY)
    later = create(db, world["customer"], *MAY, now=next_year)
    assert numbers == ["2024/001", "2024/002", "2024/003"]
    assert beta is not None
    assert beta.invoice_number == "01/4"  # the customer's first, the fourth in all
    assert later is not None
    assert later.invoice_number == "2025/001"


def test_the_dates_are_days_in_the_users_timezone(db: Database, world: dict[str, int]) -> None:
    # 2024-05-01T02:00 in Tonga (+13:00) is 2024-04-30T13:00 UTC.
    timesheet = add_timesheet(
        db, world["project"], world["activity"], dt.datetime(2024, 4, 30, 13, 0, tzinfo=dt.UTC)
    )
    assert create(db, world["customer"], *MAY, timezone="Europe/Berlin") is None
    invoice = create(db, world["customer"], *MAY, user=USER)  # john_user lives in Tonga
    assert invoice is not None
    assert invoice.timezone == "Pacific/Tongatapu"
    with db.session() as session:
        assert service.invoiced_timesheets(session, invoice.id) == [timesheet]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"customer_id": 999}, "unknown customer ID: 999"),
        ({"begin": dt.date(2024, 6, 1)}, "the begin date is after the end date"),
        ({"vat": 100.0}, "vat must be between 0 and 99.99 (percent)"),
        ({"vat": -1.0}, "vat must be between 0 and 99.99 (percent)"),
        ({"due_days": 1000}, "due days must be between 0 and 999"),
        ({"number_format": "{cy+}"}, "invalid number format '{cy+}': Unknown increment found"),
        ({"number_format": "X" * 51}, f"the invoice number '{'X' * 51}' is longer than 50 characters"),
    ],
)
def test_create_refuses_bad_input(
    db: Database, world: dict[str, int], options: dict[str, Any], message: str
) -> None:
    add_timesheet(db, world["project"], world["activity"], BASE)
    arguments: dict[str, Any] = {"customer_id": world["customer"], "begin": MAY[0], "end": MAY[1], **options}
    with db.session(write=True) as session:
        user = session.get(User, SUPER)
        assert user is not None
        with pytest.raises(service.InvoiceError) as raised:
            service.create_invoice(session, user=user, **arguments)
    assert str(raised.value) == message


def test_a_taken_file_name_is_refused(db: Database, world: dict[str, int]) -> None:
    add_invoice(db, world["customer"], invoice_number="X1", invoice_filename="2024-001-Acme_GmbH.html")
    add_timesheet(db, world["project"], world["activity"], BASE)
    with pytest.raises(
        service.InvoiceError, match=re.escape("an invoice file '2024-001-Acme_GmbH.html' exists already")
    ):
        create(db, world["customer"], *MAY, now=JUNE_3, number_format="2024\\001")


@pytest.mark.parametrize(
    ("rates", "vat", "expected"),
    [
        ([], 19.0, (0.0, 0.0, 0.0)),
        ([100.0], 19.0, (100.0, 19.0, 119.0)),
        ([10.005], 0.0, (10.01, 0.0, 10.01)),
        ([33.33], 7.7, (33.33, 2.57, 35.9)),  # 2.56641 -> 2.5664 -> 2.57
        ([0.1, 0.2], 0.0, (0.3, 0.0, 0.3)),
        ([1.115, 2.225], 10.0, (3.34, 0.33, 3.67)),
        ([-10.0], 19.0, (-10.0, -1.9, -11.9)),
    ],
)
def test_totals(rates: list[float], vat: float, expected: tuple[float, float, float]) -> None:
    assert service.totals(rates, vat) == expected


@pytest.mark.parametrize(
    ("number_format", "counts", "taken", "expected"),
    [
        ("{Y}/{cy,3}", {"cy": 0}, set(), "2024/001"),
        ("{Y}/{cy,3}", {"cy": 41}, set(), "2024/042"),
        ("", {"cy": 4}, set(), "2024/005"),
        ("R{cc}-{cu,2}", {"cc": 2, "cu": 0}, set(), "R3-01"),
        ("{y}{M}{D}-{cd}", {"cd": 0}, set(), "240603-1"),
        ("{m}.{d}/{cm}", {"cm": 9}, set(), "6.3/10"),
        ("{c+10,5}", {"c": 0}, set(), "00010"),  # +N replaces the implied +1, as in Kimai
        ("{c-1}", {"c": 5}, set(), "4"),
        (
            "{ccy}/{ccm}/{ccd}/{cuy}/{cum}/{cud}",
            dict.fromkeys(("ccy", "ccm", "ccd", "cuy", "cum", "cud"), 1),
            set(),
            "2/2/2/2/2/2",
        ),
        ("INV-{cname}", {}, set(), "INV-{cname}"),  # not supported: kept as written
        ("{Y}/{cy,3}", {"cy": 0}, {"2024/001"}, "2024/002"),
        ("{Y}/{cy,3}", {"cy": 0}, {"2024/001", "2024/002"}, "2024/003"),
        ("FIXED", {}, {"FIXED"}, None),
    ],
)
def test_invoice_numbers(
    number_format: str, counts: dict[str, int], taken: set[str], expected: str | None
) -> None:
    number = service.next_invoice_number(
        number_format, today=dt.date(2024, 6, 3), count=counts.__getitem__, taken=taken.__contains__
    )
    assert number == expected


def test_a_broken_number_format_raises() -> None:
    with pytest.raises(NumberFormatError):
        service.next_invoice_number(
            "{c,x}", today=dt.date(2024, 6, 3), count=lambda _: 0, taken=lambda _: False
        )


@pytest.mark.parametrize(
    ("number", "customer", "company", "expected"),
    [
        ("2024/001", "Acme", "Acme GmbH", "2024-001-Acme_GmbH.html"),
        ("2024/001", "Acme", None, "2024-001-Acme.html"),
        ("2024\\7", "Müller & Söhne", "", "2024-7-Muller_Sohne.html"),
        ("A 1", "x/y?z#", None, "A_1-x_y_z.html"),
        ("1", "日本", None, "1.html"),
    ],
)
def test_file_names(number: str, customer: str, company: str | None, expected: str) -> None:
    assert document.filename(number, customer, company) == expected


def test_the_document_escapes_text(db: Database, api: Api, world: dict[str, int]) -> None:
    api.patch(f"/api/customers/{world['customer']}", json={"company": "<b>Acme</b>"})
    add_timesheet(db, world["project"], world["activity"], BASE, description="<script>x</script>")
    invoice = create(db, world["customer"], *MAY, comment="a & b")
    assert invoice is not None
    html = invoice.document.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;b&gt;Acme&lt;/b&gt;" in html
    assert "a &amp; b" in html


def test_status_changes(api: Api, db: Database, world: dict[str, int]) -> None:
    invoice = add_invoice(db, world["customer"])

    def status(value: str, paid_on: dt.date | None = None) -> tuple[str, str | None]:
        with db.session(write=True) as session:
            service.set_status(session, invoice_id=invoice, status=value, payment_date=paid_on)
            assert changes.recorded(session) == [("invoice", invoice, "upsert")]
        view = api.get(f"{URL}/{invoice}").json()
        return view["status"], view["paymentDate"]

    assert status("paid", dt.date(2024, 5, 20)) == ("paid", "2024-05-20T00:00:00+0200")
    assert status("canceled") == ("canceled", "2024-05-20T00:00:00+0200")  # kept
    assert status("pending") == ("pending", None)
    # Paid without a day: today in the invoice's timezone (Berlin, the caller's too).
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    paid_view = status("paid")
    assert paid_view[0] == "paid"
    assert paid_view[1] is not None
    assert paid_view[1].startswith(f"{today}T00:00:00+0")
    assert status("new") == ("new", None)
    with db.session(write=True) as session:
        for value, paid_on, message in (
            ("open", None, "unknown status 'open' (choose from new, pending, paid, canceled)"),
            ("pending", dt.date(2024, 5, 1), "a payment date goes with the status paid only"),
        ):
            with pytest.raises(service.InvoiceError, match=message.replace("(", r"\(").replace(")", r"\)")):
                service.set_status(session, invoice_id=invoice, status=value, payment_date=paid_on)
        with pytest.raises(service.InvoiceError, match="unknown invoice ID: 999"):
            service.set_status(session, invoice_id=999, status="paid")


# --- the command line ------------------------------------------------------------------------------

# These tests own this PostgreSQL schema (the API tests use "public", test_cli its own).
SCHEMA = "cli_invoice_tests"


@pytest.fixture(params=backends())
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return Cli("sqlite", f"sqlite:///{tmp_path / 'invoices.db'}", tmp_path)
    url = Settings(database_url=POSTGRES_URL).database_url
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    db.dispose()
    schema_url = make_url(url).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    return Cli("postgresql", schema_url.render_as_string(hide_password=False), tmp_path)


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return Cli("sqlite", f"sqlite:///{tmp_path / 'invoices.db'}", tmp_path)


def test_cli_creates_an_invoice(cli: Cli) -> None:
    token = cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",), timezone="Europe/Berlin")
    with cli.api() as api:
        auth = {"Authorization": f"Bearer {token}"}

        def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
            response = api.client.post(url, json=body, headers=auth)
            assert response.status_code == 200, response.text
            return dict(response.json())

        customer = post("/api/customers", {"name": "Acme", "company": "Acme GmbH", "currency": "CHF"})["id"]
        project = post("/api/projects", {"name": "Web", "customer": customer})["id"]
        activity = post("/api/activities", {"name": "Code", "project": project})["id"]
        for day, rate in ((2, 100), (3, 20.5)):
            post(
                "/api/timesheets",
                {
                    "project": project,
                    "activity": activity,
                    "begin": f"2024-05-0{day}T09:00:00",
                    "end": f"2024-05-0{day}T10:00:00",
                    "fixedRate": rate,
                    "description": f"day {day}",
                },
            )
    args = ("invoice", "create", "--customer", str(customer), "--begin", "2024-05-01", "--end", "2024-05-31")
    out = cli.ok(*args, "--vat", "8.1", "--number-format", "INV-{c,4}", "--comment", "May")
    assert out == (
        "created invoice INV-0001 (id 1) for Acme: 2 timesheets, total 130.26 CHF, "
        "file INV-0001-Acme_GmbH.html\n"
    )
    assert cli.ok(*args) == (
        f"no invoice created: customer {customer} has no stopped, billable, not yet exported timesheets "
        "from 2024-05-01 to 2024-05-31\n"
    )
    assert cli.ok("invoice", "status", "1", "paid", "--payment-date", "2024-06-10") == (
        "invoice INV-0001 (id 1) is paid, paid on 2024-06-10\n"
    )
    with cli.api(meta_fields={"invoice": ["po_number"]}) as api:
        auth = {"Authorization": f"Bearer {token}"}
        invoices = api.client.get(URL, headers=auth).json()
        assert [(i["invoiceNumber"], i["total"], i["tax"], i["vat"]) for i in invoices] == [
            ("INV-0001", 130.26, 9.76, 8.1)
        ]
        assert (invoices[0]["status"], invoices[0]["paymentDate"]) == ("paid", "2024-06-10T00:00:00+0200")
        assert (invoices[0]["user"]["username"], invoices[0]["comment"]) == ("boss", "May")
        download = api.client.get(f"{URL}/1/download", headers=auth)
        assert download.headers["content-disposition"] == "attachment; filename=INV-0001-Acme_GmbH.html"
        assert "day 2" in download.text
        assert "day 3" in download.text
        rows = api.client.get("/api/timesheets?exported=1", headers=auth).json()
        assert len(rows) == 2
        response = api.client.patch(
            f"{URL}/1/custom-fields", json=[{"name": "po_number", "value": "7"}], headers=auth
        )
        assert response.json()["metaFields"] == [{"name": "po_number", "value": "7"}]


def test_cli_invoice_by_a_named_user(sqlite_cli: Cli) -> None:
    token = sqlite_cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    sqlite_cli.seed_user("tina", roles=("ROLE_TEAMLEAD",), timezone="Pacific/Tongatapu")
    with sqlite_cli.api() as api:
        auth = {"Authorization": f"Bearer {token}"}
        customer = api.client.post("/api/customers", json={"name": "Acme"}, headers=auth).json()["id"]
        project = api.client.post("/api/projects", json={"name": "Web", "customer": customer}, headers=auth)
        activity = api.client.post(
            "/api/activities", json={"name": "Code", "project": project.json()["id"]}, headers=auth
        )
        # 2024-05-01T01:00 in Tonga (+13:00): still April in Berlin.
        body = {
            "project": project.json()["id"],
            "activity": activity.json()["id"],
            "begin": "2024-04-30T12:00:00Z",
            "end": "2024-04-30T13:00:00Z",
            "fixedRate": 10,
        }
        assert api.client.post("/api/timesheets", json=body, headers=auth).status_code == 200
    args = ["invoice", "create", "--customer", str(customer), "--begin", "2024-05-01", "--end", "2024-05-01"]
    assert sqlite_cli.ok(*args).startswith("no invoice created")  # boss lives in Berlin
    out = sqlite_cli.ok(*args, "--user", "tina", "--number-format", "T{cu}")
    assert out == "created invoice T1 (id 1) for Acme: 1 timesheet, total 10.00 EUR, file T1-Acme.html\n"
    with sqlite_cli.api() as api:
        view = api.client.get(f"{URL}/1", headers={"Authorization": f"Bearer {token}"}).json()
    assert view["user"]["username"] == "tina"
    assert view["createdAt"].endswith("+1300")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--begin", "2024-05-32"], "not a date (YYYY-MM-DD): 2024-05-32"),
        (["--end", "yesterday"], "not a date (YYYY-MM-DD): yesterday"),
        (["--timezone", "Mars/Base"], "unknown timezone: Mars/Base"),
        (["--user", "nobody"], "unknown user: nobody"),
        (["--vat", "120"], "vat must be between 0 and 99.99 (percent)"),
        (["--begin", "2024-06-01"], "the begin date is after the end date"),
    ],
)
def test_cli_create_failures(sqlite_cli: Cli, args: list[str], message: str) -> None:
    sqlite_cli.seed_user("boss", roles=("ROLE_SUPER_ADMIN",))
    defaults = {"--customer": "1", "--begin": "2024-05-01", "--end": "2024-05-31"}
    defaults.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = [part for pair in defaults.items() for part in pair]
    assert_failed(sqlite_cli.run("invoice", "create", *argv), message)


def test_cli_without_a_super_admin(sqlite_cli: Cli) -> None:
    sqlite_cli.seed_user("tina", roles=("ROLE_TEAMLEAD",))
    result = sqlite_cli.run(
        "invoice", "create", "--customer", "1", "--begin", "2024-05-01", "--end", "2024-05-31"
    )
    assert_failed(result, "there is no super admin: give --user")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1", "paid"], "unknown invoice ID: 1"),
        (["1", "open"], "unknown status 'open' (choose from new, pending, paid, canceled)"),
        (["1", "paid", "--payment-date", "2024-13-01"], "not a date (YYYY-MM-DD): 2024-13-01"),
    ],
)
def test_cli_status_failures(sqlite_cli: Cli, args: list[str], message: str) -> None:
    assert_failed(sqlite_cli.run("invoice", "status", *args), message)


@pytest.mark.parametrize(
    "args",
    [
        ["invoice", "create", "--begin", "2024-05-01", "--end", "2024-05-31"],
        ["invoice", "create", "--customer", "x", "--begin", "2024-05-01", "--end", "2024-05-31"],
        [
            "invoice",
            "create",
            "--customer",
            "1",
            "--begin",
            "2024-05-01",
            "--end",
            "2024-05-31",
            "--vat",
            "a",
        ],
        ["invoice", "status", "1"],
    ],
)
def test_cli_usage_errors_exit_64(sqlite_cli: Cli, args: list[str]) -> None:
    result = sqlite_cli.run(*args)
    assert result.returncode == 64, result.stderr
    assert "Traceback" not in result.stderr


def test_page_and_size_with_thousands_of_digits(api: Api, acme: int, db: Database) -> None:
    # PHP's int cast saturates: a huge page is past the end, a huge size is the maximum.
    add_invoice(db, acme, created=BASE)
    huge = "9" * 5000
    assert api.get(f"{URL}?page={huge}").json() == NOT_FOUND
    assert paging(api.get(f"{URL}?size={huge}")) == ("1", "500", "1", "1")
