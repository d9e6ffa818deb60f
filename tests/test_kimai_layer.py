"""The Kimai input layer (``punchclock.kimai``) against hostile input: no 500, Kimai's answers instead.

Covers body limits (size, nesting), ids and numbers too long for Python's int(), money and duration
overflow, dates at the calendar's edges, timezone identifiers, query string normalisation, HEAD,
and that a form reports every violation at once. Pure parsers are checked directly (with hypothesis
where a property says more than examples); everything else over HTTP on both backends.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert

from punchclock import models
from punchclock.auth.tokens import token_hash
from punchclock.db import Database
from punchclock.kimai.body import MAX_BODY_BYTES, MAX_DEPTH, formify
from punchclock.kimai.datetimes import (
    end_of_day,
    format_date,
    format_datetime,
    is_timezone,
    parse_date,
    parse_date_or_datetime,
    parse_strict_datetime,
    start_of_day,
    timezone_names,
    wall_clock,
)
from punchclock.kimai.errors import BadRequest, ValidationFailed
from punchclock.kimai.forms import (
    LIMIT,
    UNKNOWN_ID,
    Field,
    FieldError,
    at_least,
    integer_id,
    parse_decimal,
    parse_duration,
    parse_id,
    submit,
    text,
)
from punchclock.kimai.middleware import normalise_query
from tests.conftest import BAD_REQUEST, INVALID_CHOICE, NOT_FOUND, UNAUTHORIZED, Api, add_team
from tests.test_projects import (
    INVALID_DATE,
    PROJECT_FORM,
    PROJECT_PATCH_FORM,
    hide,
    make_activity,
    make_customer,
    make_project,
    validation_failed,
)

# Symfony 6.4's status text, as Kimai 2.66 would render an HttpException(413).
TOO_LARGE = {"code": 413, "message": "Content Too Large"}
MONEY = "Please enter a valid money amount."
NOT_VALID = "This value is not valid."
BAD_TIMEZONE = "Please select a valid timezone."
RATE_FORM = ("user", "rate", "internalRate", "isFixed")
HUGE = "9" * 5000  # int() refuses more than 4300 digits
MAX_ROW_ID = 2**31 - 1


def raw_request(api: Api, method: str, url: str, *, as_: str | None = "super", **kwargs: Any) -> Any:
    """A request past the spec check: for what the OpenAPI document has no room for (HEAD on every
    GET route, a body on a GET)."""
    headers = api.headers(as_, kwargs.pop("headers", None))
    return api.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)


def post_json(api: Api, url: str, raw: str, *, as_: str | None = "super") -> Any:
    return api.post(url, content=raw, headers={"Content-Type": "application/json"}, as_=as_)


def post_form(api: Api, url: str, raw: str, *, as_: str | None = "super") -> Any:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return api.post(url, content=raw, headers=headers, as_=as_)


def naive(*parts: int) -> dt.datetime:
    """A wall-clock time without zone (what ``wall_clock`` takes)."""
    return dt.datetime(*parts)  # noqa: DTZ001


def nested_list(depth: int) -> str:
    """``depth`` JSON arrays inside each other, the innermost holding 1."""
    return "[" * depth + "1" + "]" * depth


# --- 1. body nesting and size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        nested_list(900),
        '{"a":' * 900 + "1" + "}" * 900,
        '{"name": ' + nested_list(MAX_DEPTH) + "}",  # the top-level object makes it one too deep
    ],
    ids=["arrays-900", "objects-900", "one-too-deep"],
)
@pytest.mark.parametrize("as_", [None, "super"])
def test_deeply_nested_json_is_a_bad_request_even_without_credentials(
    api: Api, raw: str, as_: str | None
) -> None:
    response = post_json(api, "/api/projects", raw, as_=as_)
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


def test_json_nested_to_the_limit_reaches_the_form(api: Api) -> None:
    response = post_json(api, "/api/customers", '{"name": ' + nested_list(MAX_DEPTH - 1) + "}")
    assert response.status_code == 400
    assert response.json()["errors"]["children"]["name"] == {"errors": [NOT_VALID]}


@pytest.mark.parametrize(
    "raw",
    ["a" + "[x]" * 3000 + "=1", "name" + "[]" * MAX_DEPTH + "=1", "a" + "[]" * 3000 + "=1"],
    ids=["3000-named", "one-too-deep", "3000-appended"],
)
@pytest.mark.parametrize("as_", [None, "super"])
def test_deeply_nested_form_keys_are_a_bad_request_even_without_credentials(
    api: Api, raw: str, as_: str | None
) -> None:
    response = post_form(api, "/api/projects", raw, as_=as_)
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


def test_form_keys_nested_to_the_limit_reach_the_form(api: Api) -> None:
    response = post_form(api, "/api/customers", "name" + "[x]" * (MAX_DEPTH - 1) + "=1")
    assert response.status_code == 400
    assert response.json()["errors"]["children"]["name"] == {"errors": [NOT_VALID]}


@pytest.mark.parametrize(
    "key",
    ["teams[²]", "teams[" + HUGE + "]", "teams[01]"],
    ids=["superscript-index", "huge-index", "leading-zero"],
)
def test_odd_form_indexes_are_keys_not_list_positions(api: Api, key: str) -> None:
    """Only 0..n-1 make a list (as PHP arrays do); other keys stay keys, and no int() sees them."""
    customer = make_customer(api)["id"]
    response = post_form(api, "/api/projects", f"name=Odd&customer={customer}&{key}=9999")
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_FORM, {"teams": [INVALID_CHOICE]})


@pytest.mark.parametrize("as_", [None, "super"])
def test_a_body_over_one_mebibyte_is_413(api: Api, as_: str | None) -> None:
    raw = json.dumps({"name": "x" * MAX_BODY_BYTES})
    response = api.post("/api/projects", content=raw, headers={"Content-Type": "application/json"}, as_=as_)
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_a_streamed_body_over_one_mebibyte_is_413(api: Api) -> None:
    """Without Content-Length (chunked), the limit applies to what actually arrives."""

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = api.post("/api/customers", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_a_body_of_exactly_one_mebibyte_is_read(api: Api) -> None:
    body = json.dumps({"name": "Exact"})
    raw = body + " " * (MAX_BODY_BYTES - len(body))
    assert len(raw.encode()) == MAX_BODY_BYTES
    response = post_json(api, "/api/customers", raw)
    assert response.status_code == 200
    assert response.json()["name"] == "Exact"


def test_multipart_bodies_are_still_read(api: Api) -> None:
    response = api.post("/api/customers", files={"name": (None, "Multi"), "comment": (None, "parts")})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["comment"]) == ("Multi", "parts")


@pytest.mark.parametrize(("depth", "allowed"), [(MAX_DEPTH, True), (MAX_DEPTH + 1, False)])
def test_formify_depth(depth: int, allowed: bool) -> None:
    value: Any = "1"
    for _ in range(depth):
        value = [value]
    if allowed:
        assert formify(value) == value
    else:
        with pytest.raises(BadRequest):
            formify(value)


# --- 2. ids of any length -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("0", 0),
        (str(MAX_ROW_ID), MAX_ROW_ID),
        ("9999999999", 9999999999),
        ("00000000000000000042", 42),  # leading zeros are not digits of the id
        ("10000000000", UNKNOWN_ID),
        (HUGE, UNKNOWN_ID),
        ("", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("²", None),
        ("٣", None),
        ("abc", None),
    ],
)
def test_parse_id(raw: str, expected: int | None) -> None:
    assert parse_id(raw) == expected


@given(st.text())
def test_parse_id_never_fails_and_unknown_ids_exceed_every_row(raw: str) -> None:
    parsed = parse_id(raw)
    if parsed is None:
        assert not (raw.isascii() and raw.isdigit())
    elif len(raw.lstrip("0")) > 10:
        assert parsed == UNKNOWN_ID > MAX_ROW_ID
    else:
        assert parsed == int(raw)


@given(st.integers(min_value=0, max_value=10**30))
def test_parse_id_reads_every_number(number: int) -> None:
    assert parse_id(str(number)) == (number if number < 10**10 else UNKNOWN_ID)


def test_integer_id_refuses_what_is_no_id() -> None:
    assert integer_id(None) is None
    assert integer_id("") is None
    assert integer_id(HUGE) == UNKNOWN_ID
    with pytest.raises(FieldError):
        integer_id("٣")


@pytest.mark.parametrize(
    "query",
    [
        f"customer={HUGE}",
        f"customers[]={HUGE}",
        f"customers[]=1&customers[]={HUGE}",
        "customer=10000000000",
        "customer=٣",
    ],
)
def test_project_filters_with_unknown_ids_filter_nothing(api: Api, query: str) -> None:
    acme = make_customer(api, "Acme")["id"]
    make_project(api, "acme", acme)
    make_project(api, "beta", make_customer(api, "Beta")["id"])
    response = api.get(f"/api/projects?ignoreDates=1&{query}")
    assert response.status_code == 200
    expected = ["acme"] if query.startswith(f"customers[]={acme}&") else ["acme", "beta"]
    assert [p["name"] for p in response.json()] == expected


@pytest.mark.parametrize("query", [f"project={HUGE}", f"projects[]={HUGE}", "project=٣"])
def test_activity_filters_with_unknown_ids_filter_nothing(api: Api, query: str) -> None:
    project = make_project(api, "Pr", make_customer(api)["id"])["id"]
    make_activity(api, "global")
    make_activity(api, "own", project)
    response = api.get(f"/api/activities?{query}")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()] == ["global", "own"]


@pytest.mark.parametrize("kind", ["customers", "projects", "activities"])
def test_huge_path_ids_are_404(api: Api, kind: str) -> None:
    for path in (f"/api/{kind}/{HUGE}", f"/api/{kind}/{HUGE}/rates", f"/api/{kind}/1/rates/{HUGE}"):
        response = api.request("DELETE" if path.count("/") == 5 else "GET", path)
        assert response.status_code == 404, path
        assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/projects", {"name": "Huge", "customer": HUGE}, "customer"),
        ("/api/projects", {"name": "Huge", "customer": "{customer}", "teams": [HUGE]}, "teams"),
        ("/api/projects", {"name": "Huge", "customer": "{customer}", "teams": ["{team}", HUGE]}, "teams"),
        ("/api/activities", {"name": "Huge", "project": HUGE}, "project"),
        ("/api/activities", {"name": "Huge", "teams": [HUGE]}, "teams"),
        ("/api/customers", {"name": "Huge", "teams": ["{team}", HUGE]}, "teams"),
    ],
)
def test_huge_ids_in_forms_are_invalid_choices(
    api: Api, db: Database, url: str, body: dict[str, Any], field: str
) -> None:
    places = {"{customer}": make_customer(api)["id"], "{team}": add_team(db, "One")}
    body = {
        key: [places.get(v, v) for v in value] if isinstance(value, list) else places.get(value, value)
        for key, value in body.items()
    }
    response = api.post(url, json=body)
    assert response.status_code == 400
    assert response.json()["errors"]["children"][field] == {"errors": [INVALID_CHOICE]}


@pytest.mark.parametrize("kind", ["customers", "projects", "activities"])
def test_huge_rate_user_is_an_invalid_choice(api: Api, kind: str) -> None:
    customer = make_customer(api)["id"]
    entity = {
        "customers": customer,
        "projects": make_project(api, "Pr", customer)["id"],
        "activities": make_activity(api, "Ac")["id"],
    }[kind]
    response = api.post(f"/api/{kind}/{entity}/rates", json={"user": HUGE, "rate": 1})
    assert response.status_code == 400
    assert response.json() == validation_failed(RATE_FORM, {"user": [INVALID_CHOICE]})


# --- 3. money and duration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12.0),
        ("-12.5", -12.5),
        ("12,5", 12.5),
        ("0", 0.0),
        ("9223372036854774784", 9223372036854774784.0),  # the largest float below 2**63
        ("9223372036854775807", None),  # PHP_INT_MAX as a float is 2**63
        ("9223372036854775808", None),
        ("-9223372036854775808", None),
        ("1" + "0" * 400, None),
        ("9" * 400, None),
        ("0." + "1" * 5000, 0.1111111111111111),
        ("1e5", None),
        ("inf", None),
        ("nan", None),
        ("1.", None),
        (".5", None),
        ("١٢", None),
        ("", None),
    ],
)
def test_parse_decimal(raw: str, expected: float | None) -> None:
    assert parse_decimal(raw) == expected


@given(st.from_regex(r"-?[0-9]{1,450}([.,][0-9]{1,30})?", fullmatch=True))
def test_parse_decimal_is_finite_and_below_the_limit(raw: str) -> None:
    parsed = parse_decimal(raw)
    exact = float(raw.replace(",", "."))
    if parsed is None:
        assert abs(exact) >= LIMIT
    else:
        assert parsed == exact
        assert abs(parsed) < LIMIT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.5", 5400),
        ("1,5", 5400),
        ("-2", -7200),
        ("1:30", 5400),
        ("1:30:15", 5415),
        ("-1:30", -5400),
        ("1h30m15s", 5415),
        ("45M", 2700),
        ("2562047788015215:30:07", LIMIT - 1),
        ("2562047788015215:30:08", None),
        ("-2562047788015215:30:08", None),
        ("2562047788015215h30m7s", LIMIT - 1),
        ("2562047788015215h30m8s", None),
        ("9" * 400, None),
        ("9" * 5000 + ":00", None),
        ("9" * 5000 + "h", None),
        ("1h" + "9" * 5000 + "s", None),
        ("0" * 5000 + "1:00", 3600),
        ("1:60", None),
        ("h", None),
        ("", None),
        ("١:٣٠", None),
    ],
)
def test_parse_duration(raw: str, expected: int | None) -> None:
    assert parse_duration(raw) == expected


@given(
    st.from_regex(r"-?[0-9]{1,40}([.,][0-9]{1,5})?", fullmatch=True)
    | st.from_regex(r"-?[0-9]{1,40}:[0-5]?[0-9](:[0-5]?[0-9])?", fullmatch=True)
    | st.from_regex(r"([0-9]{1,40}h)?([0-9]{1,40}m)?([0-9]{1,40}s)?", fullmatch=True)
    | st.text(max_size=30)
)
def test_parse_duration_never_fails_and_stays_below_the_limit(raw: str) -> None:
    seconds = parse_duration(raw)
    assert seconds is None or abs(seconds) < LIMIT


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"timeBudget": "9" * 400}, {"timeBudget": [NOT_VALID]}),
        ({"timeBudget": "9" * 5000 + ":00"}, {"timeBudget": [NOT_VALID]}),
        ({"timeBudget": "9" * 5000 + "h"}, {"timeBudget": [NOT_VALID]}),
        ({"timeBudget": 1e300}, {"timeBudget": [NOT_VALID]}),
        ({"budget": "1" + "0" * 400}, {"budget": [MONEY]}),
        ({"budget": 1e300}, {"budget": [MONEY]}),
        ({"budget": "9223372036854775808"}, {"budget": [MONEY]}),
        # Within the parser's range, the field's own limits answer.
        ({"budget": "9" * 15}, {"budget": ["This value should be between 0 and 900000000000."]}),
        ({"timeBudget": "9" * 15}, {"timeBudget": ["This value should be between 0 and 2145600000."]}),
    ],
)
def test_huge_budgets_are_invalid(api: Api, body: dict[str, Any], errors: dict[str, list[str]]) -> None:
    customer = make_customer(api)["id"]
    response = api.post("/api/projects", json={"name": "Big", "customer": customer, **body})
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_FORM, errors)
    response = api.post("/api/customers", json={"name": "Big", **body})
    assert response.status_code == 400
    children = response.json()["errors"]["children"]
    assert {name: child for name, child in children.items() if child} == {
        name: {"errors": messages} for name, messages in errors.items()
    }


@pytest.mark.parametrize("field", ["rate", "internalRate"])
@pytest.mark.parametrize("value", ["1" + "0" * 400, "-" + "9" * 400, 1e300])
def test_huge_rates_are_invalid(api: Api, field: str, value: Any) -> None:
    customer = make_customer(api)["id"]
    response = api.post(f"/api/customers/{customer}/rates", json={field: value})
    assert response.status_code == 400
    assert response.json() == validation_failed(RATE_FORM, {field: [MONEY]})
    assert api.get(f"/api/customers/{customer}/rates").json() == []


# --- 4. dates at the calendar's edges -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "tz", "expected"),
    [
        (naive(1, 1, 1), "UTC", dt.datetime(1, 1, 1, tzinfo=dt.UTC)),
        (naive(1, 1, 1), "America/New_York", dt.datetime(1, 1, 1, 4, 56, 2, tzinfo=dt.UTC)),
        (naive(1, 1, 1), "Europe/Berlin", None),
        (naive(1, 1, 1, 0, 53, 28), "Europe/Berlin", dt.datetime(1, 1, 1, tzinfo=dt.UTC)),
        (
            naive(9999, 12, 31, 23, 59, 59),
            "Europe/Berlin",
            dt.datetime(9999, 12, 31, 22, 59, 59, tzinfo=dt.UTC),
        ),
        (naive(9999, 12, 31, 23, 59, 59), "America/New_York", None),
        (
            naive(9999, 12, 31, 18, 59, 59),
            "America/New_York",
            dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        ),
    ],
)
def test_wall_clock_at_the_edges(local: dt.datetime, tz: str, expected: dt.datetime | None) -> None:
    assert wall_clock(local, tz) == expected


@given(
    st.datetimes(min_value=naive(1, 1, 1), max_value=naive(9999, 12, 31, 23, 59, 59)),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Tongatapu", "Pacific/Kiritimati"]),
)
def test_wall_clock_is_none_exactly_when_the_instant_cannot_be_held(local: dt.datetime, tz: str) -> None:
    instant = wall_clock(local, tz)
    offset = ZoneInfo(tz).utcoffset(local.replace(fold=0))
    assert offset is not None
    first, last = naive(1, 1, 1), naive(9999, 12, 31, 23, 59, 59, 999999)
    fits = local - first >= offset and last - local >= -offset  # timedeltas: no overflow here
    assert (instant is not None) == fits
    if instant is not None:
        assert instant == (first + ((local - first) - offset)).replace(tzinfo=dt.UTC)


def test_days_at_the_edges() -> None:
    first, last = dt.date.min, dt.date.max
    assert start_of_day(first, "Europe/Berlin") is None
    assert start_of_day(first, "America/New_York") == dt.datetime(1, 1, 1, 4, 56, 2, tzinfo=dt.UTC)
    assert end_of_day(last, "America/New_York") is None
    assert end_of_day(last, "Europe/Berlin") == dt.datetime(9999, 12, 31, 22, 59, 59, tzinfo=dt.UTC)
    assert parse_date_or_datetime("0001-01-01", "Europe/Berlin") is None
    assert parse_date_or_datetime("0001-01-01", "UTC") == dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    assert parse_strict_datetime("9999-12-31T23:59:59", "America/New_York") is None
    assert parse_strict_datetime("9999-12-31T23:59:59", "UTC") == dt.datetime.max.replace(
        microsecond=0, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    "raw", ["2024-05-01\n", "٢٠٢٤-٠٥-٠١", "2024-05-01T00:00:00\n", "0000-01-01", "10000-01-01"]
)
def test_dates_are_ascii_and_whole(raw: str) -> None:
    assert parse_date(raw) is None
    assert parse_date_or_datetime(raw, "UTC") is None


def test_instants_at_the_edges_show_in_utc_when_the_zone_cannot() -> None:
    first = dt.datetime.min.replace(tzinfo=dt.UTC)
    last = dt.datetime.max.replace(microsecond=0, tzinfo=dt.UTC)
    assert format_datetime(first, "America/New_York") == "0001-01-01T00:00:00+0000"
    assert format_datetime(first, "Europe/Berlin") == "0001-01-01T00:53:28+0053"
    assert format_datetime(last, "Europe/Berlin") == "9999-12-31T23:59:59+0000"
    assert format_date(last, "Pacific/Tongatapu") == "9999-12-31"
    assert format_date(first, "America/New_York") == "0001-01-01"


@pytest.mark.parametrize(
    ("query", "as_"),
    [
        ("start=0001-01-01", "super"),
        ("start=0001-01-01", "user"),
        ("start=0001-01-01T00:00:00", "super"),
        ("end=9999-12-31T23:59:59", "admin"),
        ("end=9999-12-31T19:00:00", "admin"),
        ("start=2024-05-01&end=9999-12-31T23:59:59", "admin"),
    ],
)
def test_list_dates_that_cannot_be_held_are_bad_requests(api: Api, query: str, as_: str) -> None:
    response = api.get(f"/api/projects?{query}", as_=as_)
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


@pytest.mark.parametrize(
    ("query", "as_"),
    [
        ("start=0001-01-01", "admin"),
        ("start=0001-01-02", "super"),
        ("end=9999-12-30", "admin"),
        ("end=9999-12-30T18:59:59", "admin"),
        pytest.param("end=9999-12-31", "admin"),
        pytest.param("end=9999-12-31T18:59:59", "admin"),
        pytest.param("end=9999-12-31T23:59:59", "super"),
    ],
)
def test_list_dates_near_the_edges(api: Api, query: str, as_: str) -> None:
    make_project(api, "Open", make_customer(api)["id"])
    response = api.get(f"/api/projects?{query}", as_=as_)
    assert response.status_code == 200
    assert [p["name"] for p in response.json()] == ["Open"]


@pytest.mark.parametrize(
    ("field", "value", "as_"),
    [
        pytest.param("start", "0001-01-01", "super"),
        pytest.param("orderDate", "0001-01-01", "super"),
        pytest.param("end", "9999-12-31", "admin"),
    ],
)
def test_create_dates_that_cannot_be_held_are_invalid(api: Api, field: str, value: str, as_: str) -> None:
    customer = make_customer(api)["id"]
    body = {"name": "Edge", "customer": customer, field: value}
    response = api.post("/api/projects", json=body, as_=as_)
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_FORM, {field: [INVALID_DATE]})


@pytest.mark.parametrize(
    ("field", "value", "as_"),
    [
        ("start", "0001-01-01T00:00:00", "super"),
        ("end", "9999-12-31T23:59:59", "admin"),
        pytest.param("start", "0001-01-01T12:00:00", "super"),
        pytest.param("end", "9999-12-31T12:00:00", "admin"),
    ],
)
def test_patch_dates_that_cannot_be_held_are_invalid(api: Api, field: str, value: str, as_: str) -> None:
    project = make_project(api, "Edge", make_customer(api)["id"])
    response = api.patch(f"/api/projects/{project['id']}", json={field: value}, as_=as_)
    assert response.status_code == 400
    assert response.json() == validation_failed(PROJECT_PATCH_FORM, {field: [INVALID_DATE]})


def test_edge_dates_entered_in_utc_show_for_callers_in_other_zones(api: Api, db: Database) -> None:
    """A UTC user can store 0001-01-01 and 9999-12-31; shown in a zone that would leave the calendar,
    they appear in UTC instead of failing."""
    with db.session(write=True) as session:
        user_id = session.execute(
            insert(models.User)
            .values(
                username="utc_admin",
                email="utc_admin@example.com",
                password="-",
                api_password=None,
                alias=None,
                roles=["ROLE_SUPER_ADMIN"],
                timezone="UTC",
                language="en",
                locale="en",
                enabled=True,
            )
            .returning(models.User.id)
        ).scalar_one()
        session.execute(
            insert(models.ApiToken).values(user_id=user_id, token_hash=token_hash("token-utc"), name="t")
        )
    utc = {"Authorization": "Bearer token-utc"}
    customer = make_customer(api)["id"]
    body = {"name": "Forever", "customer": customer, "start": "0001-01-01", "end": "9999-12-31"}
    response = api.post("/api/projects", json=body, as_=None, headers=utc)
    assert response.status_code == 200, response.text
    project = response.json()
    assert (project["start"], project["end"]) == ("0001-01-01", "9999-12-31")
    # Entering a date moves the project to the caller's zone: New York cannot show year 1, Berlin
    # cannot show 9999-12-31T23:59:59Z.
    for as_ in ("admin", "super"):
        response = api.patch(
            f"/api/projects/{project['id']}", json={"orderDate": "2024-05-01T00:00:00"}, as_=as_
        )
        assert response.status_code == 200, response.text
        assert (response.json()["start"], response.json()["end"]) == ("0001-01-01", "9999-12-31")
        listed = api.get("/api/projects", as_=as_).json()
        assert [(p["name"], p["start"], p["end"]) for p in listed] == [
            ("Forever", "0001-01-01", "9999-12-31")
        ]


# --- 5. every violation at once -----------------------------------------------------------------------


def test_entity_rules_run_next_to_field_errors(api: Api) -> None:
    customer = make_customer(api)["id"]
    make_project(api, "First", customer, number="P-1")
    body = {"name": "x", "customer": customer, "number": "P-1", "start": "2024-05-02", "end": "2024-05-01"}
    response = api.post("/api/projects", json=body)
    assert response.status_code == 400
    assert response.json() == validation_failed(
        PROJECT_FORM,
        {
            "name": ["This value is too short. It should have 2 characters or more."],
            "number": ["The number P-1 is already used."],
            "end": ["The end date must not be earlier than the start date."],
        },
    )


def test_entity_rules_run_next_to_extra_fields(api: Api) -> None:
    customer = make_customer(api)["id"]
    body = {"name": "Back", "customer": customer, "start": "2024-05-02", "end": "2024-05-01", "bogus": 1}
    response = api.post("/api/projects", json=body)
    assert response.status_code == 400
    assert response.json() == validation_failed(
        PROJECT_FORM,
        {"end": ["The end date must not be earlier than the start date."]},
        ["This form should not contain extra fields."],
    )


def test_a_field_that_could_not_be_read_keeps_only_its_invalid_message(api: Api) -> None:
    """Symfony maps no entity violation onto a field whose value failed to transform: an unknown
    user does not also collide with the existing rate for everyone (user null)."""
    customer = make_customer(api)["id"]
    url = f"/api/customers/{customer}/rates"
    assert api.post(url, json={"rate": 1}).status_code == 200
    response = api.post(url, json={"user": 9999, "rate": "lots"})
    assert response.status_code == 400
    assert response.json() == validation_failed(RATE_FORM, {"user": [INVALID_CHOICE], "rate": [MONEY]})
    response = api.post(url, json={"rate": -1})
    assert response.json() == validation_failed(
        RATE_FORM,
        {
            "user": ["This value is already used."],
            "rate": ["This value should be greater than or equal to 0."],
        },
    )


def test_a_body_that_is_no_object_is_one_global_error(api: Api) -> None:
    customer = make_customer(api)["id"]
    response = post_json(api, f"/api/customers/{customer}/rates", "[1, 2]")
    assert response.status_code == 400
    assert response.json() == validation_failed(RATE_FORM, {}, [NOT_VALID])


def _number(raw: Any) -> int | None:
    value = text(raw)
    if value is not None and not value.lstrip("-").isdigit():
        raise FieldError(NOT_VALID)
    return None if value is None else int(value)


AT_LEAST_0 = "This value should be greater than or equal to 0."
LOW_ABOVE_HIGH = "Low must not exceed high."
FIELDS = (Field("low", _number, (at_least(0),)), Field("high", _number, (at_least(0),)))


def _order(merged: dict[str, Any]) -> dict[str, list[str]]:
    """An entity rule that repeats itself and a field check's message."""
    low, high = merged.get("low"), merged.get("high")
    if low is not None and high is not None and low > high:
        return {"low": [LOW_ABOVE_HIGH, LOW_ABOVE_HIGH], "high": [AT_LEAST_0]}
    return {}


