"""Status and configuration endpoints: ping, version, plugins, config/colors."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from punchclock import __version__
from punchclock.context import Ctx
from punchclock.kimai.colors import COLOR_CHOICES
from punchclock.kimai.version import KIMAI_COPYRIGHT, KIMAI_VERSION, KIMAI_VERSION_ID
from punchclock.routing import documented, ok

router = APIRouter(prefix="/api", tags=["Default"])


class Pong(BaseModel):
    message: str = Field(examples=["pong"])


class Version(BaseModel):
    version: str = Field(description="The Kimai API version emulated", examples=[KIMAI_VERSION])
    versionId: int = Field(examples=[KIMAI_VERSION_ID])
    copyright: str
    server: str = Field(description="Extension: the server's own name")
    serverVersion: str = Field(description="Extension: the server's own version")


class Plugin(BaseModel):
    name: str
    version: str


@router.get("/ping", **documented(Pong, errors=(401,)), summary="A test that the API works")
async def ping(ctx: Ctx) -> Response:
    return ok({"message": "pong"})


@router.get("/version", **documented(Version, errors=(401,)), summary="The API version")
async def version(ctx: Ctx) -> Response:
    return ok(
        {
            "version": KIMAI_VERSION,
            "versionId": KIMAI_VERSION_ID,
            "copyright": KIMAI_COPYRIGHT,
            "server": "Punchclock",
            "serverVersion": __version__,
        }
    )


@router.get("/plugins", **documented(list[Plugin], errors=(401,)), summary="Installed plugins (none)")
async def plugins(ctx: Ctx) -> Response:
    return ok([])


@router.get("/config/colors", **documented(dict[str, str], errors=(401,)), summary="The colour choices")
async def colors(ctx: Ctx) -> Response:
    return ok(COLOR_CHOICES)
