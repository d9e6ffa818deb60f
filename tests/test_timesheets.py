"""Timesheets: the form, rounding, rates, timezones, actions and permissions, as Kimai has them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import EXTRA_FIELDS, NOT_FOUND, Api
from tests.test_projects import make_activity, make_customer, make_project, validation_failed

FORM_FIELDS_USER = ("begin", "end", "project", "activity", "description", "tags")
FORM_FIELDS_ADMIN = (*FORM_FIELDS_USER, "fixedRate", "hourlyRate", "user", "exported", "billable")


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    customer = make_customer(api, "Acme")
    project = make_project(api, "Website", customer["id"])
    activity = make_activity(api, "Design", project["id"])
    global_activity = make_activity(api, "Meeting")
    return {"customer": customer, "project": project, "activity": activity, "global": global_activity}


def local_time(*, hours_ago: float, tz: str = "Europe/Berlin") -> str:
    moment = dt.datetime.now(ZoneInfo(tz)) - dt.timedelta(hours=hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def post(api: Api, world: dict[str, Any], *, as_: str = "super", **fields: Any) -> Any:
    body = {"project": world["project"]["id"], "activity": world["activity"]["id"], **fields}
    return api.post("/api/timesheets", json=body, as_=as_)


def test_kimai_example_rounding_and_rates(api: Api, world: dict[str, Any]) -> None:
    response = post(
        api,
        world,
        as_="user",
        begin="2020-03-27T14:35:59",
        end="2020-03-28T03:29:04",
        description="**foo**\nbar",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["begin"] == "2020-03-27T14:35:00+1300"
    assert body["end"] == "2020-03-28T03:30:00+1300"
    assert body["duration"] == 46500
    assert "rate" not in body
    record = api.get(f"/api/timesheets/{body['id']}").json()
    assert record["rate"] == 0.0


def test_running_and_active(api: Api, world: dict[str, Any]) -> None:
    first = post(api, world, begin=local_time(hours_ago=3)).json()
    assert first["end"] is None
    assert first["duration"] == 0
    second = post(api, world, begin=local_time(hours_ago=2)).json()
    active = api.get("/api/timesheets/active").json()
    assert [row["id"] for row in active] == [second["id"]]
    stopped = api.get(f"/api/timesheets/{first['id']}").json()
    assert stopped["end"] is not None


def test_list_paging(api: Api, world: dict[str, Any]) -> None:
    for day in range(1, 23):
        assert (
            post(
                api, world, begin=f"2024-05-{day:02d}T09:00:00", end=f"2024-05-{day:02d}T10:00:00"
            ).status_code
            == 200
        )
    response = api.get("/api/timesheets?page=2&size=4")
    assert response.status_code == 200
    assert response.headers["X-Page"] == "2"
    assert response.headers["X-Per-Page"] == "4"
    assert response.headers["X-Total-Pages"] == "6"
    assert response.headers["X-Total-Count"] == "22"
    assert api.get("/api/timesheets?page=7&size=4").json() == NOT_FOUND


def test_extra_fields_for_user(api: Api, world: dict[str, Any]) -> None:
    response = post(api, world, as_="user", billable=True)
    assert response.status_code == 400
    assert response.json() == validation_failed(FORM_FIELDS_USER, {}, [EXTRA_FIELDS])