def _errors(data: Any, current: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationFailed) as failure:
        submit(FIELDS, data, current=current, clear_missing=False, extra_checks=_order)
    return failure.value.errors


def test_submit_merges_rule_and_field_messages_once_each() -> None:
    errors = _errors({"low": "5", "high": "-1"}, {})
    assert errors == {"children": {"low": {"errors": [LOW_ABOVE_HIGH]}, "high": {"errors": [AT_LEAST_0]}}}


def test_submit_runs_rules_when_a_field_could_not_be_read() -> None:
    """``high`` keeps its current value for the rule, but only its invalid message is reported."""
    errors = _errors({"low": "5", "high": "many"}, {"high": 1})
    assert errors == {"children": {"low": {"errors": [LOW_ABOVE_HIGH]}, "high": {"errors": [NOT_VALID]}}}


def test_submit_runs_rules_next_to_extra_fields() -> None:
    errors = _errors({"low": "5", "high": "3", "other": "x"}, {})
    assert errors == {
        "errors": ["This form should not contain extra fields."],
        "children": {"low": {"errors": [LOW_ABOVE_HIGH]}, "high": {"errors": [AT_LEAST_0]}},
    }


def test_submit_runs_no_rules_on_a_body_that_is_no_object() -> None:
    def boom(merged: dict[str, Any]) -> dict[str, list[str]]:
        raise AssertionError("rules ran")

    with pytest.raises(ValidationFailed) as failure:
        submit(FIELDS, ["low"], current={}, clear_missing=False, extra_checks=boom)
    assert failure.value.errors == {"errors": [NOT_VALID], "children": {"low": {}, "high": {}}}


