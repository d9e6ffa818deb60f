"""Keyset paging of GET /api/timesheets (extension): ``X-Next-Cursor`` on every full page that is
not the last, ``cursor=`` to read on from there in the same order, without counting.

Records are inserted directly (as in tests/test_timesheet_list.py) so that begin times, ends and
rates can tie and running records (no end) can be mixed in.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from punchclock.db import Database
from punchclock.ext.cursor import encode
from punchclock.timesheets.models import Timesheet
from tests.conftest import BAD_REQUEST, PEOPLE, Api
from tests.test_timesheet_list import BASE, HOUR, add_rows, expected_order
from tests.test_timesheet_list import world as world  # the fixture: customer, project, activities

URL = "/api/timesheets"
SUPER, USER = PEOPLE["super"].id, PEOPLE["user"].id
ORDERS = [(by, way) for by in ("id", "begin", "end", "rate") for way in ("ASC", "DESC")]
INVALID = {"code": 400, "message": "Invalid cursor"}
OTHER_ORDER = {"code": 400, "message": "The cursor belongs to another orderBy or order"}
COUNTS = ("X-Page", "X-Total-Count", "X-Total-Pages")
# The filters a client repeats with each cursor, and which of the super admin's records they keep.
FILTERS = {
    "": lambda r: r["user"] == SUPER,
    "user=all": lambda r: True,
    "active=0": lambda r: r["user"] == SUPER and r["end"] is not None,
    "user=all&billable=0": lambda r: not r["billable"],
}


def get(api: Api, query: str) -> Any:
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 200, (query, response.text)
    return response


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()]


def insert(db: Database, world: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (user, slot, micro, hours, rate, billable) as records; what the API lists of each."""
    specs = [
        {
            "user": row["user"],
            "begin": BASE + row["slot"] * HOUR + dt.timedelta(microseconds=row["micro"]),
            "hours": row["hours"],
            "rate": row["rate"],
            "billable": row["billable"],
        }
        for row in rows
    ]
    made = add_rows(db, world, *specs)
    records = []
    for record_id, spec in zip(made, specs, strict=True):
        end = None if spec["hours"] is None else spec["begin"] + spec["hours"] * HOUR
        records.append({**spec, "id": record_id, "end": end})
    return records


def walk_pages(api: Api, query: str, count: int, size: int) -> tuple[list[int], str | None]:
    """Every page by number; the ids in order and page 1's X-Next-Cursor."""
    pages = max(1, math.ceil(count / size))
    collected: list[int] = []
    first_cursor = None
    for page in range(1, pages + 1):
        response = get(api, f"{query}&page={page}")
        cursor = response.headers.get("X-Next-Cursor")
        assert (cursor is not None) is (page < pages), (query, page)
        first_cursor = cursor if page == 1 else first_cursor
        collected += ids(response)
    return collected, first_cursor


def walk_cursors(api: Api, query: str, first: list[int], cursor: str | None, size: int) -> list[int]:
    """Page 1, then every page its X-Next-Cursor leads to."""
    collected = list(first)
    while cursor is not None:
        response = get(api, f"{query}&cursor={cursor}")
        assert not set(COUNTS) & set(response.headers), "a cursor page counts nothing"
        assert response.headers["X-Per-Page"] == str(size)
        page = ids(response)
        cursor = response.headers.get("X-Next-Cursor")
        assert len(page) == size or (cursor is None and 0 < len(page) < size), (query, page)
        collected += page
    return collected


ROW = st.fixed_dictionaries(
    {
        "user": st.sampled_from([SUPER, SUPER, USER]),
        "slot": st.integers(min_value=0, max_value=3),  # few begin times: ties
        "micro": st.sampled_from([0, 0, 1, 500_000]),  # sub-second times survive the cursor
        "hours": st.sampled_from([None, None, 0, 1, 2]),  # None: running (no end)
        "rate": st.sampled_from([0.0, 12.5, 33.3333, 100.0]),
        "billable": st.booleans(),
    }
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(ROW, max_size=9),
    size=st.integers(min_value=1, max_value=4),
    filter_=st.sampled_from(sorted(FILTERS)),
)
def test_cursor_pages_follow_the_numbered_pages(
    api: Api, db: Database, world: dict[str, Any], rows: list[dict[str, Any]], size: int, filter_: str
) -> None:
    with db.session(write=True) as session:
        session.execute(delete(Timesheet))
    records = [r for r in insert(db, world, rows) if FILTERS[filter_](r)]
    for order_by, order in ORDERS:
        query = f"size={size}&orderBy={order_by}&order={order}&{filter_}"
        by_number, cursor = walk_pages(api, query, len(records), size)
        assert by_number == expected_order(records, order_by, order), query
        first = by_number[:size]
        assert walk_cursors(api, query, first, cursor, size) == by_number, query


