"""Invoice routes (``/api/invoices``). Invoices are created on the command line (``punchclock invoice
create``); the API lists, shows, downloads and deletes them and sets their custom fields."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock.context import Ctx
from punchclock.invoices import render
from punchclock.invoices import service as svc
from punchclock.invoices.models import STATUSES
from punchclock.invoices.schemas import Invoice, InvoiceCollection, InvoiceMetaForm
from punchclock.kimai.body import read_json_body
from punchclock.kimai.errors import BadRequest, Forbidden
from punchclock.kimai.paging import PageRequest
from punchclock.kimai.params import as_ids, strict_datetime
from punchclock.routing import body, documented, no_content, ok

router = APIRouter(prefix="/api/invoices", tags=["Invoice"])

# Parameters are checked in the route, after the permission, in Kimai's order (403 before 400).
# A bare array name (customers=1) is refused as in Kimai (400).


@router.get(
    "",
    **documented(list[InvoiceCollection], errors=(400, 401, 403, 404)),
    summary="List invoices, newest first (paged: X-Page, X-Total-Count, X-Total-Pages, X-Per-Page)",
)
async def list_invoices(
    ctx: Ctx,
    begin: Annotated[
        str | None, Query(description="Created at or after (Y-m-dTH:i:s, your timezone)")
    ] = None,
    end: Annotated[str | None, Query(description="Created at or before (Y-m-dTH:i:s, your timezone)")] = None,
    customers: Annotated[list[str] | None, Query(alias="customers[]", description="Customer ids")] = None,
    customers_scalar: Annotated[str | None, Query(alias="customers", include_in_schema=False)] = None,
    status: Annotated[
        list[str] | None, Query(alias="status[]", description="new, pending, paid or canceled (default: all)")
    ] = None,
    status_scalar: Annotated[str | None, Query(alias="status", include_in_schema=False)] = None,
    page: Annotated[str | None, Query(description="Page, from 1 (404 past the last)")] = None,
    size: Annotated[str | None, Query(description="Rows per page (default 50, at most 500)")] = None,
) -> Response:
    if not ctx.caller.can("view_invoice"):
        raise Forbidden()
    if customers_scalar is not None or status_scalar is not None:
        raise BadRequest()
    if customers and not all(v.isascii() and v.isdigit() for v in customers):
        raise BadRequest()
    if status and not all(value in STATUSES for value in status):
        raise BadRequest()
    tz = ctx.caller.timezone
    filters = svc.Filters(
        begin=strict_datetime(begin, tz),
        end=strict_datetime(end, tz),
        customers=as_ids(customers),
        statuses=list(dict.fromkeys(status or [])),
    )
    paging = PageRequest.parse(page, size)

    def work(s: Session) -> tuple[list[dict[str, Any]], int]:
        rows, total = svc.list_invoices(s, caller=ctx.caller, filters=filters, page=paging)
        return [render.view(invoice, tz) for invoice in rows], total

    views, total = await ctx.read(work)
    return ok(views, headers=paging.headers(total))


@router.get("/{id}", **documented(Invoice), summary="One invoice")
async def get_invoice(id: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        invoice = svc.load(s, caller=ctx.caller, invoice_id=id, attribute="view")
        return render.view(invoice, ctx.caller.timezone)

    return ok(await ctx.read(work))


@router.patch(
    "/{id}/custom-fields",
    **documented(Invoice, errors=(400, 401, 403, 404)),
    summary="Set custom fields of an invoice (only declared ones; others are 404)",
    openapi_extra=body(InvoiceMetaForm, array=True),
)
async def set_custom_fields(id: int, ctx: Ctx) -> Response:
    data = await read_json_body(ctx.request)
    configured = ctx.settings.meta_fields

    def work(s: Session) -> dict[str, Any]:
        invoice = svc.set_custom_fields(s, caller=ctx.caller, invoice_id=id, data=data, configured=configured)
        return render.view(invoice, ctx.caller.timezone)

    return ok(await ctx.write(work))


_TOKEN = re.compile(r"[a-z0-9!#$%&'*.^_`|~-]+", re.IGNORECASE)


def _disposition(filename: str) -> str:
    """``attachment; filename=…``, quoted only when the name is not a plain token (as Symfony does)."""
    if not _TOKEN.fullmatch(filename):
        filename = '"' + filename.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"attachment; filename={filename}"


_DOWNLOAD = documented(errors=(401, 403, 404))
_DOWNLOAD["responses"][200] = {
    "description": "The invoice document, as an attachment named `invoiceFilename`",
    "content": {"text/html": {"schema": {"type": "string"}}},
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=…"}
    },
}
_DOWNLOAD["response_class"] = Response


@router.get("/{id}/download", **_DOWNLOAD, summary="Download the invoice document")
async def download_invoice(id: int, ctx: Ctx) -> Response:
    filename, content_type, content = await ctx.read(
        lambda s: svc.download(s, caller=ctx.caller, invoice_id=id)
    )
    return Response(content, media_type=content_type, headers={"Content-Disposition": _disposition(filename)})


@router.delete(
    "/{id}",
    **documented(status=204),
    summary="Delete an invoice and its document (needs delete_invoice, which no built-in role has)",
)
async def delete_invoice(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: svc.delete_invoice(s, caller=ctx.caller, invoice_id=id))
    return no_content()


@router.delete(
    "/documents/{name}",
    **documented(status=204, errors=(400, 401, 403, 404)),
    summary="Delete an uploaded invoice document (there are none: built-in names are 400, others 404)",
)
async def delete_document(name: str, ctx: Ctx) -> Response:
    svc.delete_document(caller=ctx.caller, name=name)
    return no_content()  # pragma: no cover - every name is refused


@router.delete(
    "/templates/{id}",
    **documented(status=204),
    summary="Delete an invoice template (there are none: always 404, found before permitted)",
)
async def delete_template(id: int, ctx: Ctx) -> Response:
    svc.delete_template(template_id=id)
    return no_content()  # pragma: no cover - every id is unknown
