from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock.context import Ctx
from punchclock.customers import render
from punchclock.customers import service as svc
from punchclock.customers.schemas import CustomerCollection, CustomerEntity, CustomerForm
from punchclock.entities.kinds import CUSTOMER
from punchclock.entities.routes import add_shared_routes
from punchclock.entities.service import load
from punchclock.kimai.body import read_body
from punchclock.kimai.errors import Forbidden
from punchclock.kimai.params import Order, Term, Visible, ZeroOne
from punchclock.routing import body, documented, ok

router = APIRouter(prefix="/api/customers", tags=["Customer"])


@router.get("", **documented(list[CustomerCollection], errors=(400, 401)), summary="List customers")
async def list_customers(
    ctx: Ctx,
    visible: Visible = "1",
    order: Order = "ASC",
    orderBy: Annotated[Literal["id", "name"], Query(description="Sort key")] = "name",
    term: Term = None,
    full: Annotated[ZeroOne, Query(description="1 adds address details (with the details permission)")] = "0",
) -> Response:
    details = full == "1" and ctx.caller.can("details_customer")

    def work(s: Session) -> list[dict[str, Any]]:
        rows = svc.list_customers(
            s, caller=ctx.caller, visible=int(visible), order=order, order_by=orderBy, term=term
        )  # type: ignore[arg-type]
        return [render.collection(c, ctx.caller, full=details) for c in rows]

    return ok(await ctx.read(work))


@router.get("/{id}", **documented(CustomerEntity), summary="One customer")
async def get_customer(id: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        return render.entity(
            load(s, caller=ctx.caller, kind=CUSTOMER, entity_id=id, attributes=("view",)), ctx.caller
        )

    return ok(await ctx.read(work))


@router.post(
    "",
    **documented(CustomerEntity, errors=(400, 401, 403)),
    summary="Create a customer",
    openapi_extra=body(CustomerForm),
)
async def create_customer(ctx: Ctx) -> Response:
    if not ctx.caller.can("create_customer"):
        raise Forbidden()  # before the body is read, as Kimai checks
    data = await read_body(ctx.request)
    settings = ctx.settings

    def work(s: Session) -> dict[str, Any]:
        customer = svc.create_customer(
            s,
            caller=ctx.caller,
            data=data,
            number_format=settings.customer_number_format,
            allow_duplicates=settings.allow_duplicate_numbers,
        )
        return render.entity(customer, ctx.caller)

    return ok(await ctx.write(work))


@router.patch(
    "/{id}",
    **documented(CustomerEntity, errors=(400, 401, 403, 404)),
    summary="Update a customer (absent fields stay unchanged)",
    openapi_extra=body(CustomerForm),
)
async def update_customer(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        customer = svc.update_customer(
            s,
            caller=ctx.caller,
            customer_id=id,
            data=data,
            allow_duplicates=ctx.settings.allow_duplicate_numbers,
        )
        return render.entity(customer, ctx.caller)

    return ok(await ctx.write(work))


add_shared_routes(router, CUSTOMER, render.entity, CustomerEntity)
