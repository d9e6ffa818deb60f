"""What every API route needs: the caller, the settings and a way to run database work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from punchclock.auth.dependencies import authenticate
from punchclock.auth.permissions import Caller
from punchclock.config import Settings
from punchclock.db import Database

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    caller: Caller
    settings: Settings
    db: Database
    request: Request

    async def read(self, fn: Callable[[Session], T]) -> T:
        return await self.db.run(fn)

    async def write(self, fn: Callable[[Session], T]) -> T:
        return await self.db.run(fn, write=True)


async def context(request: Request, caller: Annotated[Caller, Depends(authenticate)]) -> Context:
    return Context(
        caller=caller, settings=request.app.state.settings, db=request.app.state.db, request=request
    )


Ctx = Annotated[Context, Depends(context)]
