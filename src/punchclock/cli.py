"""The ``punchclock`` command line.

Exit codes: 0 success; 1 the operation failed (bad input such as a duplicate or unknown user, a bad
date, a database error); 64 wrong usage (unknown option, missing argument). ``import-csv`` has its own
codes 1-11 (see its help).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from punchclock import __version__

EXIT_FAILED = 1
EXIT_USAGE = 64

app = typer.Typer(
    help="Punchclock: a time-tracking server that speaks the Kimai 2 JSON API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
meta_app = typer.Typer(
    help="Declare custom (meta) fields for customers, projects, activities, timesheets.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(meta_app, name="meta-field")
team_app = typer.Typer(help="Manage teams.", no_args_is_help=True)
app.add_typer(team_app, name="team")

# soft_wrap: an error stays one line whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="PUNCHCLOCK_DATABASE_URL",
        help="SQLAlchemy URL (default sqlite:///punchclock.db)",
        show_default=False,
    ),
]


class Failed(Exception):
    """A failure to report as one line on stderr with exit code 1."""


def _settings(database_url: str | None):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from punchclock.config import Settings

    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"PUNCHCLOCK_{'_'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise Failed(f"invalid settings: {problems}") from None


def _database(database_url: str | None):  # type: ignore[no-untyped-def]
    """Migrate (cheap when current) and open the database."""
    from punchclock.db import Database
    from punchclock.migrate import upgrade

    settings = _settings(database_url)
    try:
        upgrade(settings.database_url)
    except Exception as exc:
        # The driver's own message, without SQLAlchemy's wrapper and link.
        cause = getattr(exc, "orig", None) or exc
        raise Failed(
            f"cannot open or migrate the database {_safe_url(settings.database_url)}: {cause}"
        ) from None
    return settings, Database(settings.database_url)


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


@app.command()
def version() -> None:
    """Print Punchclock's version and the Kimai API version it speaks."""
    from punchclock.kimai.version import KIMAI_VERSION

    typer.echo(f"punchclock {__version__} (Kimai API {KIMAI_VERSION})")


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8001,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Migrate the database, then serve the API. On an empty database, first create an admin and
    print a one-time API token."""
    import uvicorn

    settings, db = _database(database_url)
    from punchclock.bootstrap import create_first_admin

    with db.session(write=True) as session:
        first = create_first_admin(session, timezone=settings.default_timezone)
    db.dispose()
    if first is not None:
        username, password, token = first
        base = f"http://{host}:{port}"
        typer.echo(
            f"Created the first user '{username}' (ROLE_SUPER_ADMIN) in an empty database.\n"
            f"  password:  {password}\n"
            f"  API token: {token}\n"
            "Both are shown only now; only their hashes are stored. Try:\n"
            f'  curl -H "Authorization: Bearer {token}" {base}/api/ping\n'
            f"API documentation: {base}/api/doc"
        )
    os.environ["PUNCHCLOCK_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "punchclock.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


# The server and token of the tools that talk to a Kimai-compatible API (import-csv, sync).
ServerUrl = Annotated[
    str,
    typer.Option(
        envvar="PUNCHCLOCK_URL",
        help="The server, with or without the trailing /api/ (e.g. https://kimai.example.com)",
        show_default=False,
    ),
]
ServerToken = Annotated[str, typer.Option(envvar="PUNCHCLOCK_TOKEN", help="An API token", show_default=False)]


@app.command("import-csv")
def import_csv(
    file: Annotated[Path, typer.Argument(help="The CSV file (UTF-8)", metavar="FILE", show_default=False)],
    url: ServerUrl,
    token: ServerToken,
    delimiter: Annotated[
        str | None,
        typer.Option(help="Field delimiter: one character, \\t for tab (default: detected , ; or tab)"),
    ] = None,
    header: Annotated[
        bool,
        typer.Option(
            "--header/--no-header", help="--no-header: the columns are Customer, Project, Activity, in order"
        ),
    ] = True,
    timesheets: Annotated[
        bool, typer.Option("--timesheets", help="Import timesheets (Date, From, To/Duration, …)")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be created; write nothing")
    ] = False,
    country: Annotated[
        str | None, typer.Option(help="Country of new customers (ISO code; default: the server's)")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="Currency of new customers (ISO code; default: the server's)")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Timezone of new customers (default: the server's)")
    ] = None,
) -> None:
    """Import customers, projects and activities (or timesheets) from a CSV file through the API of a
    Kimai-compatible server. Existing entities are reused, so running a file twice creates nothing new.
    Exit codes: 1 file missing, 2 unreadable, 3 empty delimiter, 4/5/6 Customer/Project/Activity column
    missing, 7 server unreachable, 8 authentication failed, 9 permission denied, 10 rows rejected,
    11 Date/From/To column missing."""
    from punchclock.tools.client import api_base, check_token
    from punchclock.tools.importer import Options, run_import
    from punchclock.tools.table import parse_delimiter

    checks = [("--url", api_base, url), ("--token", check_token, token)]
    if delimiter:  # empty is exit code 3, reported after the file checks
        checks.append(("--delimiter", parse_delimiter, delimiter))
    for option, check, value in checks:
        try:
            check(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from None
    if timesheets and not header:
        raise typer.BadParameter("timesheets need a header line", param_hint="'--no-header'")
    given = {"country": country, "currency": currency, "timezone": timezone}
    options = Options(
        delimiter=delimiter,
        header=header,
        timesheets=timesheets,
        dry_run=dry_run,
        customer_fields={key: value for key, value in given.items() if value is not None},
    )
    code = run_import(file, url=url, token=token, options=options, out=Console(soft_wrap=True), err=err)
    raise typer.Exit(code)


@app.command("sync")
def sync(
    url: ServerUrl,
    token: ServerToken,
    to: Annotated[
        str,
        typer.Option(
            envvar="PUNCHCLOCK_SYNC_TO",
            help="The database to write: sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB",
        ),
    ] = "sqlite:///punchclock-bi.db",
    full: Annotated[
        bool, typer.Option("--full", help="Read everything again, rewrite every row, delete what is gone")
    ] = False,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile", help="Kimai without change feed: find deleted timesheets (reads every page)"
        ),
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated kinds: customers, projects, activities, users, teams, tags, timesheets"
        ),
    ] = None,
    feed: Annotated[
        bool,
        typer.Option(
            "--feed/--no-feed",
            help="--no-feed: use only Kimai's API (pages, reconciliation) even where a change feed exists",
        ),
    ] = True,
) -> None:
    """Copy a Kimai-compatible server's customers, projects, activities, users, teams, tags and
    timesheets (hidden and ended ones included) into a local database for reporting; later runs copy
    only what changed, deletions included. Exit codes: 7 server unreachable, 8 authentication failed,
    9 permission denied, 10 request refused, 11 target database unusable, 12 target busy with another
    sync, 130 interrupted."""
    from punchclock.tools.client import api_base, check_token
    from punchclock.tools.sync.records import KINDS
    from punchclock.tools.sync.run import Request, parse_kinds, run_sync
    from punchclock.tools.sync.target import normalise_url

    def valid(option: str, check: Any, value: str) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from None

    valid("--url", api_base, url)
    valid("--token", check_token, token)
    valid("--to", normalise_url, to)
    kinds = KINDS if only is None else valid("--only", parse_kinds, only)
    request = Request(url=url, token=token, to=to, full=full, reconcile=reconcile, kinds=kinds, feed=feed)
    code = run_sync(request, out=Console(soft_wrap=True), err=err)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database schema to the newest version."""
    settings, db = _database(database_url)
    db.dispose()
    typer.echo(f"database {_safe_url(settings.database_url)} is up to date")


