"""``punchclock import-csv`` against a real server: uvicorn on a free port over the test database.

Most runs call the command line's entry point in-process (fast); the exit codes and the environment
variables are checked with the real CLI as a subprocess. What an import created is read back through
the API.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from punchclock.app import create_app
from punchclock.cli import main
from punchclock.db import Database
from punchclock.ext.bulk.models import ExternalId
from punchclock.tools.client import api_base
from punchclock.tools.importer import Options, run_import
from tests.conftest import PEOPLE, Api
from tests.conftest import test_settings as settings_for
from tests.threaded_server import free_port, serving

SAMPLE = """DEMO,FOO,A long activity title
DEMO,FOO,Demand management
DEMO,BAR,Software as a service
DEMO,BAR,Video conference
DEMO,BAR,Sales talk
DEMO,Hello world,I see you
DEMO,Hello world,Testing the API
"""
SAMPLE_TREE = (
    ["DEMO"],
    [("DEMO", "BAR"), ("DEMO", "FOO"), ("DEMO", "Hello world")],
    [
        ("DEMO", "BAR", "Sales talk"),
        ("DEMO", "BAR", "Software as a service"),
        ("DEMO", "BAR", "Video conference"),
        ("DEMO", "FOO", "A long activity title"),
        ("DEMO", "FOO", "Demand management"),
        ("DEMO", "Hello world", "I see you"),
        ("DEMO", "Hello world", "Testing the API"),
    ],
)
HEADER = "Customer,Project,Activity\n"


@pytest.fixture(scope="module")
def server(database: Database, database_url: str) -> Iterator[str]:
    """The app served by uvicorn in a thread, on the session's database (emptied per test by ``db``)."""
    with serving(create_app(settings_for(database_url), database)) as url:
        yield url