@pytest.fixture
def five(db: Database, world: dict[str, Any]) -> list[int]:
    """Five stopped records of the super admin, begin ascending with the id."""
    return add_rows(db, world, *({"begin": BASE + n * HOUR} for n in range(5)))


def test_next_cursor_only_while_rows_follow(api: Api, five: list[int]) -> None:
    newest_first = five[::-1]
    first = get(api, "size=2")
    assert ids(first) == newest_first[:2]
    second = get(api, "size=2&page=2")
    assert ids(second) == newest_first[2:4]
    # The cursor of any numbered page leads to the rows after it.
    assert ids(get(api, f"size=2&cursor={second.headers['X-Next-Cursor']}")) == newest_first[4:]
    assert "X-Next-Cursor" not in get(api, "size=2&page=3").headers  # short: the last page
    assert "X-Next-Cursor" not in get(api, "size=5").headers  # full, but the last page
    assert "X-Next-Cursor" not in get(api, "size=6").headers
    after_four = get(api, "size=4").headers["X-Next-Cursor"]
    last = get(api, f"size=4&cursor={after_four}")
    assert (ids(last), last.headers.get("X-Next-Cursor")) == (newest_first[4:], None)
    # Exactly full and last: no cursor either (one row more is read to know).
    after_three = get(api, "size=3").headers["X-Next-Cursor"]
    assert "X-Next-Cursor" not in get(api, f"size=2&cursor={after_three}").headers


def test_cursor_ignores_page_and_counts_nothing(api: Api, five: list[int]) -> None:
    cursor = get(api, "size=2").headers["X-Next-Cursor"]
    for extra in ("", "&page=1", "&page=99", "&page=99999999999999999999"):
        response = get(api, f"size=2&cursor={cursor}{extra}")
        assert ids(response) == five[::-1][2:4], extra
        assert {k: v for k, v in response.headers.items() if k.lower().startswith("x-")} == {
            "x-per-page": "2",
            "x-next-cursor": response.headers["X-Next-Cursor"],
        }
    # size is not part of the cursor: the next page may have another one.
    assert ids(get(api, f"size=50&cursor={cursor}")) == five[::-1][2:]


def test_cursor_does_not_carry_filters(api: Api, db: Database, world: dict[str, Any]) -> None:
    on_activity = add_rows(db, world, *({"begin": BASE + n * HOUR} for n in (0, 2, 4)))
    on_global = add_rows(
        db, world, *({"begin": BASE + n * HOUR, "activity": world["global"]["id"]} for n in (1, 3))
    )
    activity = world["activity"]["id"]
    first = get(api, f"size=1&activity={activity}")
    assert ids(first) == [on_activity[2]]
    cursor = first.headers["X-Next-Cursor"]
    assert ids(get(api, f"size=5&activity={activity}&cursor={cursor}")) == on_activity[1::-1]
    # Without the filter the cursor reads on through everything after that position.
    assert ids(get(api, f"size=5&cursor={cursor}")) == [
        on_global[1],
        on_activity[1],
        on_global[0],
        on_activity[0],
    ]


def test_cursor_past_the_last_row(api: Api, db: Database, five: list[int]) -> None:
    cursor = get(api, "size=3").headers["X-Next-Cursor"]
    with db.session(write=True) as session:
        session.execute(delete(Timesheet).where(Timesheet.id.in_(five[:2])))
    response = get(api, f"size=3&cursor={cursor}")
    assert (response.json(), response.headers.get("X-Next-Cursor")) == ([], None)


def test_cursor_of_another_order_is_400(api: Api, five: list[int]) -> None:
    cursor = get(api, "size=2").headers["X-Next-Cursor"]  # begin DESC, Kimai's default order
    assert ids(get(api, f"size=2&orderBy=begin&order=DESC&cursor={cursor}")) == five[::-1][2:4]
    for other in ("orderBy=end", "orderBy=id", "orderBy=rate", "order=ASC", "orderBy=begin&order=ASC"):
        response = api.get(f"{URL}?size=2&{other}&cursor={cursor}")
        assert (response.status_code, response.json()) == (400, OTHER_ORDER), other
    by_end = get(api, "size=2&orderBy=end&order=ASC").headers["X-Next-Cursor"]
    response = api.get(f"{URL}?size=2&cursor={by_end}")
    assert (response.status_code, response.json()) == (400, OTHER_ORDER)


