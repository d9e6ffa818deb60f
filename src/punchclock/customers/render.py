"""Customer JSON views, field for field as Kimai's serializer groups define them.

Each view takes an ORM object or a listing record with the same attributes.
"""

from __future__ import annotations

from typing import Any

from punchclock.auth.permissions import Caller
from punchclock.entities.render import budget_fields, color_fields, meta_fields, modified_at, team_ref


def embedded(c: Any) -> dict[str, Any]:
    """Inside other entities (expanded projects, teams): no teams, no budgets."""
    return {
        "id": c.id,
        "name": c.name,
        "number": c.number,
        "comment": c.comment,
        "visible": c.visible,
        "billable": c.billable,
        "company": c.company,
        "country": c.country,
        "language": c.language,
        "currency": c.currency,
        "phone": c.phone,
        "fax": c.fax,
        "mobile": c.mobile,
        "homepage": c.homepage,
        "timezone": c.timezone,
        "metaFields": meta_fields(c),
        **color_fields(c.color, c.name),
        "modifiedAt": modified_at(c),
    }


def _details(c: Any) -> dict[str, Any]:
    return {
        "vatId": c.vat_id,
        "addressLine1": c.address_line1,
        "addressLine2": c.address_line2,
        "addressLine3": c.address_line3,
        "postCode": c.post_code,
        "city": c.city,
    }


def collection(c: Any, caller: Caller, *, full: bool = False) -> dict[str, Any]:
    view = embedded(c)
    view["teams"] = [team_ref(t) for t in c.teams]
    if full:
        view.update(_details(c))
    view.update(budget_fields(caller, "customer", c))
    return view


def entity(c: Any, caller: Caller) -> dict[str, Any]:
    view = embedded(c)
    view["teams"] = [team_ref(t) for t in c.teams]
    view.update(_details(c))
    view.update(
        {
            "contact": c.contact,
            "email": c.email,
            "address": c.address,
            "invoiceEmail": c.invoice_email,
            "buyerReference": c.buyer_reference,
        }
    )
    view.update(budget_fields(caller, "customer", c))
    return view