@pytest.fixture(scope="module")
def plain_server(database: Database, database_url: str) -> Iterator[str]:
    """The same app without ``/api/doc.json``, as Kimai 2.66 serves none: the importer cannot know of
    bulk routes there and sends one POST per timesheet."""
    app = create_app(settings_for(database_url), database)

    async def without_document(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/doc.json":
            await JSONResponse({"code": 404, "message": "Not Found"}, 404)(scope, receive, send)
        else:
            await app(scope, receive, send)

    with serving(without_document) as url:
        yield url


def url_of(request: pytest.FixtureRequest, bulk: bool) -> str | None:
    """None (the importer's server, with bulk routes) or the plain server's URL."""
    return None if bulk else str(request.getfixturevalue("plain_server"))


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def summary(self) -> list[str]:
        """stdout, with the run time left out of the last line."""
        return [re.sub(r" in \d+\.\d s\)$", ")", line) for line in self.stdout.splitlines()]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHCLOCK_")}
    env.update(COLUMNS="80", PYTHONUNBUFFERED="1")
    return env


class Importer:
    """Runs ``punchclock import-csv FILE --url … --token …`` in-process or as a subprocess."""

    def __init__(self, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch):
        self.url = url
        self.tmp_path = tmp_path
        self.capsys = capsys
        self.mp = mp
        for name in ("PUNCHCLOCK_URL", "PUNCHCLOCK_TOKEN"):
            mp.delenv(name, raising=False)

    def file(self, content: str | bytes, name: str = "import.csv") -> Path:
        path = self.tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    def argv(self, file: Path | str, args: tuple[str, ...], url: str | None, as_: str | None) -> list[str]:
        argv = ["import-csv", str(file), *args, "--url", url or self.url]
        return [*argv, "--token", PEOPLE[as_].token] if as_ else argv

    def run(self, file: Path | str, *args: str, url: str | None = None, as_: str | None = "super") -> Result:
        self.mp.setattr(sys, "argv", ["punchclock", *self.argv(file, args, url, as_)])
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        out = self.capsys.readouterr()
        code = exited.value.code
        return Result(code if isinstance(code, int) else 1, out.out, out.err)

    def subprocess(
        self,
        file: Path | str,
        *args: str,
        url: str | None = None,
        as_: str | None = "super",
    ) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "punchclock", *self.argv(file, args, url, as_)],
            capture_output=True,
            text=True,
            env=clean_env(),
            cwd=self.tmp_path,
            timeout=60,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def importer(
    server: str,
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Importer:
    return Importer(server, tmp_path, capsys, monkeypatch)


Tree = tuple[list[str], list[tuple[str, str]], list[tuple[str | None, ...]]]


def tree(api: Api) -> Tree:
    """Every customer, project and activity by name (hidden and ended ones too); duplicates repeat."""
    customers = {c["id"]: c["name"] for c in api.get("/api/customers?visible=3").json()}
    projects = {
        p["id"]: (customers[p["customer"]], p["name"])
        for p in api.get("/api/projects?visible=3&ignoreDates=1").json()
    }
    activities = [
        (*projects[a["project"]], a["name"]) if a["project"] else (None, None, a["name"])
        for a in api.get("/api/activities?visible=3").json()
    ]
    return (
        sorted(customers.values()),
        sorted(projects.values()),
        sorted(activities, key=lambda names: tuple(name or "" for name in names)),
    )


def created(api: Api, path: str, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/api/{path}", json=fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


def summary(customers: str, projects: str, activities: str, rows: str) -> list[str]:
    return [
        f"customers:  {customers}",
        f"projects:   {projects}",
        f"activities: {activities}",
        f"rows:       {rows}",
    ]


# --- the seed's behaviour ------------------------------------------------------------------------


def test_the_seed_sample_without_header(importer: Importer, api: Api) -> None:
    result = importer.run(importer.file(SAMPLE), "--no-header")
    assert (result.code, result.stderr) == (0, "")
    # 3 lookups, then each entity created once: 1 customer, 3 projects, 7 activities.
    assert result.summary == summary(
        "1 created, 0 already present, 0 failed",
        "3 created, 0 already present, 0 failed",
        "7 created, 0 already present, 0 failed",
        "7 read, 7 ok, 0 failed (14 requests)",
    )
    assert tree(api) == SAMPLE_TREE
    project = api.get("/api/projects?visible=3&ignoreDates=1").json()[0]
    assert (project["visible"], project["customer"]) == (True, api.get("/api/customers").json()[0]["id"])


def test_a_second_run_creates_nothing(importer: Importer, api: Api) -> None:
    file = importer.file(HEADER + SAMPLE)
    assert importer.run(file).code == 0
    again = importer.run(file)
    assert (again.code, again.stderr) == (0, "")
    assert again.summary == summary(
        "0 created, 1 already present, 0 failed",
        "0 created, 3 already present, 0 failed",
        "0 created, 7 already present, 0 failed",
        "7 read, 7 ok, 0 failed (3 requests)",
    )
    assert tree(api) == SAMPLE_TREE


def test_hidden_and_ended_entities_are_reused_but_not_global_activities(importer: Importer, api: Api) -> None:
    customer = created(api, "customers", name="ACME")
    project = created(api, "projects", name="Web", customer=customer["id"], end="2020-01-31")
    activity = created(api, "activities", name="Design", project=project["id"])
    for path in (f"activities/{activity['id']}", f"customers/{customer['id']}"):
        assert api.patch(f"/api/{path}", json={"visible": False}).status_code == 200
    created(api, "activities", name="Support")  # global: the file means an activity of a project
    result = importer.run(importer.file(HEADER + "ACME,Web,Design\nOther,Web,Support\n"))
    assert result.summary == summary(
        "1 created, 1 already present, 0 failed",
        "1 created, 1 already present, 0 failed",
        "1 created, 1 already present, 0 failed",
        "2 read, 2 ok, 0 failed (6 requests)",
    )
    assert tree(api)[2] == [(None, None, "Support"), ("ACME", "Web", "Design"), ("Other", "Web", "Support")]


def test_of_two_entities_with_one_name_the_visible_then_the_oldest_is_used(
    importer: Importer, api: Api
) -> None:
    created(api, "customers", name="Twin", visible=False)
    visible = [created(api, "customers", name="Twin")["id"] for _ in range(2)]
    assert importer.run(importer.file(HEADER + "Twin,Web,Design\n")).code == 0
    assert [p["customer"] for p in api.get("/api/projects").json()] == [visible[0]]


def test_customer_fields_are_sent_only_when_given(importer: Importer, api: Api) -> None:
    file = importer.file(HEADER + "Plain,P1,A1\n")
    assert importer.run(file, as_="admin").code == 0
    file = importer.file(HEADER + "Rome,P1,A1\n")
    options = ("--country", "IT", "--currency", "CHF", "--timezone", "Europe/Rome")
    assert importer.run(file, *options).code == 0
    fields = {
        c["name"]: (c["country"], c["currency"], c["timezone"], c["visible"])
        for c in api.get("/api/customers").json()
    }
    # Unset: the server's defaults, and the timezone of the token's user (anna_admin).
    assert fields == {
        "Plain": ("DE", "EUR", "America/New_York", True),
        "Rome": ("IT", "CHF", "Europe/Rome", True),
    }


def test_a_rejected_customer_option_fails_its_rows(importer: Importer, api: Api) -> None:
    result = importer.run(importer.file(HEADER + "ACME,Web,Design\nACME,Web,Build\n"), "--country", "XX")
    assert result.code == 10
    message = "Validation Failed; country: Please select a valid country."
    assert result.errors == [
        f"row 2: customer 'ACME' rejected: {message}",
        f"row 3: customer 'ACME' was rejected (row 2: {message})",
    ]
    assert tree(api) == ([], [], [])


# --- names ----------------------------------------------------------------------------------------


def test_name_matching_trims_cuts_at_150_and_is_exact_otherwise(importer: Importer, api: Api) -> None:
    long_name = "L" * 150
    created(api, "customers", name="DEMO")
    created(api, "customers", name=long_name)
    rows = [
        '"  DEMO  ",Web,Design',  # trimmed: DEMO
        f"{long_name}XXXXXXXXXX,Web,Design",  # cut at 150: the existing one
        "demo,Web,Design",  # case counts: a new customer
        "A,Web,Design",
        ",Web,Design",
        "DEMO,,Design",
        "DEMO,Web,B",
    ]
    result = importer.run(importer.file(HEADER + "\n".join(rows) + "\n"))
    assert result.code == 10
    assert result.errors == [
        "row 5: Customer 'A' is shorter than 2 characters",
        "row 6: Customer is empty",
        "row 7: Project is empty",
        "row 8: Activity 'B' is shorter than 2 characters",
    ]
    assert result.summary == summary(
        "1 created, 2 already present, 0 failed",
        "3 created, 0 already present, 0 failed",
        "3 created, 0 already present, 0 failed",
        "7 read, 3 ok, 4 failed (10 requests)",
    )
    assert tree(api)[1] == [("DEMO", "Web"), (long_name, "Web"), ("demo", "Web")]


def test_a_file_of_bad_rows_makes_no_request(importer: Importer) -> None:
    result = importer.run(importer.file(HEADER + "A,Web,Design\n"))
    assert result.code == 10
    assert result.summary[-1] == "rows:       1 read, 0 ok, 1 failed (0 requests)"


# --- reading --------------------------------------------------------------------------------------

READING = {
    "BOM, semicolons, CRLF, header case": (
        "\ufeffcustomer;PROJECT;Activity\r\nZürich AG;Web;Design\r\n".encode(),
        (),
        [("Zürich AG", "Web", "Design")],
    ),
    "tabs, reordered and extra columns": (
        "Activity\tNote\tCustomer\tProject\nDesign\tx, y; z\tACME\tWeb\n",
        (),
        [("ACME", "Web", "Design")],
    ),
    "quotes with delimiters, quotes and line breaks": (
        HEADER + '"ACME, Inc.","Web ""2.0""","Design\nand build"\n',
        (),
        [("ACME, Inc.", 'Web "2.0"', "Design\nand build")],
    ),
    "blank lines and padding": (
        "\n\n Customer , Project ,Activity\n\n  ACME  ,\t Web ,Design  \n,,\n\n",
        (),
        [("ACME", "Web", "Design")],
    ),
    "non-Latin names": (
        HEADER + "東京商事,Проект,تصميم\n",
        (),
        [("東京商事", "Проект", "تصميم")],
    ),
    "a comma in the first name of a semicolon file": (
        "ACME, Inc.;Web;Design\n",
        ("--no-header",),
        [("ACME, Inc.", "Web", "Design")],
    ),
    "the delimiter given": (
        "Customer|Project|Activity\nACME|Web|Design\n",
        ("--delimiter", "|"),
        [("ACME", "Web", "Design")],
    ),
    "tab given as \\t": (
        "ACME\tWeb\tDesign\n",
        ("--no-header", "--delimiter", "\\t"),
        [("ACME", "Web", "Design")],
    ),
}


@pytest.mark.parametrize(("content", "args", "activities"), READING.values(), ids=READING.keys())
def test_reading(
    importer: Importer,
    api: Api,
    content: str | bytes,
    args: tuple[str, ...],
    activities: list[tuple[str, ...]],
) -> None:
    result = importer.run(importer.file(content), *args)
    assert (result.code, result.stderr) == (0, "")
    assert tree(api)[2] == activities


def test_row_numbers_are_file_lines(importer: Importer) -> None:
    content = HEADER + '\nACME,Web,"two\nlines"\n\nACME,,Design\n'
    result = importer.run(importer.file(content))
    assert result.errors == ["row 6: Project is empty"]


# --- dry run, partial failure, permissions -----------------------------------------------------------


def test_dry_run_shows_what_would_be_created_and_writes_nothing(importer: Importer, api: Api) -> None:
    demo = created(api, "customers", name="DEMO")
    created(api, "projects", name="FOO", customer=demo["id"])
    before = tree(api)
    result = importer.run(importer.file(SAMPLE), "--no-header", "--dry-run")
    assert (result.code, result.stderr) == (0, "")
    assert result.summary == [
        "would create activity 'DEMO' / 'FOO' / 'A long activity title'",
        "would create activity 'DEMO' / 'FOO' / 'Demand management'",
        "would create project 'DEMO' / 'BAR'",
        "would create activity 'DEMO' / 'BAR' / 'Software as a service'",
        "would create activity 'DEMO' / 'BAR' / 'Video conference'",
        "would create activity 'DEMO' / 'BAR' / 'Sales talk'",
        "would create project 'DEMO' / 'Hello world'",
        "would create activity 'DEMO' / 'Hello world' / 'I see you'",
        "would create activity 'DEMO' / 'Hello world' / 'Testing the API'",
        "dry run: nothing was written",
        *summary(
            "0 to create, 1 already present, 0 failed",
            "2 to create, 1 already present, 0 failed",
            "7 to create, 0 already present, 0 failed",
            "7 read, 7 ok, 0 failed (3 requests)",
        ),
    ]
    assert tree(api) == before


def test_rows_the_server_rejects_are_reported_and_the_rest_imported(importer: Importer, api: Api) -> None:
    # Kimai offers only visible customers for a new project; text with a NUL character is refused.
    created(api, "customers", name="Hidden", visible=False)
    rows = [
        "Good,Web,Design",
        "Hidden,Web,Design",
        "Bad\x00Name,Web,Design",
        "Hidden,Web,Build",
        "Good,Web,Build",
    ]
    result = importer.run(importer.file(HEADER + "\n".join(rows) + "\n"))
    assert result.code == 10
    choice = "Validation Failed; customer: The selected choice is invalid."
    assert result.errors == [
        f"row 3: project 'Hidden' / 'Web' rejected: {choice}",
        "row 4: customer 'Bad\\x00Name' rejected: Bad Request",
        f"row 5: project 'Hidden' / 'Web' was rejected (row 3: {choice})",
    ]
    assert result.summary == summary(
        "1 created, 1 already present, 1 failed",
        "1 created, 0 already present, 1 failed",
        "2 created, 0 already present, 0 failed",
        "5 read, 2 ok, 3 failed (9 requests)",
    )
    assert tree(api) == (
        ["Good", "Hidden"],
        [("Good", "Web")],
        [("Good", "Web", "Build"), ("Good", "Web", "Design")],
    )


def test_a_user_token_may_not_create_customers(importer: Importer, api: Api) -> None:
    result = importer.run(importer.file(SAMPLE), "--no-header", as_="user")
    assert result.code == 9
    assert result.errors == [
        "error: permission denied: the token's user may not create customers "
        f"(POST {importer.url}/api/customers answered 403, needed for customer 'DEMO')"
    ]
    assert result.stdout == ""  # stopped at the first row: nothing to sum up
    assert tree(api) == ([], [], [])


def test_a_teamlead_may_add_activities_but_not_projects(importer: Importer, api: Api) -> None:
    demo = created(api, "customers", name="DEMO")
    created(api, "projects", name="FOO", customer=demo["id"])
    result = importer.run(importer.file(SAMPLE), "--no-header", as_="teamlead")
    assert result.code == 9
    assert result.errors[-1].startswith("error: permission denied: the token's user may not create projects")
    # What was done before the refusal is summed up.
    assert result.summary == summary(
        "0 created, 1 already present, 0 failed",
        "0 created, 1 already present, 0 failed",
        "2 created, 0 already present, 0 failed",
        "7 read, 2 ok, 0 failed (6 requests)",
    )
    assert tree(api)[2] == [("DEMO", "FOO", "A long activity title"), ("DEMO", "FOO", "Demand management")]


# --- timesheets ----------------------------------------------------------------------------------------

TIMESHEETS = """Date,From,To,Duration,Customer,Project,Activity,Description,Tags
2024-05-01,09:00,12:30,,ACME,Web,Design,"Kick-off, notes
and more",urgent
2024-05-01,22:00,02:00,,ACME,Web,Build,night shift,"urgent, night , urgent"
2024-05-02,9:00,,1.5,ACME,App,Design,,
2024-05-02,13:00,,1:15,ACME,App,Design,,
2024-05-02,23:00,24:00,1:00,ACME,App,Design,,
2024-05-02,23:00,24:00,1,ACME,App,Design,,
"""


def timesheets(api: Api, as_: str = "super") -> list[tuple[Any, ...]]:
    """Every timesheet of the caller, oldest first, with names instead of ids."""
    names = {a["id"]: a["name"] for a in api.get("/api/activities?visible=3").json()}
    projects = {p["id"]: p["name"] for p in api.get("/api/projects?visible=3&ignoreDates=1").json()}
    rows = api.get("/api/timesheets?orderBy=begin&order=ASC&size=500", as_=as_).json()
    return [
        (
            t["begin"],
            t["end"],
            projects[t["project"]],
            names[t["activity"]],
            t["description"],
            t["tags"],
            t["user"],
        )
        for t in rows
    ]


def ts_summary(tags: str, timesheets: str, rows: str, *master: str) -> list[str]:
    lines = summary(*master, rows)
    return [*lines[:3], f"tags:       {tags}", f"timesheets: {timesheets}", lines[3]]


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "plain"])
def test_timesheets_with_their_master_data_and_tags(
    importer: Importer, api: Api, request: pytest.FixtureRequest, bulk: bool
) -> None:
    url = url_of(request, bulk)
    created(api, "tags", name="urgent", visible=True)
    result = importer.run(importer.file(TIMESHEETS), "--timesheets", url=url)
    assert (result.code, result.stderr) == (0, "")
    # Lookups: customers, projects, activities, tags, timesheets, doc.json; then 6 entities, 1 tag,
    # and the 5 timesheets in one bulk request (or 5 POSTs).
    assert result.summary == ts_summary(
        "1 created, 1 already present, 0 failed",
        "5 created, 1 already present, 0 failed",  # the last row repeats the one before it
        f"6 read, 6 ok, 0 failed ({14 if bulk else 18} requests)",
        "1 created, 0 already present, 0 failed",
        "2 created, 0 already present, 0 failed",
        "3 created, 0 already present, 0 failed",
    )
    susan = PEOPLE["super"].id
    assert timesheets(api) == [
        (
            "2024-05-01T09:00:00+0200",
            "2024-05-01T12:30:00+0200",
            "Web",
            "Design",
            "Kick-off, notes\nand more",
            ["urgent"],
            susan,
        ),
        (
            "2024-05-01T22:00:00+0200",
            "2024-05-02T02:00:00+0200",
            "Web",
            "Build",
            "night shift",
            ["urgent", "night"],  # tags in the order they were created
            susan,
        ),
        ("2024-05-02T09:00:00+0200", "2024-05-02T10:30:00+0200", "App", "Design", None, [], susan),
        ("2024-05-02T13:00:00+0200", "2024-05-02T14:15:00+0200", "App", "Design", None, [], susan),
        ("2024-05-02T23:00:00+0200", "2024-05-03T00:00:00+0200", "App", "Design", None, [], susan),
    ]
    assert api.get("/api/tags").json() == ["night", "urgent"]

    again = importer.run(importer.file(TIMESHEETS), "--timesheets", url=url)
    assert (again.code, again.stderr) == (0, "")
    assert again.summary == ts_summary(
        "0 created, 2 already present, 0 failed",
        "0 created, 6 already present, 0 failed",
        "6 read, 6 ok, 0 failed (6 requests)",
        "0 created, 1 already present, 0 failed",
        "0 created, 2 already present, 0 failed",
        "0 created, 3 already present, 0 failed",
    )
    assert len(timesheets(api)) == 5


