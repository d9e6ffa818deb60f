"""``punchclock sync`` against a fake Kimai 2.66 (tests/fake_kimai.py): no change feed, whole entity
lists, pages of timesheets with a 404 past the last, ``modified_after`` in UTC, 403s for weaker tokens.

Each test builds the fake's data, syncs into a SQLite file or a PostgreSQL database, and compares the
target's rows with what the fake holds.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from punchclock.tools.sync.source_kimai import OVERLAP
from punchclock.tools.sync.target import safe_url
from tests.conftest import backends
from tests.fake_kimai import FakeKimai
from tests.sync_support import (
    Rows,
    assert_indexes,
    assert_same,
    clean_env,
    indexes,
    read_target,
    state,
    sync,
    sync_command,
    sync_process,
    target_url,
)
from tests.threaded_server import serving

SUPER, ADMIN, LEAD, USER = "super-token", "admin-token", "lead-token", "user-token"
UTC = dt.UTC


class Current:
    fake = FakeKimai()


@pytest.fixture(scope="module")
def kimai_url() -> Iterator[str]:
    """One server for the module; each test gets a fresh ``FakeKimai`` behind it."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await Current.fake.app()(scope, receive, send)

    with serving(app) as url:
        yield url


@dataclass
class Kimai:
    fake: FakeKimai
    url: str


@pytest.fixture
def kimai(kimai_url: str) -> Kimai:
    Current.fake = FakeKimai()
    return Kimai(Current.fake, kimai_url)


