from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from punchclock.context import Ctx
from punchclock.entities.kinds import ACTIVITY, CUSTOMER, PROJECT, Kind
from punchclock.kimai.body import read_body
from punchclock.kimai.params import ModifiedAfter, strict_datetime
from punchclock.routing import body, documented, no_content, ok
from punchclock.teams import render
from punchclock.teams import service as svc
from punchclock.teams.models import Team
from punchclock.teams.schemas import TeamCollection, TeamEntity, TeamForm

router = APIRouter(prefix="/api/teams", tags=["Team"])


def entity_view(session: Session, team: Team) -> dict[str, Any]:
    return render.entity(
        team,
        members=svc.members_of(session, team.id),
        customers=svc.linked(session, team.id, CUSTOMER),
        projects=svc.linked(session, team.id, PROJECT),
        activities=svc.linked(session, team.id, ACTIVITY),
    )


@router.get("", **documented(list[TeamCollection], errors=(400, 401, 403)), summary="List teams")
async def list_teams(ctx: Ctx, modified_after: ModifiedAfter = None) -> Response:
    since = strict_datetime(modified_after, "UTC")

    def work(s: Session) -> list[dict[str, Any]]:
        return [render.collection(t) for t in svc.list_teams(s, caller=ctx.caller, modified_after=since)]

    return ok(await ctx.read(work))


@router.get("/{id}", **documented(TeamEntity), summary="One team")
async def get_team(id: int, ctx: Ctx) -> Response:
    return ok(await ctx.read(lambda s: entity_view(s, svc.get_team(s, caller=ctx.caller, team_id=id))))


@router.post(
    "",
    **documented(TeamEntity, errors=(400, 401, 403)),
    summary="Create a team (at least one member must be a team lead)",
    openapi_extra=body(TeamForm),
)
async def create_team(ctx: Ctx) -> Response:
    data = await read_body(ctx.request)
    return ok(await ctx.write(lambda s: entity_view(s, svc.create_team(s, caller=ctx.caller, data=data))))


@router.patch(
    "/{id}",
    **documented(TeamEntity, errors=(400, 401, 403, 404)),
    summary="Update a team (absent fields stay; members replaces all members)",
    openapi_extra=body(TeamForm, partial=True),
)
async def update_team(id: int, ctx: Ctx) -> Response:
    data = await read_body(ctx.request)

    def work(s: Session) -> dict[str, Any]:
        return entity_view(s, svc.update_team(s, caller=ctx.caller, team_id=id, data=data))

    return ok(await ctx.write(work))


@router.delete("/{id}", **documented(status=204), summary="Delete a team")
async def delete_team(id: int, ctx: Ctx) -> Response:
    await ctx.write(lambda s: svc.delete_team(s, caller=ctx.caller, team_id=id))
    return no_content()


MEMBER_ERRORS = (400, 401, 403, 404)


@router.post(
    "/{id}/members/{userId}",
    **documented(TeamEntity, errors=MEMBER_ERRORS),
    summary="Add a member (not a team lead; 400 if a member already)",
)
async def add_member(id: int, userId: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        return entity_view(s, svc.add_member(s, caller=ctx.caller, team_id=id, user_id=userId))

    return ok(await ctx.write(work))


@router.delete(
    "/{id}/members/{userId}",
    **documented(TeamEntity, errors=MEMBER_ERRORS),
    summary="Remove a member (400 for a team lead or a non-member)",
)
async def remove_member(id: int, userId: int, ctx: Ctx) -> Response:
    def work(s: Session) -> dict[str, Any]:
        return entity_view(s, svc.remove_member(s, caller=ctx.caller, team_id=id, user_id=userId))

    return ok(await ctx.write(work))


async def _change_access(ctx: Ctx, team_id: int, kind: Kind, entity_id: int, *, give: bool) -> Response:
    change = svc.grant if give else svc.revoke

    def work(s: Session) -> dict[str, Any]:
        return entity_view(s, change(s, caller=ctx.caller, team_id=team_id, kind=kind, entity_id=entity_id))

    return ok(await ctx.write(work))


def _add_access_routes(kind: Kind) -> None:
    """POST (give) and DELETE (take) of ``/{id}/<kind plural>/{<kind>Id}``, as Kimai names them."""
    path = f"/{{id}}/{kind.plural}/{{{kind.name}Id}}"
    label = kind.label.lower()
    other_id = Path(alias=f"{kind.name}Id")  # a default, not Annotated: a local alias stays a string here

    @router.post(
        path,
        **documented(TeamEntity, errors=MEMBER_ERRORS),
        summary=f"Give the team access to a {label} (400 if it has it already)",
        name=f"add_{kind.name}",
    )
    async def give(id: int, ctx: Ctx, other: int = other_id) -> Response:
        return await _change_access(ctx, id, kind, other, give=True)

    @router.delete(
        path,
        **documented(TeamEntity, errors=MEMBER_ERRORS),
        summary=f"Take a {label} from the team (400 if not assigned)",
        name=f"remove_{kind.name}",
    )
    async def take(id: int, ctx: Ctx, other: int = other_id) -> Response:
        return await _change_access(ctx, id, kind, other, give=False)


for _kind in (CUSTOMER, PROJECT, ACTIVITY):
    _add_access_routes(_kind)