def test_timesheet_rows_checked_before_sending(importer: Importer) -> None:
    rows = [
        "01.05.2024,09:00,10:00,",
        "2024-02-30,09:00,10:00,",
        "2024-05-01,9am,10:00,",
        "2024-05-01,,10:00,",
        "2024-05-01,09:00,24:30,",
        "2024-05-01,09:00,,",
        "2024-05-01,09:00,10:00,2:00",
        "2024-05-01,09:00,,x",
    ]
    content = "Date,From,To,Duration,Customer,Project,Activity,Tags\n"
    content += "".join(f"{row},ACME,Web,Design,\n" for row in rows)
    content += '2024-05-01,09:00,10:00,,ACME,Web,Design,"ok, x"\n2024-05-01,09:00,10:00,,ACME,,Design,\n'
    result = importer.run(importer.file(content), "--timesheets")
    assert result.code == 10
    assert result.errors == [
        "row 2: Date '01.05.2024' is not a date (YYYY-MM-DD)",
        "row 3: Date '2024-02-30' is not a date (YYYY-MM-DD)",
        "row 4: From '9am' is not a time (HH:MM, 24-hour)",
        "row 5: From is empty",
        "row 6: To '24:30' is not a time (HH:MM, 24-hour)",
        "row 7: To and Duration are both empty",
        "row 8: To 10:00 and Duration 2:00 disagree",
        "row 9: Duration 'x' is not a duration (H:MM or decimal hours)",
        "row 10: tag 'x' must have 2 to 100 characters",
        "row 11: Project is empty",
    ]
    assert result.summary[-1] == "rows:       10 read, 0 ok, 10 failed (0 requests)"


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "plain"])
def test_a_user_imports_own_timesheets_in_their_timezone(
    importer: Importer, api: Api, request: pytest.FixtureRequest, bulk: bool
) -> None:
    url = url_of(request, bulk)
    acme = created(api, "customers", name="ACME")
    web = created(api, "projects", name="Web", customer=acme["id"])
    app = created(api, "projects", name="App", customer=acme["id"])
    created(api, "activities", name="Design", project=web["id"])
    hidden = created(api, "activities", name="Hidden", project=app["id"])
    assert api.patch(f"/api/activities/{hidden['id']}", json={"visible": False}).status_code == 200
    created(api, "activities", name="Meeting")  # global: used for rows of projects that allow globals
    content = """Date;From;To;Customer;Project;Activity;Tags
2024-06-01;08:00;09:00;ACME;Web;Meeting;mine
2024-06-01;10:00;11:00;ACME;App;Hidden;
2024-06-01;12:00;13:00;ACME;Web;Design;
"""
    result = importer.run(importer.file(content), "--timesheets", as_="user", url=url)
    assert result.code == 10
    # Kimai offers only visible activities for a timesheet: the same message for a bulk item.
    assert result.errors == [
        "row 3: timesheet rejected: Validation Failed; activity: The selected choice is invalid."
    ]
    assert result.summary == ts_summary(
        "1 created, 0 already present, 0 failed",
        "2 created, 0 already present, 1 failed",
        f"3 read, 2 ok, 1 failed ({8 if bulk else 10} requests)",  # the timesheets in one bulk request
        "0 created, 1 already present, 0 failed",
        "0 created, 2 already present, 0 failed",
        "0 created, 3 already present, 0 failed",
    )
    john = PEOPLE["user"].id
    assert timesheets(api, as_="user") == [  # Pacific/Tongatapu
        ("2024-06-01T08:00:00+1300", "2024-06-01T09:00:00+1300", "Web", "Meeting", None, ["mine"], john),
        ("2024-06-01T12:00:00+1300", "2024-06-01T13:00:00+1300", "Web", "Design", None, [], john),
    ]
    assert importer.run(importer.file(content), "--timesheets", as_="user", url=url).summary[4] == (
        "timesheets: 0 created, 2 already present, 1 failed"
    )


