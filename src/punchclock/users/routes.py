from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from punchclock.context import Ctx
from punchclock.kimai.body import read_body
from punchclock.kimai.params import ModifiedAfter, Order, Term, ZeroOneBool, strict_datetime
from punchclock.routing import body, documented, no_content, ok
from punchclock.users import forms as user_forms
from punchclock.users import render, tokens
from punchclock.users import service as svc
from punchclock.users.models import User
from punchclock.users.preferences import Prepared
from punchclock.users.schemas import (
    ApiToken,
    ApiTokenCreated,
    ApiTokenForm,
    PreferenceForm,
    UserCollection,
    UserCreateForm,
    UserEditForm,
    UserEntity,
)

router = APIRouter(prefix="/api/users", tags=["User"])


class _Digits(Convertor[str]):
    """Kimai's ``\\d+`` ids: ``/api/users/me`` then matches only its own route, so another method
    there is 405 (as in Symfony), not a 404 from ``/{id}``."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("digits", _Digits())


@router.get("", **documented(list[UserEntity | UserCollection], errors=(400, 401, 403)), summary="List users")
async def list_users(
    ctx: Ctx,
    visible: Annotated[
        Literal["1", "2", "3"], Query(description="1 = enabled (default), 2 = disabled, 3 = both")
    ] = "1",
    orderBy: Annotated[
        Literal["id", "username", "alias", "email", "modified"],
        Query(description="Sort key. Extension: `modified` sorts by `modifiedAt`"),
    ] = "username",
    order: Order = "ASC",
    term: Term = None,
    full: Annotated[ZeroOneBool, Query(description="1 or true: the entity fields of each user")] = "0",
    modified_after: ModifiedAfter = None,
) -> Response:
    entities = full in ("1", "true")
    since = strict_datetime(modified_after, "UTC")

    def work(s: Session) -> list[dict[str, Any]]:
        rows = svc.list_users(
            s,
            caller=ctx.caller,
            visible=int(visible),
            order_by=orderBy,
            order=order,
            term=term,
            full=entities,
            modified_after=since,
        )
        if entities:
            return [svc.entity_view(s, caller=ctx.caller, user=u) for u in rows]
        return [render.collection(u) for u in rows]

    return ok(await ctx.read(work))


@router.get("/me", **documented(UserEntity, errors=(401, 403)), summary="Your own user")
async def me(ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        user = s.get(User, ctx.caller.id)
        assert user is not None  # authenticated a moment ago
        return svc.entity_view(s, caller=ctx.caller, user=user)

    return ok(await ctx.read(work))


EXTENSION = (
    "Extension (Kimai creates tokens only in its web interface): a user may have several named "
    "tokens, each with an optional expiry date; the secret is returned once, only its SHA-256 hash "
    "is stored. Delete one with `DELETE /api/users/api-token/{id}`."
)


@router.get(
    "/me/api-tokens",
    **documented(list[ApiToken], errors=(401, 403)),
    summary="Your API tokens (extension)",
    description=EXTENSION,
)
async def list_own_tokens(ctx: Ctx) -> Response:
    def work(s: Session) -> list[dict[str, Any]]:
        rows = tokens.list_own_tokens(s, caller=ctx.caller)
        return [render.api_token(row, ctx.caller.timezone) for row in rows]

    return ok(await ctx.read(work))


@router.post(
    "/me/api-tokens",
    **documented(ApiTokenCreated, errors=(400, 401, 403)),
    summary="Create an API token for yourself (extension)",
    description=EXTENSION,
    openapi_extra=body(ApiTokenForm),
)
async def create_own_token(ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        row, secret = tokens.create_own_token(s, caller=ctx.caller, data=data)
        return render.api_token(row, ctx.caller.timezone, secret=secret)

    return ok(await ctx.write(work))


@router.get("/{id:digits}", **documented(UserEntity), summary="One user")
async def get_user(id: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        user = svc.load_profile(s, caller=ctx.caller, user_id=id, attribute="view")
        return svc.entity_view(s, caller=ctx.caller, user=user, mode=Prepared.BOOTING)

    return ok(await ctx.read(work))


@router.post(
    "",
    **documented(UserEntity, errors=(400, 401, 403)),
    summary="Create a user (absent checkboxes are false: send enabled: true)",
    openapi_extra=body(UserCreateForm),
)
async def create_user(ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        user = user_forms.create_from_form(s, caller=ctx.caller, data=data)
        return svc.entity_view(s, caller=ctx.caller, user=user)

    return ok(await ctx.write(work))


@router.patch(
    "/{id:digits}",
    **documented(UserEntity, errors=(400, 401, 403, 404)),
    summary="Update a user (absent fields stay unchanged; roles replaces all roles)",
    description="Extension: the last enabled super administrator can neither be disabled nor lose "
    "ROLE_SUPER_ADMIN (400 on `enabled` or `roles`).",
    openapi_extra=body(UserEditForm, partial=True),
)
async def update_user(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        user = user_forms.update_from_form(s, caller=ctx.caller, user_id=id, data=data)
        return svc.entity_view(s, caller=ctx.caller, user=user)

    return ok(await ctx.write(work))


@router.patch(
    "/{id:digits}/preferences",
    **documented(UserEntity, errors=(400, 401, 403, 404)),
    summary="Set preferences (unknown name 404, disabled one 403)",
    openapi_extra=body(PreferenceForm, array=True),
)
async def update_preferences(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        user = svc.update_preferences(s, caller=ctx.caller, user_id=id, data=data)
        return svc.entity_view(s, caller=ctx.caller, user=user, mode=Prepared.FULL)

    return ok(await ctx.write(work))


@router.delete("/api-token/{id}", **documented(status=200), summary="Delete an API token (200, empty body)")
async def delete_api_token(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: tokens.delete_token(s, caller=ctx.caller, token_id=id))
    return Response(status_code=200)


@router.delete(
    "/roles/{id}",
    **documented(status=204),
    summary="Delete a custom role (Punchclock has none: always 404)",
)
async def delete_role(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: svc.delete_role(s, caller=ctx.caller, role_id=id))
    return no_content()