@pytest.fixture(params=backends())
def to(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return target_url("sqlite" if request.param == "sqlite" else "postgresql", tmp_path)


def at(text_value: str, zone: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_value).replace(tzinfo=ZoneInfo(zone))


def seed(fake: FakeKimai) -> dict[str, Any]:
    """Something of everything, hidden and ended things included."""
    su = fake.add_user("susan", roles=("ROLE_SUPER_ADMIN",), token=SUPER)
    ad = fake.add_user("anna", roles=("ROLE_ADMIN",), timezone="America/New_York", token=ADMIN)
    tl = fake.add_user("tony", roles=("ROLE_TEAMLEAD",), timezone="Pacific/Tongatapu", token=LEAD)
    us = fake.add_user("john", timezone="Pacific/Tongatapu", token=USER, supervisor=tl["id"])
    gone = fake.add_user("old", enabled=False)
    acme = fake.add_customer("Acme", contact="Ann", email="acme@example.com", vatId="DE1", meta={"crm": "42"})
    hidden = fake.add_customer("Hidden Ltd", visible=False)
    web = fake.add_project("Web", acme["id"], orderDate="2024-01-31", start="2024-02-01")
    ended = fake.add_project("Ended", acme["id"], start="2020-01-01", end="2020-12-31")
    future = fake.add_project("Future", acme["id"], start="2999-01-01")
    secret = fake.add_project("Secret", hidden["id"])
    shy = fake.add_project("Shy", acme["id"], visible=False, meta={"po": "7"})
    code = fake.add_activity("Code", web["id"])
    fake.add_activity("Old code", ended["id"], visible=False)
    fake.add_activity("Plan", future["id"])
    fake.add_activity("Whisper", secret["id"])
    fake.add_activity("Hush", shy["id"], visible=True)
    meeting = fake.add_activity("Meeting", None, billable=False)
    fake.add_activity("Retired", None, visible=False)
    fake.add_team("Team A", {tl["id"]: True, us["id"]: False}, customers=[acme["id"]], projects=[web["id"]])
    fake.add_tag("urgent")
    fake.add_tag("internal", visible=False)
    fake.add_rate("customer", acme["id"], 80.0)
    fake.add_rate("project", web["id"], 90.0, user=us["id"], internal=70.0)
    fake.add_rate("activity", meeting["id"], 10.0, fixed=True)
    begin = at("2024-05-01T09:00:00", "Pacific/Tongatapu")
    sheets = [
        fake.add_timesheet(
            us["id"], web["id"], code["id"], begin, begin + dt.timedelta(hours=2), tags=("urgent",)
        ),
        fake.add_timesheet(
            us["id"],
            web["id"],
            meeting["id"],
            begin + dt.timedelta(days=1),
            None,
            tags=("internal", "urgent"),
            meta={"ticket": "X-1"},
        ),
        fake.add_timesheet(
            ad["id"],
            ended["id"],
            code["id"],
            at("2020-03-08T01:30:00", "America/New_York"),
            at("2020-03-08T03:30:00", "America/New_York"),
            description="over the DST gap",
        ),
        fake.add_timesheet(
            su["id"],
            secret["id"],
            meeting["id"],
            at("2023-10-29T02:30:00+02:00", "UTC"),
            at("2023-10-29T02:30:00+01:00", "UTC"),
            modified=None,
        ),
    ]
    return {"users": [su, ad, tl, us, gone], "sheets": sheets}


# --- what the target should hold ------------------------------------------------------------------------


def _offset(instant: dt.datetime, zone: str) -> int:
    return int(instant.astimezone(ZoneInfo(zone)).utcoffset().total_seconds()) // 60  # type: ignore[union-attr]


def expected(fake: FakeKimai, *, as_token: str = SUPER) -> Rows:
    """The fake's data as the target's rows, as seen by the token's user (default: a super admin)."""
    caller = fake.users[fake.tokens[as_token]]
    rows: Rows = {
        name: set()
        for name in (
            "customer",
            "project",
            "activity",
            "user_account",
            "user_preference",
            "team",
            "team_member",
            "team_customer",
            "team_project",
            "team_activity",
            "tag",
            "timesheet",
            "timesheet_tag",
            "meta_field",
            "rate",
        )
    }

    def day(value: str | None) -> dt.date | None:
        return None if value is None else dt.date.fromisoformat(value)

    def budget(entity: dict[str, Any], kind: str) -> tuple[Any, ...]:
        allowed = fake.can(caller, f"budget_{kind}")
        return tuple(entity[k] if allowed else None for k in ("budget", "timeBudget", "budgetType"))

    def may(permission: str) -> bool:
        return fake.can(caller, permission)

    def only(allowed: bool, value: Any) -> Any:
        return value if allowed else None

    for c in fake.customers.values():
        entity, details = may("view_customer"), may("view_customer") or may("details_customer")
        rows["customer"].add(
            (
                c["id"],
                c["name"],
                c["number"],
                c["comment"],
                c["visible"],
                c["billable"],
                c["company"],
                only(details, c["vatId"]),
                only(entity, c["contact"]),
                only(entity, c["address"]),
                only(details, c["addressLine1"]),
                only(details, c["addressLine2"]),
                only(details, c["addressLine3"]),
                only(details, c["postCode"]),
                only(details, c["city"]),
                c["country"],
                c["currency"],
                c["language"],
                c["timezone"],
                c["phone"],
                c["fax"],
                c["mobile"],
                only(entity, c["email"]),
                c["homepage"],
                only(entity, c["invoiceEmail"]),
                only(entity, c["buyerReference"]),
                c["color"],
                *budget(c, "customer"),
                None,
            )
        )
    for p in fake.projects.values():
        rows["project"].add(
            (
                p["id"],
                p["customer"],
                p["name"],
                p["number"],
                p["orderNumber"],
                day(p["orderDate"]),
                day(p["start"]),
                day(p["end"]),
                p["comment"],
                p["visible"],
                p["billable"],
                p["globalActivities"],
                p["color"],
                *budget(p, "project"),
                None,
            )
        )
    for a in fake.activities.values():
        rows["activity"].add(
            (
                a["id"],
                a["project"],
                a["name"],
                a["number"],
                a["comment"],
                a["visible"],
                a["billable"],
                a["color"],
                *budget(a, "activity"),
                None,
            )
        )
    for kind, entities in (
        ("customer", fake.customers),
        ("project", fake.projects),
        ("activity", fake.activities),
    ):
        for e in entities.values():
            rows["meta_field"] |= {(kind, e["id"], name, value) for name, value in e["meta"].items()}
    for (kind, entity_id), rates in fake.rates.items():
        if not may(f"edit_{kind}"):
            continue
        rows["rate"] |= {
            (kind, r["id"], entity_id, r["user"], r["rate"], r["internalRate"], r["isFixed"]) for r in rates
        }
    users = fake.users.values() if fake.can(caller, "view_user") else [caller]
    for u in users:
        rows["user_account"].add(
            (
                u["id"],
                u["username"],
                u["email"],
                u["alias"],
                u["title"],
                u["accountNumber"],
                None,
                u["color"],
                u["enabled"],
                False,
                ",".join(sorted(u["roles"])),
                u["supervisor"],
                u["language"],
                u["locale"],
                u["timezone"],
                None,
            )
        )
        rows["user_preference"] |= {(u["id"], p["name"], p["value"]) for p in u["preferences"]}
        rows["team_member"] |= {(t["id"], u["id"], lead) for t, lead in fake.memberships(u["id"])}
    if fake.can(caller, "view_team"):
        for t in fake.teams.values():
            rows["team"].add((t["id"], t["name"], t["color"], None))
            rows["team_member"] |= {(t["id"], u, lead) for u, lead in t["members"].items()}
    for kind in ("customer", "project", "activity"):
        for t in fake.teams.values():
            rows[f"team_{kind}"] |= {(t["id"], i) for i in t[f"{kind.replace('y', 'ie')}s"]}
    owners = fake.owners(caller, {"user": "all"})
    used = set()
    for s in fake.timesheets.values():
        if owners is not None and s["user"] not in owners:
            continue
        begin, end, zone = s["begin"], s["end"], s["timezone"]
        rate = fake.sees_rate(caller, s)
        rows["timesheet"].add(
            (
                s["id"],
                s["user"],
                s["project"],
                s["activity"],
                begin.astimezone(UTC),
                None if end is None else end.astimezone(UTC),
                _offset(begin, zone),
                None if end is None else _offset(end, zone),
                begin.astimezone(ZoneInfo(zone)).date(),
                s["duration"],
                s["break"],
                s["description"],
                s["billable"],
                s["exported"],
                s["rate"] if rate else None,
                s["internalRate"] if rate else None,
                None,
                None,
                None,
            )
        )
        rows["timesheet_tag"] |= {(s["id"], name) for name in s["tags"]}
        rows["meta_field"] |= {("timesheet", s["id"], name, value) for name, value in s["meta"].items()}
        used |= set(s["tags"])
    listed = {t["name"] for t in fake.tags.values() if t["visible"]}
    rows["tag"] = {(name, None, None, name in listed) for name in listed | used}
    return {name: {tuple(_normal(v) for v in row) for row in found} for name, found in rows.items()}


def _normal(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).replace(microsecond=0)
    if isinstance(value, float):
        return round(value, 4)
    return value


# --- tests --------------------------------------------------------------------------------------------


def test_first_sync_copies_everything_hidden_and_ended_included(kimai: Kimai, to: str) -> None:
    seed(kimai.fake)
    result = sync(kimai.url, SUPER, to)
    assert result.code == 0, result.stderr
    assert result.warnings == []
    assert_same(read_target(to), expected(kimai.fake))
    assert result.tallies["timesheets"] == (4, 0, 0)
    assert result.tallies["customers"] == (2, 0, 0)
    assert result.tallies["tags"] == (2, 0, 0)
    # The lists ask for everything; Kimai's defaults would hide half of it.
    assert kimai.fake.calls("/api/customers") == [{"visible": "3", "full": "1"}]
    assert kimai.fake.calls("/api/projects") == [{"visible": "3", "ignoreDates": "1"}]
    assert kimai.fake.calls("/api/activities") == [{"visible": "3"}]
    assert kimai.fake.calls("/api/users") == [{"visible": "3", "full": "1"}]
    assert kimai.fake.calls("/api/timesheets") == [
        {"user": "all", "size": "500", "page": "1", "orderBy": "id", "order": "ASC"}
    ]
    assert "Kimai API" in result.stdout

    again = sync(kimai.url, SUPER, to)
    assert again.code == 0
    assert set(again.tallies.values()) == {(0, 0, 0)}
    assert_same(read_target(to), expected(kimai.fake))


def test_deltas_ask_for_changes_since_the_last_run_in_utc(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    found = seed(fake)
    before = dt.datetime.now(UTC).replace(microsecond=0)
    assert sync(kimai.url, SUPER, to).code == 0
    after = dt.datetime.now(UTC)
    watermark = state(to)["kimai.timesheets"]["watermark"]
    # The server's clock when the run began, minus the overlap, in Kimai's strict form, in UTC. (The
    # clock is the Date header, which uvicorn renews once a second: on a busy machine it lags more.)
    assert before - OVERLAP - dt.timedelta(seconds=5) <= dt.datetime.fromisoformat(watermark).replace(
        tzinfo=UTC
    )
    assert dt.datetime.fromisoformat(watermark).replace(tzinfo=UTC) <= after - OVERLAP
    bound = dt.datetime.fromisoformat(watermark).replace(tzinfo=UTC)
    sheet = found["sheets"][0]
    # Changed by a user in Tongatapu (+13:00): the server keeps modification times in UTC.
    sheet.update(description="changed just after", modified_at=bound + dt.timedelta(minutes=1))
    stale = found["sheets"][2]
    stale.update(description="changed before the last run", modified_at=bound - dt.timedelta(minutes=1))
    user, project, activity = sheet["user"], sheet["project"], sheet["activity"]
    new = fake.add_timesheet(user, project, activity, sheet["begin"] + dt.timedelta(days=3), None)
    fake.requests.clear()

    result = sync(kimai.url, SUPER, to)
    assert result.code == 0
    assert result.tallies["timesheets"] == (1, 1, 0)
    assert fake.calls("/api/timesheets") == [
        {
            "user": "all",
            "size": "500",
            "page": "1",
            "orderBy": "id",
            "order": "ASC",
            "modified_after": watermark,
        }
    ]
    rows = read_target(to)["timesheet"]
    assert {row[0]: row[11] for row in rows}[sheet["id"]] == "changed just after"
    # A change older than the window is not asked for: that is what the window is.
    assert {row[0]: row[11] for row in rows}[stale["id"]] == "over the DST gap"
    assert new["id"] in {row[0] for row in rows}


def test_rows_without_a_modification_time_come_with_full_passes(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    found = seed(fake)
    untracked = found["sheets"][3]  # modified_at NULL: modified_after never matches it
    assert sync(kimai.url, SUPER, to).code == 0
    untracked.update(description="edited without a modification time")
    assert sync(kimai.url, SUPER, to).tallies["timesheets"] == (0, 0, 0)
    result = sync(kimai.url, SUPER, to, reconcile=True)
    assert result.tallies["timesheets"] == (0, 1, 0)
    assert_same(read_target(to), expected(fake))


def test_deletions_reach_the_target(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    found = seed(fake)
    assert sync(kimai.url, SUPER, to).code == 0
    del fake.customers[2]  # Hidden Ltd, with its project "Secret" and that project's activity
    del fake.projects[4]
    del fake.activities[4]
    del fake.timesheets[found["sheets"][3]["id"]]  # on "Secret"
    del fake.users[5]
    del fake.teams[1]
    fake.rates[("customer", 1)].clear()
    gone = found["sheets"][2]["id"]
    del fake.timesheets[gone]
    fake.requests.clear()

    result = sync(kimai.url, SUPER, to)
    assert result.code == 0
    # Acme, Web, tony and john were in the team: their views changed with it.
    assert result.tallies["customers"] == (0, 1, 1)
    assert result.tallies["projects"] == (0, 1, 1)
    assert result.tallies["activities"] == (0, 0, 1)
    assert result.tallies["users"] == (0, 2, 1)
    assert result.tallies["teams"] == (0, 0, 1)
    # Deleted timesheets are not in a delta: only a reconciliation finds them.
    assert result.tallies["timesheets"] == (0, 0, 0)
    assert gone in {row[0] for row in read_target(to)["timesheet"]}

    result = sync(kimai.url, SUPER, to, reconcile=True)
    assert result.tallies["timesheets"] == (0, 0, 2)
    assert_same(read_target(to), expected(fake))
    # The two missing rows were asked for one by one before they went.
    asked = [path for path, _ in fake.requests if path.startswith("/api/timesheets/")]
    assert sorted(asked) == sorted(f"/api/timesheets/{i}" for i in (gone, found["sheets"][3]["id"]))


def test_hundreds_of_entities_and_an_exact_multiple_of_the_page_size(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    seed(fake)
    fake.rates.clear()
    for n in range(600):
        customer = fake.add_customer(f"Customer {n:03}", visible=n % 7 != 0)
        fake.add_activity(f"Activity {n:03}", None, visible=n % 5 != 0)
    user, project, activity = 4, 1, 1
    start = at("2024-01-01T08:00:00", "Pacific/Tongatapu")
    while len(fake.timesheets) < 1000:
        begin = start + dt.timedelta(hours=len(fake.timesheets))
        fake.add_timesheet(user, project, activity, begin, begin + dt.timedelta(minutes=30))
    assert customer["id"] == 602

    result = sync(kimai.url, SUPER, to)
    assert result.code == 0, result.stderr
    assert result.tallies["customers"] == (602, 0, 0)
    assert result.tallies["activities"] == (607, 0, 0)
    assert result.tallies["timesheets"] == (1000, 0, 0)
    # One request per list, whatever its length; two pages of 500, and no third (Kimai: 404).
    assert len(fake.calls("/api/customers")) == 1
    assert [q["page"] for q in fake.calls("/api/timesheets")] == ["1", "2"]
    assert_same(read_target(to), expected(fake))


def test_a_page_that_vanished_while_reading_ends_the_pass(kimai: Kimai, to: str) -> None:
    """Kimai answers 404 past the last page: rows deleted meanwhile can make page 2 that page."""
    fake = kimai.fake
    seed(fake)
    start = at("2024-01-01T08:00:00", "Europe/Berlin")
    while len(fake.timesheets) < 900:
        begin = start + dt.timedelta(hours=len(fake.timesheets))
        fake.add_timesheet(1, 1, 1, begin, begin + dt.timedelta(minutes=30))

    def delete_half(page: int) -> None:
        if page == 1:
            for timesheet_id in sorted(fake.timesheets)[500:]:
                del fake.timesheets[timesheet_id]

    fake.after_page = delete_half
    result = sync(kimai.url, SUPER, to)
    assert result.code == 0, result.stderr
    assert [q["page"] for q in fake.calls("/api/timesheets")] == ["1", "2"]
    assert result.tallies["timesheets"] == (500, 0, 0)
    fake.after_page = None
    assert_same(read_target(to), expected(fake))


def test_rows_that_move_to_an_earlier_page_while_reading_are_not_skipped(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    seed(fake)
    start = at("2024-01-01T08:00:00", "Europe/Berlin")
    while len(fake.timesheets) < 1200:
        begin = start + dt.timedelta(hours=len(fake.timesheets))
        fake.add_timesheet(1, 1, 1, begin, begin + dt.timedelta(minutes=30))
    # Deleting three rows of page 1 after it was read moves rows 501-503 onto page 1.
    doomed = sorted(fake.timesheets)[10:13]

    def delete_three(page: int) -> None:
        if page == 1:
            for timesheet_id in doomed:
                fake.timesheets.pop(timesheet_id, None)

    fake.after_page = delete_three
    result = sync(kimai.url, SUPER, to)
    assert result.code == 0, result.stderr
    fake.after_page = None
    synced = {row[0] for row in read_target(to)["timesheet"]}
    assert set(fake.timesheets) <= synced  # none skipped; the three deleted ones wait for --reconcile
    assert [q["page"] for q in fake.calls("/api/timesheets")] == ["1", "2", "1", "2", "3"]
    assert sync(kimai.url, SUPER, to, reconcile=True).tallies["timesheets"] == (0, 0, 3)
    assert_same(read_target(to), expected(fake))


WARN_USERS = "warning: users: listing users needs ROLE_SUPER_ADMIN: only the token's own user is synced"
WARN_TEAMS = "warning: teams: need ROLE_ADMIN or ROLE_SUPER_ADMIN: teams and their members are not synced"


def test_weaker_tokens_get_warnings_and_what_they_may_see(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    seed(fake)
    result = sync(kimai.url, USER, to)
    assert result.code == 0, result.stderr
    assert result.warnings == [
        "warning: timesheets: the token's user may not see other users' timesheets (view_other_timesheet, "
        "ROLE_TEAMLEAD and up): only their own are synced",
        "warning: timesheets: rates are hidden from this token: rate columns stay empty",
        WARN_USERS,
        WARN_TEAMS,
        "warning: customers: the token may not view every customer in detail: contact, e-mail and address "
        "columns stay empty where it may not",
        "warning: customers, projects, activities: rates need ROLE_ADMIN or ROLE_SUPER_ADMIN: they are not "
        "synced",
    ]
    assert_same(read_target(to), expected(fake, as_token=USER))
    # Nothing was asked that Kimai would refuse.
    paths = {path for path, _ in fake.requests}
    assert "/api/users" not in paths
    assert "/api/teams" not in paths
    assert not any(path.endswith("/rates") for path in paths)


def test_a_team_lead_syncs_their_team(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    seed(fake)
    result = sync(kimai.url, LEAD, to)
    assert result.code == 0, result.stderr
    assert WARN_USERS in result.warnings
    assert WARN_TEAMS in result.warnings
    rows = read_target(to)
    assert {row[1] for row in rows["timesheet"]} == {4}  # john, of tony's team (tony has none)
    assert_same(rows, expected(fake, as_token=LEAD))


def test_a_refusal_the_roles_did_not_predict_is_a_warning(kimai: Kimai, to: str) -> None:
    """A Kimai configured otherwise may refuse what its default roles allow."""
    fake = kimai.fake
    seed(fake)
    fake.fail("/api/users", 403)
    fake.fail("/api/customers/1/rates", 403)
    result = sync(kimai.url, SUPER, to)
    assert result.code == 0, result.stderr
    assert result.warnings == [
        "warning: users: the server refused to list them (403): they are not synced",
        "warning: customers: the server refused to show rates (403): they are not synced",
    ]
    assert [row[1] for row in read_target(to)["user_account"]] == ["susan"]


def test_failures_are_retried_as_the_server_asks(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    seed(fake)
    fake.fail("/api/timesheets", 503, headers={"Retry-After": "1"})
    fake.fail("/api/timesheets", 429, headers={"Retry-After": "0"})
    fake.fail("/api/customers", 502)
    started = dt.datetime.now(UTC)
    result = sync(kimai.url, SUPER, to)
    assert result.code == 0, result.stderr
    assert dt.datetime.now(UTC) - started >= dt.timedelta(seconds=1.5)  # 1 s asked, then 0.5 s backoff
    assert "3 retried" in result.stdout
    assert_same(read_target(to), expected(fake))


def test_a_server_that_keeps_failing_ends_the_run(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    seed(fake)
    fake.fail("/api/timesheets", 503, times=6, headers={"Retry-After": "0"})
    result = sync(kimai.url, SUPER, to)
    assert result.code == 10
    assert result.stderr.strip() == "error: Service Unavailable"
    assert "5 retried" in result.stdout
    # What came before was committed; the next run completes the rest.
    assert len(read_target(to)["customer"]) == 2
    assert sync(kimai.url, SUPER, to).code == 0
    assert_same(read_target(to), expected(fake))


def test_a_failing_doc_json_is_no_reason_to_read_another_way(kimai: Kimai, to: str) -> None:
    """Only an answer that there is no such document (Kimai's 404) means "no change feed"; a server
    failing there ends the run, as anywhere else, instead of reading it in the other mode."""
    seed(kimai.fake)
    kimai.fake.fail("/api/doc.json", 503, times=6, headers={"Retry-After": "0"})
    result = sync(kimai.url, SUPER, to)
    assert result.code == 10
    assert "source" not in state(to)


def test_tags_hidden_and_deleted(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    found = seed(fake)
    fake.add_tag("never used", visible=False)
    for sheet in found["sheets"]:  # changed long before the runs: not in their overlap
        sheet["modified_at"] = dt.datetime.now(UTC) - dt.timedelta(days=1)
    assert sync(kimai.url, SUPER, to).code == 0
    assert read_target(to)["tag"] == {("urgent", None, None, True), ("internal", None, None, False)}
    # Kimai deletes a tag and takes it off its timesheets without marking them modified.
    del fake.tags[1]
    for sheet in found["sheets"]:
        sheet["tags"] = [name for name in sheet["tags"] if name != "urgent"]
    result = sync(kimai.url, SUPER, to)
    assert result.tallies["tags"] == (0, 1, 0)  # still on timesheets here: a hidden tag, seemingly
    result = sync(kimai.url, SUPER, to, reconcile=True)
    assert result.tallies["tags"] == (0, 0, 1)
    assert_same(read_target(to), expected(fake))


def test_a_change_of_roles_resyncs_what_the_token_sees(kimai: Kimai, to: str) -> None:
    fake = kimai.fake
    seed(fake)
    assert sync(kimai.url, ADMIN, to).code == 0
    assert len(read_target(to)["timesheet"]) == 4
    fake.users[2]["roles"] = []  # anna is no admin any more: only her own timesheets are hers to see
    result = sync(kimai.url, ADMIN, to)
    assert result.code == 0
    assert result.tallies["timesheets"] == (0, 1, 3)  # her own lost its rates: plain users see none
    assert_same(read_target(to), expected(fake, as_token=ADMIN))


def test_a_change_of_roles_is_noticed_per_kind(kimai: Kimai, to: str) -> None:
    """A run of some kinds only does not hide the change from the kinds it left out."""
    fake = kimai.fake
    seed(fake)
    assert sync(kimai.url, ADMIN, to).code == 0
    before = state(to)["scope.customer"]
    fake.users[2]["roles"] = ["ROLE_USER"]
    assert sync(kimai.url, ADMIN, to, only="timesheets").code == 0
    # Each kind keeps the scope it was last synced with: the customers' is still the admin's.
    assert state(to)["scope.customer"] == before != state(to)["scope.timesheet"]
    result = sync(kimai.url, ADMIN, to)
    assert result.code == 0
    assert_same(read_target(to), expected(fake, as_token=ADMIN))


def test_a_target_of_another_server_is_refused(kimai: Kimai, to: str) -> None:
    seed(kimai.fake)
    assert sync(kimai.url, SUPER, to).code == 0
    other = kimai.url.replace("127.0.0.1", "localhost")
    result = sync(other, SUPER, to)
    assert result.code == 11
    assert result.stderr == (
        f"error: {safe_url(to)} holds data synced from {kimai.url}/api/: give another --to, or --full to "
        "replace it\n"
    )
    assert result.stdout == ""
    # The other server's checkpoints are forgotten at once: a partial run leaves none to be resumed.
    assert sync(other, SUPER, to, full=True, only="customers").code == 0
    assert "kimai.timesheets" not in state(to)
    assert sync(other, SUPER, to, full=True).code == 0
    assert state(to)["source"] == {"url": f"{other}/api/", "mode": "kimai"}


@pytest.mark.parametrize("gone", [0, 600])
def test_the_command_resumes_a_killed_run(kimai: Kimai, tmp_path: Path, gone: int) -> None:
    """Killed while it waits for page 3: pages 1 and 2 are in, the next run reads on from there. With
    ``gone`` rows of pages 1 and 2 deleted meanwhile, the rest moved to earlier pages: the resumed
    pass sees the total drop against the one it saved, and steps back so that none is skipped."""
    fake = kimai.fake
    seed(fake)
    start = at("2024-01-01T08:00:00", "Europe/Berlin")
    while len(fake.timesheets) < 1400:
        begin = start + dt.timedelta(hours=len(fake.timesheets))
        fake.add_timesheet(1, 1, 1, begin, begin + dt.timedelta(minutes=30))
    to = f"sqlite:///{tmp_path / 'bi.db'}"
    hold = fake.hold("/api/timesheets", after=3)
    process = subprocess.Popen(
        sync_command("--url", kimai.url, "--token", SUPER, "--to", to),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        assert hold.reached.wait(timeout=60), "the run never asked for page 3"
        engine = create_engine(to)
        deadline = dt.datetime.now(UTC) + dt.timedelta(seconds=30)
        while dt.datetime.now(UTC) < deadline:
            with engine.connect() as connection:
                saved = connection.scalar(
                    text("SELECT value FROM sync_state WHERE name = 'kimai.timesheets'")
                )
            if saved and '"page":3' in saved:
                break
        engine.dispose()
        assert '"page":3' in (saved or ""), saved
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        hold.release.set()
        if process.poll() is None:
            process.kill()
    assert len(read_target(to)["timesheet"]) == 1000
    assert indexes(to) == set()  # a first load into an empty table builds them at its end
    for timesheet_id in sorted(fake.timesheets)[:gone]:
        del fake.timesheets[timesheet_id]
    result = sync(kimai.url, SUPER, to)
    assert result.code == 0, result.stderr
    assert result.tallies["timesheets"] == (400, 0, 0)  # page 2 read again (unchanged), then page 3
    assert_indexes(to)
    if gone:  # Kimai cannot tell deletions: --reconcile finds them
        assert {row[0] for row in read_target(to)["timesheet"]} >= set(fake.timesheets)
        assert sync(kimai.url, SUPER, to, reconcile=True).tallies["timesheets"] == (0, 0, gone)
    assert_same(read_target(to), expected(fake))


def test_exit_codes_of_the_command(kimai: Kimai, tmp_path: Path) -> None:
    seed(kimai.fake)
    to = f"sqlite:///{tmp_path / 'bi.db'}"
    bad_token = sync_process("--url", kimai.url, "--token", "nope", "--to", to)
    assert bad_token.code == 8
    assert bad_token.stderr == f"error: GET {kimai.url}/api/users/me: the API token was not accepted (401)\n"
    unreachable = sync_process("--url", "http://127.0.0.1:9", "--token", SUPER, "--to", to)
    assert unreachable.code == 7
    assert "cannot connect" in unreachable.stderr
    nowhere = f"sqlite:///{tmp_path / 'missing' / 'bi.db'}"
    unusable = sync_process("--url", kimai.url, "--token", SUPER, "--to", nowhere)
    assert unusable.code == 11
    assert unusable.stderr == f"error: cannot use the target database {nowhere}: No such file or directory\n"
    for args, message in (
        (["--only", "timesheets,invoices"], "Invalid value for '--only': unknown kind 'invoices'"),
        (["--to", "mysql://x/y"], "Invalid value for '--to': the target must be SQLite"),
        (["--url", "ftp://x"], "Invalid value for '--url': not an http(s) URL"),
    ):
        base = {"--url": kimai.url, "--token": SUPER, "--to": to}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        usage = sync_process(*[part for pair in base.items() for part in pair])
        assert usage.code == 64, usage
        assert message in usage.stderr
    done = sync_process("--url", kimai.url, "--token", SUPER, "--to", to, "--only", "customers,projects")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "customers: 2 inserted, 0 updated, 0 deleted",
        "projects:  5 inserted, 0 updated, 0 deleted",
    ]
    # users/me, doc.json, the two lists, two customers in detail, and seven entities' rates
    assert done.stdout.splitlines()[2].startswith("Kimai API: 13 requests in ")


def test_a_server_that_is_no_kimai(tmp_path: Path) -> None:
    """JSON, but not Kimai's: exit 7, as when the URL names something else altogether."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(_request: Any) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    with serving(Starlette(routes=[Route("/{path:path}", hello)])) as url:
        result = sync(url, SUPER, f"sqlite:///{tmp_path / 'bi.db'}")
    assert result.code == 7
    assert result.stderr == "error: the server's answers are not those of a Kimai API (KeyError: 'id')\n"
    assert result.stdout == ""


def test_a_server_that_answers_lists_is_no_kimai(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def listing(_request: Any) -> JSONResponse:
        return JSONResponse([1, 2, 3])

    with serving(Starlette(routes=[Route("/{path:path}", listing)])) as url:
        result = sync(url, SUPER, f"sqlite:///{tmp_path / 'bi.db'}")
    assert result.code == 7
    assert result.stderr.startswith("error: the server's answers are not those of a Kimai API (")
    assert "Traceback" not in result.stderr