USERS_FILE = """Date,From,To,User,Customer,Project,Activity
2024-07-01,09:00,10:00,john_user,ACME,Web,Design
2024-07-01,09:00,10:00,ANNA_ADMIN@example.com,ACME,Web,Design
2024-07-01,09:00,10:00,,ACME,Web,Design
2024-07-01,09:00,10:00,nobody,ACME,Web,Design
"""


def test_a_user_column_assigns_timesheets_to_users(importer: Importer, api: Api) -> None:
    result = importer.run(importer.file(USERS_FILE), "--timesheets")
    assert result.code == 10
    assert result.errors == ["row 5: unknown user 'nobody'"]
    # Times are read in the token user's timezone (Europe/Berlin): 09:00 is 07:00 UTC for everyone.
    rows = api.get("/api/timesheets?user=all&orderBy=id&order=ASC").json()
    utc = [
        (t["user"], dt.datetime.strptime(t["begin"], "%Y-%m-%dT%H:%M:%S%z").astimezone(dt.UTC).isoformat())
        for t in rows
    ]
    assert utc == [
        (PEOPLE["user"].id, "2024-07-01T07:00:00+00:00"),
        (PEOPLE["admin"].id, "2024-07-01T07:00:00+00:00"),
        (PEOPLE["super"].id, "2024-07-01T07:00:00+00:00"),
    ]
    again = importer.run(importer.file(USERS_FILE), "--timesheets")
    assert again.summary[4] == "timesheets: 0 created, 3 already present, 0 failed"