@user_app.command("create")
def user_create(
    username: str,
    email: str,
    database_url: DatabaseUrl = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role", help="ROLE_TEAMLEAD, ROLE_ADMIN or ROLE_SUPER_ADMIN (repeatable; none = user)"
        ),
    ] = None,
    password: Annotated[str | None, typer.Option(help="Login password (8+ characters)")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
    api_password: Annotated[
        str | None, typer.Option(help="Legacy X-AUTH-TOKEN password (prefer API tokens)")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="Timezone (default from settings)")] = None,
    alias: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Create a user."""
    from punchclock.users.service import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise Failed("give --password or --password-stdin")
    settings, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        user = create_user(
            session,
            username=username,
            email=email,
            password=password,
            roles=role or [],
            api_password=api_password,
            timezone=timezone or settings.default_timezone,
            alias=alias,
        )
        typer.echo(f"created user {user.username} (id {user.id})")


@user_app.command("set-api-password")
def user_set_api_password(username: str, database_url: DatabaseUrl = None) -> None:
    """Set the legacy X-AUTH-TOKEN password of USERNAME, read from stdin."""
    from punchclock.users.service import set_api_password

    secret = sys.stdin.readline().rstrip("\n")
    _, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        set_api_password(session, username=username, api_password=secret)
    typer.echo(f"API password of {username} set")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="A name to recognise the token by (2-50 characters)")],
    database_url: DatabaseUrl = None,
    expires: Annotated[
        str | None, typer.Option(help="Expiry date YYYY-MM-DD (the token stops working then)")
    ] = None,
) -> None:
    """Create an API token for USERNAME. The token is printed alone on the last line, only this once."""
    from punchclock.auth.service import create_token
    from punchclock.kimai.datetimes import parse_date, start_of_day

    _, db = _database(database_url)
    expires_at = None
    with _user_errors(), db.session(write=True) as session:
        if expires is not None:
            day = parse_date(expires)
            if day is None:
                raise Failed(f"not a date (YYYY-MM-DD): {expires}")
            from punchclock.users.service import get_user

            expires_at = start_of_day(day, get_user(session, username=username).timezone)
            if expires_at is None:  # 0001-01-01 east of UTC: before the first storable instant
                raise Failed(f"not a date (YYYY-MM-DD): {expires}")
        api_token, plain = create_token(session, username=username, name=name, expires_at=expires_at)
        note = f", expires {expires}" if expires else ""
        err.print(
            f"token '{api_token.name}' created for {username}{note}; store it now, it is not shown again:"
        )
    typer.echo(plain)


@user_app.command("list")
def user_list(database_url: DatabaseUrl = None) -> None:
    """List every user: id, username, e-mail, roles, enabled or disabled, timezone (tab-separated)."""
    from punchclock.users.service import all_users

    _, db = _database(database_url)
    with db.session() as session:
        for user in all_users(session):
            roles = ",".join(user.roles) or "-"
            state = "enabled" if user.enabled else "disabled"
            typer.echo(f"{user.id}\t{user.username}\t{user.email}\t{roles}\t{state}\t{user.timezone}")


@user_app.command("update")
def user_update(
    username: str,
    database_url: DatabaseUrl = None,
    email: Annotated[str | None, typer.Option(help="E-mail address")] = None,
    alias: Annotated[str | None, typer.Option(help="Display name ('' removes it)")] = None,
    title: Annotated[str | None, typer.Option(help="Title ('' removes it)")] = None,
    account_number: Annotated[str | None, typer.Option(help="Account number ('' removes it)")] = None,
    color: Annotated[
        str | None, typer.Option(help="A colour of GET /api/config/colors ('' removes it)")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="Timezone, e.g. Europe/Vienna")] = None,
    language: Annotated[str | None, typer.Option(help="Language of the interface, e.g. de")] = None,
    locale: Annotated[str | None, typer.Option(help="Format of dates and numbers, e.g. de_AT")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role", help="Replaces the roles: ROLE_TEAMLEAD, ROLE_ADMIN, ROLE_SUPER_ADMIN (repeatable)"
        ),
    ] = None,
    no_roles: Annotated[bool, typer.Option("--no-roles", help="Remove every role (a plain user)")] = False,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Enable or disable the account", show_default=False),
    ] = None,
) -> None:
    """Change a user, with the rules of PATCH /api/users/{id}. Only the options given change."""
    from punchclock.users.forms import update_by_name

    if role and no_roles:
        raise typer.BadParameter("--role and --no-roles exclude each other")
    fields = {
        "email": email,
        "alias": alias,
        "title": title,
        "accountNumber": account_number,
        "color": color,
        "timezone": timezone,
        "language": language,
        "locale": locale,
    }
    data: dict[str, Any] = {key: value for key, value in fields.items() if value is not None}
    if role or no_roles:
        data["roles"] = role or []
    if enabled is not None:
        data["enabled"] = "1" if enabled else None
    if not data:
        raise typer.BadParameter("nothing to change: give at least one option")
    settings, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        update_by_name(session, username=username, data=data, timezone=settings.default_timezone)
    typer.echo(f"user {username} updated")


@user_app.command("disable")
def user_disable(username: str, database_url: DatabaseUrl = None) -> None:
    """Disable a user: their API tokens and passwords stop working at once (the last enabled super
    admin cannot be disabled). Enable again with `user update USERNAME --enable`."""
    from punchclock.users.forms import update_by_name

    settings, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        update_by_name(session, username=username, data={"enabled": None}, timezone=settings.default_timezone)
    typer.echo(f"user {username} disabled; their API tokens no longer work")


@token_app.command("list")
def token_list(username: str, database_url: DatabaseUrl = None) -> None:
    """List a user's API tokens: id, name, created, last used, expires (UTC; tab-separated). The
    secrets themselves are not stored."""
    from punchclock.users.tokens import list_tokens

    def when(instant: dt.datetime | None, empty: str) -> str:
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ") if instant else empty

    _, db = _database(database_url)
    with _user_errors(), db.session() as session:
        for row in list_tokens(session, username=username):
            created, used = when(row.created_at, "-"), when(row.last_usage, "never used")
            typer.echo(f"{row.id}\t{row.name}\t{created}\t{used}\t{when(row.expires_at, 'no expiry')}")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="As `token list` shows it")],
    database_url: DatabaseUrl = None,
) -> None:
    """Delete an API token: it stops working at once."""
    from punchclock.users.tokens import revoke_token

    _, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        token, owner = revoke_token(session, token_id=token_id)
        typer.echo(f"token {token_id} ('{token.name}') of {owner} revoked")


@team_app.command("create")
def team_create(
    name: str,
    lead: Annotated[
        list[str], typer.Option("--lead", help="A team lead's username (repeatable; one at least)")
    ],
    database_url: DatabaseUrl = None,
    member: Annotated[
        list[str] | None, typer.Option("--member", help="A member's username (repeatable)")
    ] = None,
    color: Annotated[str | None, typer.Option(help="A colour of GET /api/config/colors")] = None,
) -> None:
    """Create a team with the rules of POST /api/teams."""
    from punchclock.auth.permissions import system_caller
    from punchclock.teams.service import create_team
    from punchclock.users.service import get_user

    settings, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        people = [(username, "1") for username in lead] + [(username, "0") for username in member or []]
        members = [{"user": str(get_user(session, username=u).id), "teamlead": flag} for u, flag in people]
        data = {"name": name, "color": color or "", "members": members}
        team = create_team(session, caller=system_caller(settings.default_timezone), data=data)
        typer.echo(f"created team {team.name} (id {team.id})")


@team_app.command("add-member")
def team_add_member(
    team: Annotated[str, typer.Argument(help="The team's name")],
    username: str,
    database_url: DatabaseUrl = None,
    lead: Annotated[bool, typer.Option("--lead", help="As a team lead (also promotes a member)")] = False,
) -> None:
    """Add a user to a team (with the rules of POST /api/teams/{id}/members/{userId})."""
    from punchclock.auth.permissions import system_caller
    from punchclock.teams.service import TeamRuleBroken, add_member, find_team, members_of, promote
    from punchclock.users.service import get_user

    settings, db = _database(database_url)
    caller = system_caller(settings.default_timezone)
    with _user_errors(), db.session(write=True) as session:
        found, user = find_team(session, name=team), get_user(session, username=username)
        is_member = any(member.id == user.id for member, _ in members_of(session, found.id))
        try:
            if lead and is_member:
                promote(session, caller=caller, team_id=found.id, user_id=user.id)
            else:
                add_member(session, caller=caller, team_id=found.id, user_id=user.id, teamlead=lead)
        except TeamRuleBroken as exc:
            raise Failed(f"cannot add {username} to team {found.name}: {exc.detail}") from None
    typer.echo(f"{username} is now {'a team lead' if lead else 'a member'} of team {found.name}")


@meta_app.command("add")
def meta_add(
    entity: Annotated[str, typer.Argument(help="customer, project, activity or timesheet")],
    name: str,
    database_url: DatabaseUrl = None,
    hidden: Annotated[bool, typer.Option(help="Stored but not shown in metaFields")] = False,
) -> None:
    """Declare a custom field, settable with PATCH /api/{entities}/{id}/meta."""
    from punchclock.entities.meta import add_definition

    _, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        add_definition(session, entity_type=entity, name=name, visible=not hidden)
    typer.echo(f"custom field {entity}.{name} declared")


@meta_app.command("list")
def meta_list(database_url: DatabaseUrl = None) -> None:
    """List the declared custom fields."""
    from punchclock.entities.meta import list_definitions

    _, db = _database(database_url)
    with db.session() as session:
        for row in list_definitions(session):
            typer.echo(f"{row.entity_type}\t{row.name}\t{'visible' if row.visible else 'hidden'}")


@meta_app.command("remove")
def meta_remove(entity: str, name: str, database_url: DatabaseUrl = None) -> None:
    """Remove a custom field declaration. Stored values stay (and, as in Kimai, stay settable);
    entities without a value can no longer set it."""
    from punchclock.entities.meta import remove_definition

    _, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        remove_definition(session, entity_type=entity, name=name)
    typer.echo(f"custom field {entity}.{name} removed")


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    timesheets: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Also load this many timesheets, with 50 customers, 300 projects, 1,000 activities, "
            "20 tags and the --users (bulk inserts; on top of the demo data, loaded first if missing)",
        ),
    ] = None,
    users: Annotated[
        int | None, typer.Option(min=1, help="Users sharing the --timesheets (default 200)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for --timesheets (default 1): the same seed, the same choices")
    ] = None,
) -> None:
    """Load demo data: customers, projects, activities, a team and users; with --timesheets also years
    of realistic timesheets."""
    if timesheets is None:
        if users is not None or seed is not None:
            raise typer.BadParameter("only with --timesheets", param_hint="'--users' / '--seed'")
        from punchclock.demo import load_demo

        settings, db = _database(database_url)
        with _user_errors(), db.session(write=True) as session:
            summary = load_demo(session, timezone=settings.default_timezone)
        typer.echo(summary)
        return
    _demo_at_scale(database_url, timesheets, users or 200, 1 if seed is None else seed)


def _demo_at_scale(database_url: str | None, timesheets: int, users: int, seed: int) -> None:
    """The bulk demo with a progress bar on stderr; the summary and the rate on stdout."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from punchclock.demo_bulk import BulkSpec, load_demo_at_scale

    settings, db = _database(database_url)
    spec = BulkSpec(timesheets=timesheets, users=users, seed=seed)
    progress = Progress(
        TextColumn("timesheets"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )
    task = progress.add_task("timesheets", total=timesheets)

    def advance(done: int) -> None:
        # Shown from the first batch on, so a refusal stays the one line on stderr.
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=done)

    started = time.perf_counter()
    try:
        with _user_errors(), db.session(write=True) as session:
            lines = load_demo_at_scale(
                session, timezone=settings.default_timezone, spec=spec, progress=advance
            )
    finally:
        if progress.live.is_started:
            progress.stop()
    seconds = time.perf_counter() - started
    db.dispose()
    typer.echo("\n".join(lines))
    typer.echo(f"{timesheets:,} timesheets in {seconds:.1f} s ({timesheets / seconds:,.0f} rows/s)")


