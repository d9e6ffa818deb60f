"""Query parameters as Kimai declares them: strict patterns, 400 Bad Request on a mismatch.

Each alias is an ``Annotated`` type for a route signature, so the OpenAPI document shows the same
rules the server applies. A violated pattern surfaces as FastAPI's validation error, which the app
turns into Kimai's ``{"code":400,"message":"Bad Request"}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Query

from punchclock.kimai.datetimes import parse_strict_datetime
from punchclock.kimai.errors import BadRequest
from punchclock.kimai.forms import parse_id

Visible = Annotated[
    Literal["1", "2", "3"], Query(description="1 = visible only (default), 2 = hidden only, 3 = both")
]
Order = Annotated[Literal["ASC", "DESC"], Query(description="Sort direction")]
Term = Annotated[
    str | None,
    # No NUL: PostgreSQL cannot compare text with it (400 on every backend).
    Query(description="Search words (all must match); !word excludes; field:value", pattern=r"^[^\x00]*$"),
]
ModifiedAfter = Annotated[
    str | None,
    Query(
        description="Extension: Y-m-dTH:i:s in UTC, as for timesheets: only those changed at or after it "
        "(see `modifiedAt`)"
    ),
]
ZeroOne = Literal["0", "1"]
ZeroOneBool = Literal["0", "1", "true", "false"]


def as_ids(values: list[str] | None, single: str | None = None) -> list[int]:
    """Validated id parameters as ints. Kimai's \\d+ (PCRE with /u) also passes digits such as "٣",
    which then name no row and are dropped like any unknown id (int() would read them as 3)."""
    raw = [*(values or []), *([single] if single is not None else [])]
    return [i for i in map(parse_id, raw) if i is not None]


def strict_datetime(value: str | None, tz: str) -> dt.datetime | None:
    """A ``Y-m-d\\TH:i:s`` query parameter read in ``tz`` (None when absent); anything else is 400."""
    if value is None:
        return None
    parsed = parse_strict_datetime(value, tz)
    if parsed is None:
        raise BadRequest()
    return parsed