@pytest.mark.parametrize("who", ["admin", "teamlead", "user"])
def test_a_user_column_needs_a_token_that_may_list_users(importer: Importer, api: Api, who: str) -> None:
    result = importer.run(importer.file(USERS_FILE), "--timesheets", as_=who)
    assert result.code == 9
    assert result.errors == [
        "error: the User column needs a token that may list users (GET "
        f"{importer.url}/api/users answered 403; in Kimai's default permissions only ROLE_SUPER_ADMIN may)"
    ]
    assert tree(api) == ([], [], [])


def external_ids(db: Database) -> dict[str, int]:
    """The server's externalId mappings of timesheets: key -> timesheet id."""
    with db.session() as session:
        rows = session.execute(
            select(ExternalId.external_id, ExternalId.entity_id).where(ExternalId.entity == "timesheet")
        )
        return {key: entity_id for key, entity_id in rows}


def test_bulk_items_carry_a_key_made_from_what_identifies_them(
    importer: Importer, api: Api, db: Database
) -> None:
    assert importer.run(importer.file(TIMESHEETS), "--timesheets").code == 0
    keys = external_ids(db)
    ids = {t["id"] for t in api.get("/api/timesheets?size=500").json()}
    assert set(keys.values()) == ids
    assert len(keys) == 5
    assert all(re.fullmatch(r"import-csv:[0-9a-f]{64}", key) for key in keys)
    # The keys do not depend on the file: the same rows elsewhere in another file give the same keys.
    lines = TIMESHEETS.splitlines(keepends=True)
    untagged = "".join(reversed(lines[1:])).replace(",urgent\n", ",\n")
    reordered = importer.file(lines[0] + untagged, "other.csv")
    api.delete(f"/api/timesheets/{min(ids)}")
    again = importer.run(reordered, "--timesheets")
    assert again.summary[4] == "timesheets: 1 created, 5 already present, 0 failed"
    assert set(external_ids(db)) == set(keys)