invoice_app = typer.Typer(help="Create invoices and set their status.", no_args_is_help=True)
app.add_typer(invoice_app, name="invoice")


@invoice_app.command("create")
def invoice_create(
    customer: Annotated[int, typer.Option(help="The customer's id", show_default=False)],
    begin: Annotated[str, typer.Option(help="First day, YYYY-MM-DD", show_default=False)],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD", show_default=False)],
    database_url: DatabaseUrl = None,
    user: Annotated[
        str | None, typer.Option(help="Username of the invoice's creator (default: the first super admin)")
    ] = None,
    vat: Annotated[float, typer.Option(help="Tax rate in percent, 0-99.99")] = 0.0,
    due_days: Annotated[int, typer.Option(help="Days until the invoice is due, 0-999")] = 30,
    comment: Annotated[str | None, typer.Option(help="A comment on the invoice")] = None,
    number_format: Annotated[
        str,
        typer.Option(help="Invoice number: {Y} {M} {D}, counters {c} {cy} {cm} {cd} {cc…} {cu…}, ,N pads"),
    ] = "{Y}/{cy,3}",
    timezone: Annotated[
        str | None, typer.Option(help="Timezone of the two days (default: the user's)")
    ] = None,
) -> None:
    """Invoice the customer's stopped, billable, not yet exported timesheets that begin between BEGIN
    and END: total = their rates plus VAT. The timesheets are marked exported and linked to the
    invoice, whose HTML document GET /api/invoices/{id}/download serves."""
    from punchclock.invoices.service import create_invoice, first_super_admin, invoiced_timesheets
    from punchclock.kimai.datetimes import is_timezone, parse_date
    from punchclock.users.service import get_user

    days = []
    for value in (begin, end):
        day = parse_date(value)
        if day is None:
            raise Failed(f"not a date (YYYY-MM-DD): {value}")
        days.append(day)
    if timezone is not None and not is_timezone(timezone):
        raise Failed(f"unknown timezone: {timezone}")
    _, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        creator = get_user(session, username=user) if user else first_super_admin(session)
        if creator is None:
            raise Failed("there is no super admin: give --user")
        invoice = create_invoice(
            session,
            customer_id=customer,
            begin=days[0],
            end=days[1],
            user=creator,
            timezone=timezone,
            vat=vat,
            due_days=due_days,
            comment=comment,
            number_format=number_format,
        )
        if invoice is None:
            typer.echo(
                f"no invoice created: customer {customer} has no stopped, billable, not yet exported "
                f"timesheets from {begin} to {end}"
            )
            return
        count = len(invoiced_timesheets(session, invoice.id))
        typer.echo(
            f"created invoice {invoice.invoice_number} (id {invoice.id}) for {invoice.customer.name}: "
            f"{count} timesheet{'s' if count != 1 else ''}, total {invoice.total:.2f} {invoice.currency}, "
            f"file {invoice.invoice_filename}"
        )