# --- 6. timezones -------------------------------------------------------------------------------------


REJECTED_ZONES = [
    "US/Eastern",
    "Factory",
    "localtime",
    "posixrules",
    "Etc/UTC",
    "Etc/GMT+5",
    "GMT",
    "EST5EDT",
]
ALIASES = ["Europe/Kiev", "America/Buenos_Aires", "Asia/Calcutta"]  # deprecated names of canonical zones


def test_timezone_names_are_php_identifiers() -> None:
    names = timezone_names()
    regions = {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
    assert {"UTC", "Europe/Berlin", "America/New_York", "Pacific/Tongatapu", "Asia/Tokyo"} <= names
    assert all(name == "UTC" or name.split("/")[0] in regions for name in names)
    assert not names & set(REJECTED_ZONES)
    for name in names:
        ZoneInfo(name)  # each one loads


def test_timezone_names_leave_out_deprecated_aliases() -> None:
    names = timezone_names()
    if "Europe/Kyiv" not in names:
        pytest.skip("tzdata without zone.tab (or older than 2022b): only the region filter applies")
    assert {"Europe/Kyiv", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Arctic/Longyearbyen"} <= names
    assert not names & set(ALIASES)
    assert 400 < len(names) < 450  # PHP lists about 420


@pytest.mark.parametrize("name", [*REJECTED_ZONES, "Mars/Olympus", "europe/berlin", ""])
def test_is_timezone_refuses(name: str) -> None:
    assert not is_timezone(name)


@pytest.mark.parametrize("name", [*REJECTED_ZONES, *ALIASES])
def test_customer_timezone_must_be_a_php_identifier(api: Api, name: str) -> None:
    if name in ALIASES and "Europe/Kyiv" not in timezone_names():
        pytest.skip("tzdata without zone.tab: aliases cannot be told apart")
    response = api.post("/api/customers", json={"name": "Zoned", "timezone": name})
    assert response.status_code == 400
    assert response.json()["errors"]["children"]["timezone"] == {"errors": [BAD_TIMEZONE]}


@pytest.mark.parametrize(
    "name", ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Tongatapu", "Arctic/Longyearbyen"]
)
def test_customer_timezone_accepts_php_identifiers(api: Api, name: str) -> None:
    response = api.post("/api/customers", json={"name": "Zoned", "timezone": name})
    assert response.status_code == 200
    assert response.json()["timezone"] == name


# --- 7. query strings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"visible", b""),
        (b"visible=", b""),
        (b"visible&order=DESC", b"order=DESC"),
        (b"a=1&b=&c", b"a=1"),
        (b"customers[0]=1&customers[1]=2", b"customers%5B%5D=1&customers%5B%5D=2"),
        (b"customers%5B0%5D=1", b"customers%5B%5D=1"),
        (b"customers[x]=1&customers[0][1]=2&[0]=3", b"customers[x]=1&customers[0][1]=2&[0]=3"),
        (b"term=a+b%20c%FF&x=%C3%A9", b"term=a+b%20c%FF&x=%C3%A9"),
        (b"term=a+b%20c%FF&x", b"term=a+b+c%FF"),
        (b"a=1&&b=2", b"a=1&&b=2"),
    ],
)
def test_normalise_query(raw: bytes, expected: bytes) -> None:
    assert normalise_query(raw) == expected


