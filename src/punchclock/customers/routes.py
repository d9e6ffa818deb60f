from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from punchclock.context import Ctx
from punchclock.customers import render
from punchclock.customers import service as svc
from punchclock.customers.schemas import CustomerCollection, CustomerEntity, CustomerForm
from punchclock.entities.routes import add_entity_routes
from punchclock.kimai.params import ModifiedAfter, Order, Term, Visible, ZeroOne, strict_datetime
from punchclock.routing import documented, ok

router = APIRouter(prefix="/api/customers", tags=["Customer"])


@router.get("", **documented(list[CustomerCollection], errors=(400, 401)), summary="List customers")
async def list_customers(
    ctx: Ctx,
    visible: Visible = "1",
    order: Order = "ASC",
    orderBy: Annotated[
        Literal["id", "name", "modified"],
        Query(description="Sort key. Extension: `modified` sorts by `modifiedAt`"),
    ] = "name",
    term: Term = None,
    full: Annotated[ZeroOne, Query(description="1 adds address details (with the details permission)")] = "0",
    modified_after: ModifiedAfter = None,
) -> Response:
    details = full == "1" and ctx.caller.can("details_customer")
    since = strict_datetime(modified_after, "UTC")

    def work(s: Session) -> list[dict[str, Any]]:
        rows = svc.list_customers(
            s,
            caller=ctx.caller,
            visible=int(visible),
            order=order,
            order_by=orderBy,
            term=term,
            modified_after=since,
        )
        return [render.collection(c, ctx.caller, full=details) for c in rows]

    return ok(await ctx.read(work))


add_entity_routes(
    router,
    svc.EDIT,
    render.entity,
    CustomerEntity,
    CustomerForm,
    create_summary="Create a customer",
    update_summary="Update a customer (absent fields stay unchanged)",
)