def test_a_record_changed_on_the_server_is_set_back_not_imported_twice(importer: Importer, api: Api) -> None:
    """Its times no longer match the row, but the row's key still names it."""
    assert importer.run(importer.file(TIMESHEETS), "--timesheets").code == 0
    before = timesheets(api)
    first = api.get("/api/timesheets?orderBy=begin&order=ASC&size=1").json()[0]["id"]
    moved = {"begin": "2024-05-01T07:00:00", "end": "2024-05-01T08:00:00"}
    assert api.patch(f"/api/timesheets/{first}", json=moved).status_code == 200
    again = importer.run(importer.file(TIMESHEETS), "--timesheets")
    assert (again.code, again.stderr) == (0, "")
    assert again.summary[4:] == [
        "timesheets: 0 created, 6 already present, 0 failed",
        "rows:       6 read, 6 ok, 0 failed (7 requests)",  # 6 lookups, one bulk request
    ]
    assert timesheets(api) == before


def test_bulk_batches_stay_below_the_body_limit(importer: Importer, api: Api) -> None:
    """400 rows of 3,000 characters each: 1.2 MB, more than a server takes in one body (1 MiB)."""
    note = "n" * 3000
    clock = [f"{m // 60:02d}:{m % 60:02d}" for m in range(401)]
    content = "Date,From,To,Customer,Project,Activity,Description\n" + "".join(
        f"2024-05-01,{clock[m]},{clock[m + 1]},ACME,Web,Design,{note}\n" for m in range(400)
    )
    result = importer.run(importer.file(content), "--timesheets")
    assert (result.code, result.stderr) == (0, "")
    # 6 lookups, 3 entities, 2 bulk requests.
    assert result.summary[4:] == [
        "timesheets: 400 created, 0 already present, 0 failed",
        "rows:       400 read, 400 ok, 0 failed (11 requests)",
    ]


