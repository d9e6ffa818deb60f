"""Invoice JSON view: Kimai serializes every field in the Default group, so list and entity agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from punchclock.customers.render import embedded as customer_view
from punchclock.db import utcnow
from punchclock.entities.render import meta_fields
from punchclock.invoices.models import Invoice
from punchclock.kimai.datetimes import format_datetime, start_of_day, zone
from punchclock.users.render import collection as user_view


def due_date(invoice: Invoice) -> dt.datetime:
    """createdAt plus dueDays calendar days on the invoice's wall clock (PHP's ``modify``)."""
    local = invoice.created_at.astimezone(zone(invoice.timezone))
    later = local.replace(tzinfo=None) + dt.timedelta(days=invoice.due_days)
    return later.replace(tzinfo=zone(invoice.timezone))


def is_overdue(invoice: Invoice, now: dt.datetime | None = None) -> bool:
    """As Kimai's entity decides it: only the due date counts, not the status."""
    return due_date(invoice) < (now or utcnow())


def view(invoice: Invoice, timezone: str) -> dict[str, Any]:
    """``timezone`` is the caller's: the payment date is a midnight in it."""
    payment = invoice.payment_date
    return {
        "id": invoice.id,
        "invoiceNumber": invoice.invoice_number,
        "comment": invoice.comment,
        "customer": customer_view(invoice.customer),
        "user": user_view(invoice.user),
        "createdAt": format_datetime(invoice.created_at, invoice.timezone),
        "total": float(invoice.total),
        "tax": float(invoice.tax),
        "currency": invoice.currency,
        "dueDays": invoice.due_days,
        "vat": float(invoice.vat),
        "status": invoice.status,
        "invoiceFilename": invoice.invoice_filename,
        "paymentDate": None
        if payment is None
        else format_datetime(start_of_day(payment, timezone), timezone),
        "overdue": is_overdue(invoice),
        "metaFields": meta_fields(invoice),
    }
