"""Query parameters as Kimai declares them: strict patterns, 400 Bad Request on a mismatch.

Each alias is an ``Annotated`` type for a route signature, so the OpenAPI document shows the same
rules the server applies. A violated pattern surfaces as FastAPI's validation error, which the app
turns into Kimai's ``{"code":400,"message":"Bad Request"}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import StringConstraints

Visible = Annotated[
    Literal["1", "2", "3"], Query(description="1 = visible only (default), 2 = hidden only, 3 = both")
]
Order = Annotated[Literal["ASC", "DESC"], Query(description="Sort direction")]
Term = Annotated[str | None, Query(description="Search words (all must match); !word excludes; field:value")]
ZeroOne = Literal["0", "1"]
ZeroOneBool = Literal["0", "1", "true", "false"]
Digits = Annotated[str, StringConstraints(pattern=r"^\d+$")]


def id_param(description: str) -> object:
    return Query(description=description, pattern=r"^\d+$")


def id_list_param(name: str, description: str) -> object:
    return Query(alias=f"{name}[]", description=description)


def as_ids(values: list[str] | None, single: str | None = None) -> list[int]:
    ids = [int(v) for v in values or []]
    if single is not None:
        ids.append(int(single))
    return ids