def test_timesheets_dry_run(importer: Importer, api: Api) -> None:
    result = importer.run(importer.file(TIMESHEETS), "--timesheets", "--dry-run")
    assert (result.code, result.stderr) == (0, "")
    assert result.summary == [
        "would create customer 'ACME'",
        "would create project 'ACME' / 'Web'",
        "would create activity 'ACME' / 'Web' / 'Design'",
        "would create tag 'urgent'",
        "would create activity 'ACME' / 'Web' / 'Build'",
        "would create tag 'night'",
        "would create project 'ACME' / 'App'",
        "would create activity 'ACME' / 'App' / 'Design'",
        "dry run: nothing was written",
        *ts_summary(
            "2 to create, 0 already present, 0 failed",
            "5 to create, 1 already present, 0 failed",
            "6 read, 6 ok, 0 failed (5 requests)",
            "1 to create, 0 already present, 0 failed",
            "2 to create, 0 already present, 0 failed",
            "3 to create, 0 already present, 0 failed",
        ),
    ]
    assert tree(api) == ([], [], [])
    assert api.get("/api/tags").json() == []
    assert timesheets(api) == []


def test_long_files_show_a_progress_bar_on_a_terminal(server: str, db: Database, tmp_path: Path) -> None:
    file = tmp_path / "long.csv"
    file.write_text(HEADER + "ACME,Web,Design\n" * 60, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run_import(
        file,
        url=server,
        token=PEOPLE["super"].token,
        options=Options(),
        out=Console(file=out, soft_wrap=True),
        err=Console(file=err, force_terminal=True, width=80),
    )
    assert code == 0
    assert "importing" in err.getvalue()
    assert "60/60" in err.getvalue()
    assert out.getvalue().splitlines()[3].startswith("rows:       60 read, 60 ok, 0 failed (6 requests")


# --- the real command line: exit codes and environment -----------------------------------------------


def test_the_url_and_token_come_from_the_environment(importer: Importer, api: Api) -> None:
    file = importer.file(SAMPLE)
    env = {"PUNCHCLOCK_URL": importer.url + "/api/", "PUNCHCLOCK_TOKEN": PEOPLE["super"].token}
    done = subprocess.run(
        [sys.executable, "-m", "punchclock", "import-csv", str(file), "--no-header"],
        capture_output=True,
        text=True,
        env={**clean_env(), **env},
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert tree(api) == SAMPLE_TREE


@pytest.mark.parametrize(
    ("case", "expected", "message"),
    [
        ("bad token", 8, "error: GET {url}/api/customers: the API token was not accepted (401)"),
        ("user token", 9, "error: permission denied: the token's user may not create customers"),
        ("rejected rows", 10, "row 2: Customer 'X' is shorter than 2 characters"),
        (
            "not an API",
            7,
            "error: GET {url}/api/ping/api/customers: Not Found; is this the address of a Kimai API?",
        ),
    ],
)
def test_exit_codes_from_the_server(importer: Importer, case: str, expected: int, message: str) -> None:
    file = importer.file(HEADER + ("X,Web,Design\n" if case == "rejected rows" else SAMPLE))
    url = importer.url + "/api/ping" if case == "not an API" else None
    if case == "bad token":
        result = importer.subprocess(file, "--token", "not-a-token", as_=None)
    else:
        result = importer.subprocess(file, url=url, as_="user" if case == "user token" else "super")
    assert result.code == expected, result.stderr
    assert result.errors[0].startswith(message.format(url=importer.url)), result.stderr
    assert "Traceback" not in result.stderr


EARLY_EXITS = {
    "file missing": ("missing.csv", (), 1, "error: file not found: missing.csv"),
    "a directory": (".", (), 2, "error: cannot read .: Is a directory"),
    "not UTF-8": (
        b"Customer,Project,Activity\nZ\xfcrich,Web,Design\n",
        (),
        2,
        "error: cannot read import.csv: not UTF-8 text (line 2, byte 27)",
    ),
    "empty delimiter": (HEADER, ("--delimiter", ""), 3, "error: the delimiter must not be empty"),
    "no Customer column": (
        "Client,Project,Activity\n",
        (),
        4,
        "error: column 'Customer' is missing"
        " (the first line is the header; --no-header reads a file without one)",
    ),
    "no Project column": ("Customer,Activity\n", (), 5, "error: column 'Project' is missing"),
    "no Activity column": ("Customer;Project\n", (), 6, "error: column 'Activity' is missing"),
    "the seed's rows without --no-header": (SAMPLE, (), 4, "error: column 'Customer' is missing"),
    "two columns without header": ("ACME,Web\n", ("--no-header",), 6, "error: column 'Activity' is missing"),
    "an empty file": ("", (), 4, "error: column 'Customer' is missing"),
    "no Date column": (
        "Customer,Project,Activity,From,To\n",
        ("--timesheets",),
        11,
        "error: column 'Date' is missing",
    ),
    "no To or Duration column": (
        "Customer,Project,Activity,Date,From\n",
        ("--timesheets",),
        11,
        "error: column 'To' or 'Duration' is missing",
    ),
    "server unreachable": (SAMPLE, ("--no-header",), 7, "error: GET {url}/api/customers: cannot connect: "),
    "delimiter of two characters": (
        HEADER,
        ("--delimiter", ";;"),
        64,
        "Invalid value for '--delimiter': the delimiter must be one character",
    ),
    "not an http URL": (
        HEADER,
        ("--url", "ftp://example.com"),
        64,
        "Invalid value for '--url': not an http(s) URL: 'ftp://example.com'",
    ),
    "--no-header with --timesheets": (
        HEADER,
        ("--no-header", "--timesheets"),
        64,
        "Invalid value for '--no-header': timesheets need a header line",
    ),
    "a token that cannot be sent": (
        HEADER,
        ("--token", "tök en"),
        64,
        "Invalid value for '--token': the token must be printable ASCII without spaces",
    ),
    "unknown option": (HEADER, ("--bogus",), 64, "No such option: --bogus"),
}


@pytest.mark.parametrize(
    ("content", "args", "expected", "message"), EARLY_EXITS.values(), ids=EARLY_EXITS.keys()
)
def test_exit_codes_before_the_server_answers(
    tmp_path: Path, content: str | bytes, args: tuple[str, ...], expected: int, message: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    if isinstance(content, bytes) or content not in ("missing.csv", "."):
        path = tmp_path / "import.csv"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        file = "import.csv"
    else:
        file = content
    argv = ["import-csv", file, "--url", url, "--token", "t", *args]
    done = subprocess.run(
        [sys.executable, "-m", "punchclock", *argv],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == expected, done.stderr
    assert message.format(url=url) in done.stderr
    assert "Traceback" not in done.stderr
    if expected == 64:
        assert done.stderr.startswith("Usage: ")


def test_missing_url_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "punchclock", "import-csv", "x.csv", "--token", "t"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 64
    assert "Missing option '--url'" in done.stderr


# --- the client -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("https://kimai.example.com", "https://kimai.example.com/api/"),
        ("https://kimai.example.com/", "https://kimai.example.com/api/"),
        ("https://kimai.example.com/api", "https://kimai.example.com/api/"),
        ("https://kimai.example.com/api/", "https://kimai.example.com/api/"),
        (" http://host:8001/kimai/ ", "http://host:8001/kimai/api/"),
        ("http://host:8001/kimai/api//", "http://host:8001/kimai/api/"),
    ],
)
def test_api_base(given: str, base: str) -> None:
    assert api_base(given) == base


@pytest.mark.parametrize("given", ["kimai.example.com", "ftp://host/", "https://", "https://host/?x=1"])
def test_api_base_refuses(given: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        api_base(given)


def test_times_beyond_the_calendar_fail_their_rows(importer: Importer) -> None:
    rows = [
        "2024-05-01,09:00,,99999999999",
        "2024-05-01,09:00,,100000000",
        "9999-12-31,23:00,01:00,",
        "9999-12-31,23:00,24:00,",
    ]
    content = "Date,From,To,Duration,Customer,Project,Activity\n"
    content += "".join(f"{row},ACME,Web,Design\n" for row in rows)
    result = importer.run(importer.file(content), "--timesheets")
    assert result.code == 10
    assert result.errors == [
        "row 2: Duration '99999999999' is too long",
        "row 3: the end is after 9999-12-31",
        "row 4: the end is after 9999-12-31",
        "row 5: the end is after 9999-12-31",
    ]


def test_a_url_with_credentials_is_refused_without_echoing_them() -> None:
    # They would replace the Bearer token (httpx sends them as Basic auth) and show up in every message.
    with pytest.raises(ValueError, match="URL") as refused:
        api_base("https://bob:s3cret@kimai.example.com/")
    assert "s3cret" not in str(refused.value)