@invoice_app.command("status")
def invoice_status(
    invoice_id: Annotated[int, typer.Argument(metavar="ID", help="The invoice's id")],
    status: Annotated[str, typer.Argument(help="new, pending, paid or canceled")],
    database_url: DatabaseUrl = None,
    payment_date: Annotated[
        str | None, typer.Option(help="With paid: the payment day YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Set an invoice's status: new and pending clear the payment date, paid sets it."""
    from punchclock.invoices.service import set_status
    from punchclock.kimai.datetimes import parse_date

    paid_on = None
    if payment_date is not None:
        paid_on = parse_date(payment_date)
        if paid_on is None:
            raise Failed(f"not a date (YYYY-MM-DD): {payment_date}")
    _, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        invoice = set_status(session, invoice_id=invoice_id, status=status, payment_date=paid_on)
        paid = f", paid on {invoice.payment_date.isoformat()}" if invoice.payment_date else ""
        typer.echo(f"invoice {invoice.invoice_number} (id {invoice.id}) is {invoice.status}{paid}")


class _user_errors:
    """Turn service-layer errors into one-line failures."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        from punchclock.kimai.errors import KimaiError, ValidationFailed
        from punchclock.users.service import UserError

        if isinstance(exc, UserError | ValueError):
            raise Failed(str(exc)) from None
        if isinstance(exc, ValidationFailed):
            raise Failed("rejected: " + "; ".join(_form_errors(exc.errors))) from None
        if isinstance(exc, KimaiError):
            detail = getattr(exc, "detail", None)  # a reason Kimai hides from API clients
            raise Failed(detail or f"rejected: {exc.body()}") from None


def _form_errors(errors: dict[str, Any], path: str = "") -> list[str]:
    """Kimai's validation envelope as "field: message" lines (``members.0.user: …``)."""
    found = [f"{path.rstrip('.')}: {message}" if path else message for message in errors.get("errors", [])]
    for name, child in errors.get("children", {}).items():
        found += _form_errors(child, f"{path}{name}.")
    return found


def main() -> None:
    try:
        # Without standalone mode, click returns the code of a raised typer.Exit instead of exiting.
        result = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(EXIT_FAILED)
    except Failed as exc:
        # One line (driver and pydantic messages span several), printed verbatim (no markup).
        err.print("error: " + " ".join(str(exc).split()), highlight=False, markup=False)
        sys.exit(EXIT_FAILED)
    except Exception as exc:
        # Click's own errors (typer may ship its own copy of click, so match by shape): usage
        # errors carry exit code 2, which is remapped so it never collides with a command's codes.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if not callable(show) or not isinstance(code, int):
            raise
        show()
        sys.exit(EXIT_USAGE if code == 2 else EXIT_FAILED)
    sys.exit(result if isinstance(result, int) else 0)