def raw(payload: Any) -> str:
    return "c1." + base64.urlsafe_b64encode(repr(payload).encode()).decode().rstrip("=")


VALID = {"by": "begin", "dir": "DESC", "key": "2024-05-01T10:00:00+00:00", "id": 3}
GARBAGE = [
    "abc",
    "c1.",
    "c1.!!!",
    "c2." + encode(VALID)[3:],
    encode(VALID)[:-2],
    "c1." + "A" * 2000,
    raw("not json"),
    encode({}),
    encode({k: v for k, v in VALID.items() if k != "key"}),
    encode({**VALID, "extra": 1}),
    encode({**VALID, "by": "name"}),
    encode({**VALID, "dir": "desc"}),
    encode({**VALID, "id": 0}),
    encode({**VALID, "id": -1}),
    encode({**VALID, "id": "3"}),
    encode({**VALID, "id": True}),
    encode({**VALID, "id": 3.0}),
    encode({**VALID, "id": 2**40}),
    encode({**VALID, "key": "yesterday"}),
    encode({**VALID, "key": "2024-05-01T10:00:00"}),  # no offset
    encode({**VALID, "key": None}),  # only a running record's end is null
    encode({**VALID, "key": 1714557600}),
    encode({**VALID, "by": "rate", "key": "12.5"}),
    encode({**VALID, "by": "rate", "key": True}),
    encode({**VALID, "by": "rate", "key": None}),
    encode({**VALID, "by": "id", "key": 1.5}),
    encode({**VALID, "by": "end", "key": ["2024-05-01T10:00:00+00:00"]}),
    encode({**VALID, "by": "end", "key": "0001-01-01T00:00:00+14:00"}),  # before year 1 in UTC
]


def test_invalid_cursor_is_400(api: Api) -> None:
    for cursor in GARBAGE:
        response = api.get(f"{URL}", params={"cursor": cursor, "orderBy": "begin", "order": "DESC"})
        assert (response.status_code, response.json()) == (400, INVALID), cursor


def test_a_valid_cursor_may_name_any_position(api: Api, five: list[int]) -> None:
    """A cursor the server did not make but could have: the rows after that position."""
    between = BASE + 2 * HOUR + dt.timedelta(minutes=30)
    cursor = encode({"by": "begin", "dir": "DESC", "key": between.isoformat(), "id": 1})
    assert ids(get(api, f"cursor={cursor}")) == five[2::-1]
    cursor = encode({"by": "rate", "dir": "ASC", "key": -1, "id": 1})
    assert ids(get(api, f"orderBy=rate&order=ASC&cursor={cursor}")) == five
    cursor = encode({"by": "end", "dir": "ASC", "key": None, "id": 2**31 - 1})  # after every running one
    assert ids(get(api, f"orderBy=end&order=ASC&cursor={cursor}")) == five


def test_running_records_at_both_ends(api: Api, db: Database, world: dict[str, Any]) -> None:
    """orderBy=end puts running records first ascending and last descending; cursors cross over."""
    running = add_rows(db, world, *({"begin": BASE + n * HOUR, "hours": None} for n in range(3)))
    stopped = add_rows(db, world, *({"begin": BASE + n * HOUR} for n in range(3)))
    for order, expected in (("ASC", running + stopped), ("DESC", stopped[::-1] + running[::-1])):
        collected, response = [], get(api, f"size=2&orderBy=end&order={order}")
        while True:
            collected += ids(response)
            if "X-Next-Cursor" not in response.headers:
                break
            response = get(
                api, f"size=2&orderBy=end&order={order}&cursor={response.headers['X-Next-Cursor']}"
            )
        assert collected == expected, order


def test_credentials_and_size_are_checked_first(api: Api) -> None:
    """Authentication, then the parameters' own patterns, then the cursor."""
    response = api.get(f"{URL}?cursor=abc", as_=None)
    assert response.status_code == 401
    response = api.get(f"{URL}?cursor=abc&size=x")
    assert (response.status_code, response.json()) == (400, BAD_REQUEST)
