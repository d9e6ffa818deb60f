"""Routes that customers, projects and activities share: delete, meta, rates, comments, and the
removed team route. Each kind's own module adds list/get/create/update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from punchclock.auth.permissions import Caller
from punchclock.context import Ctx
from punchclock.entities import crud, schemas
from punchclock.entities import service as svc
from punchclock.entities.crud import EditSpec
from punchclock.kimai.body import read_body
from punchclock.kimai.datetimes import format_datetime
from punchclock.kimai.errors import Gone
from punchclock.routing import body, documented, no_content, ok
from punchclock.users.render import collection as user_collection

EntityView = Callable[[Any, Caller], dict[str, Any]]


def rate_view(row: Any, session: Session) -> dict[str, Any]:
    from punchclock.users.models import User

    user = session.get(User, row.user_id) if row.user_id else None
    return {
        "id": row.id,
        "user": user_collection(user) if user else None,
        "rate": float(row.rate),
        "internalRate": None if row.internal_rate is None else float(row.internal_rate),
        "isFixed": row.fixed,
    }


def comment_view(row: Any, session: Session, timezone: str) -> dict[str, Any]:
    from punchclock.users.models import User

    author = session.get(User, row.created_by_id)
    return {
        "id": row.id,
        "message": row.message,
        "createdBy": user_collection(author) if author else None,
        "createdAt": format_datetime(row.created_at, timezone),
        "pinned": row.pinned,
    }


def add_entity_routes(
    router: APIRouter,
    spec: EditSpec,
    entity_view: EntityView,
    entity_model: Any,
    form_model: type[BaseModel],
    *,
    create_summary: str,
    update_summary: str,
) -> None:
    """Every route of a kind but its list: get, create, update, delete, meta, rates, comments, team."""
    kind = spec.kind
    label = kind.label.lower()

    @router.get("/{id}", **documented(entity_model), summary=f"One {label}")
    async def get_entity(id: int, ctx: Ctx) -> Response:
        def work(s: Session) -> dict[str, Any]:
            return entity_view(
                svc.load(s, caller=ctx.caller, kind=kind, entity_id=id, attributes=("view",)), ctx.caller
            )

        return ok(await ctx.read(work))

    @router.post(
        "",
        **documented(entity_model, errors=(400, 401, 403)),
        summary=create_summary,
        openapi_extra=body(form_model),
    )
    async def create_entity(ctx: Ctx) -> Response:
        data = await read_body(ctx.request)  # decoded (and syntax-checked) before authentication already
        settings = ctx.settings
        number_format = getattr(settings, f"{kind.name}_number_format")

        def work(s: Session) -> dict[str, Any]:
            entity = crud.create(
                s,
                spec=spec,
                caller=ctx.caller,
                data=data,
                number_format=number_format,
                allow_duplicates=settings.allow_duplicate_numbers,
            )
            return entity_view(entity, ctx.caller)

        return ok(await ctx.write(work))

    @router.patch(
        "/{id}",
        **documented(entity_model, errors=(400, 401, 403, 404)),
        summary=update_summary,
        openapi_extra=body(form_model, partial=True),
    )
    async def update_entity(id: int, ctx: Ctx) -> Response:
        data = await read_body(ctx.request)
        allow_duplicates = ctx.settings.allow_duplicate_numbers

        def work(s: Session) -> dict[str, Any]:
            entity = crud.update(
                s, spec=spec, caller=ctx.caller, entity_id=id, data=data, allow_duplicates=allow_duplicates
            )
            return entity_view(entity, ctx.caller)

        return ok(await ctx.write(work))

    @router.delete("/{id}", **documented(status=204), summary=f"Delete a {label}")
    async def delete_entity(id: int, ctx: Ctx) -> Response:
        await ctx.write(lambda s: svc.delete(s, caller=ctx.caller, kind=kind, entity_id=id))
        return no_content()

    @router.patch(
        "/{id}/meta",
        **documented(entity_model, errors=(400, 401, 403, 404)),
        summary=f"Set a custom field of a {label}",
        openapi_extra=body(schemas.MetaFieldForm),
    )
    async def set_meta(id: int, ctx: Ctx) -> Response:
        data = await read_body(ctx.request)
        configured = ctx.settings.meta_fields

        def work(s: Session) -> dict[str, Any]:
            entity = svc.set_meta(
                s, caller=ctx.caller, kind=kind, entity_id=id, data=data, configured=configured
            )
            return entity_view(entity, ctx.caller)

        return ok(await ctx.write(work))

    @router.get("/{id}/rates", **documented(list[schemas.Rate]), summary=f"Rates of a {label}")
    async def list_rates(id: int, ctx: Ctx) -> Response:
        def work(s: Session) -> list[dict[str, Any]]:
            return [rate_view(r, s) for r in svc.list_rates(s, caller=ctx.caller, kind=kind, entity_id=id)]

        return ok(await ctx.read(work))

    @router.post(
        "/{id}/rates",
        **documented(schemas.Rate, errors=(400, 401, 403, 404)),
        summary=f"Add a rate to a {label}",
        openapi_extra=body(schemas.RateForm),
    )
    async def add_rate(id: int, ctx: Ctx) -> Response:
        data = await read_body(ctx.request)
        return ok(
            await ctx.write(
                lambda s: rate_view(svc.add_rate(s, caller=ctx.caller, kind=kind, entity_id=id, data=data), s)
            )
        )

    @router.delete("/{id}/rates/{rateId}", **documented(status=204), summary=f"Delete a rate of a {label}")
    async def delete_rate(id: int, rateId: int, ctx: Ctx) -> Response:
        await ctx.write(
            lambda s: svc.delete_rate(s, caller=ctx.caller, kind=kind, entity_id=id, rate_id=rateId)
        )
        return no_content()

    @router.post(
        "/{id}/team",
        **documented(schemas.Error, status=410, errors=(401,)),
        summary="Removed in Kimai 2.65: use POST /api/teams/{id}/…",
    )
    async def removed_team_route(id: int, ctx: Ctx) -> Response:
        raise Gone('This endpoint was removed, use "POST /api/teams/" instead.')

    if kind.comment_model is None:
        return

    @router.get("/{id}/comments", **documented(list[schemas.Comment]), summary=f"Comments of a {label}")
    async def list_comments(id: int, ctx: Ctx) -> Response:
        def work(s: Session) -> list[dict[str, Any]]:
            rows = svc.list_comments(s, caller=ctx.caller, kind=kind, entity_id=id)
            return [comment_view(r, s, ctx.caller.timezone) for r in rows]

        return ok(await ctx.read(work))

    @router.post(
        "/{id}/comments",
        **documented(schemas.Comment, errors=(400, 401, 403, 404)),
        summary=f"Comment on a {label}",
        openapi_extra=body(schemas.CommentForm),
    )
    async def add_comment(id: int, ctx: Ctx) -> Response:
        data = await read_body(ctx.request)

        def work(s: Session) -> dict[str, Any]:
            row = svc.add_comment(s, caller=ctx.caller, kind=kind, entity_id=id, data=data)
            return comment_view(row, s, ctx.caller.timezone)

        return ok(await ctx.write(work))

    @router.patch(
        "/{id}/comments/{commentId}/pin", **documented(schemas.Comment), summary="Pin or unpin a comment"
    )
    async def pin_comment(id: int, commentId: int, ctx: Ctx) -> Response:
        def work(s: Session) -> dict[str, Any]:
            row = svc.pin_comment(s, caller=ctx.caller, kind=kind, entity_id=id, comment_id=commentId)
            return comment_view(row, s, ctx.caller.timezone)

        return ok(await ctx.write(work))

    @router.delete("/{id}/comments/{commentId}", **documented(status=204), summary="Delete a comment")
    async def delete_comment(id: int, commentId: int, ctx: Ctx) -> Response:
        await ctx.write(
            lambda s: svc.delete_comment(s, caller=ctx.caller, kind=kind, entity_id=id, comment_id=commentId)
        )
        return no_content()