def test_a_parameter_without_value_counts_as_absent(api: Api) -> None:
    customer = make_customer(api)["id"]
    make_project(api, "Shown", customer)
    hide(api, "projects", make_project(api, "Hidden", customer)["id"])
    for query in ("visible", "visible=", "visible&order", "ignoreDates=1&visible&orderBy"):
        response = api.get(f"/api/projects?ignoreDates=1&{query}")
        assert response.status_code == 200, query
        assert [p["name"] for p in response.json()] == ["Shown"]
    assert api.get("/api/projects?ignoreDates=1&visible=4").status_code == 400


def test_indexed_array_parameters_work_like_appended_ones(api: Api) -> None:
    acme = make_customer(api, "Acme")["id"]
    beta = make_customer(api, "Beta")["id"]
    gamma = make_customer(api, "Gamma")["id"]
    for customer, name in ((acme, "acme"), (beta, "beta"), (gamma, "gamma")):
        make_project(api, name, customer)
    for query in (
        f"customers[0]={beta}&customers[1]={gamma}",
        f"customers%5B1%5D={gamma}&customers%5B0%5D={beta}",
        f"customers[]={beta}&customers[5]={gamma}",
    ):
        response = api.get(f"/api/projects?ignoreDates=1&{query}")
        assert [p["name"] for p in response.json()] == ["beta", "gamma"], query
    assert api.get("/api/projects?ignoreDates=1&customers[0]=x").json() == BAD_REQUEST
    project = make_project(api, "Pr", acme)["id"]
    make_activity(api, "own", project)
    make_activity(api, "other", make_project(api, "Qr", acme)["id"])
    response = api.get(f"/api/activities?projects[0]={project}")
    assert [a["name"] for a in response.json()] == ["own"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/projects?customers=1",
        "/api/projects?ignoreDates=1&customers=1&customers[]=1",
        "/api/projects?customers=abc",
        "/api/activities?projects=1",
        "/api/activities?projects=1&projects=2",
    ],
)
def test_the_bare_name_of_an_array_parameter_is_a_bad_request(api: Api, url: str) -> None:
    response = api.get(url)
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST


def test_the_bare_name_of_an_array_parameter_needs_credentials_first(api: Api) -> None:
    response = api.get("/api/projects?customers=1", as_=None)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_an_empty_bare_array_parameter_counts_as_absent(api: Api) -> None:
    assert api.get("/api/projects?customers=").status_code == 200
    assert api.get("/api/activities?projects").status_code == 200


# --- 8. HEAD ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "as_", "status"),
    [
        ("/api/projects?ignoreDates=1", "super", 200),
        ("/api/customers", "user", 200),
        ("/api/activities/9999", "super", 404),
        ("/api/version", None, 401),
        ("/api/projects?visible=4", "super", 400),
    ],
)
def test_head_is_get_without_the_body(api: Api, url: str, as_: str | None, status: int) -> None:
    customer = make_customer(api)["id"]
    make_project(api, "Headed", customer)
    get = api.get(url, as_=as_)
    head = raw_request(api, "HEAD", url, as_=as_)
    assert (get.status_code, head.status_code) == (status, status)
    assert head.content == b""
    assert get.content
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]


def test_head_on_a_route_without_get_is_405(api: Api) -> None:
    project = make_project(api, "Pr", make_customer(api)["id"])["id"]
    response = raw_request(api, "HEAD", f"/api/projects/{project}/duplicate")
    assert response.status_code == 405
    assert response.content == b""
    assert response.headers["allow"] == "POST"


def test_head_with_a_trailing_slash_redirects_like_get(api: Api) -> None:
    response = raw_request(api, "HEAD", "/api/projects/?ignoreDates=1")
    assert response.status_code == 301
    assert response.headers["location"] == "/api/projects?ignoreDates=1"
