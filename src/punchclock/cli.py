"""The ``punchclock`` command line.

Exit codes: 0 success; 1 the operation failed (bad input such as a duplicate or unknown user, a bad
date, a database error); 64 wrong usage (unknown option, missing argument).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

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
def demo(database_url: DatabaseUrl = None) -> None:
    """Load demo data: customers, projects, activities, a team and users."""
    from punchclock.demo import load_demo

    settings, db = _database(database_url)
    with _user_errors(), db.session(write=True) as session:
        summary = load_demo(session, timezone=settings.default_timezone)
    typer.echo(summary)


class _user_errors:
    """Turn service-layer errors into one-line failures."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        from punchclock.kimai.errors import KimaiError
        from punchclock.users.service import UserError

        if isinstance(exc, UserError | ValueError):
            raise Failed(str(exc)) from None
        if isinstance(exc, KimaiError):
            raise Failed(f"rejected: {exc.body()}") from None


def main() -> None:
    try:
        app(standalone_mode=False)
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
    sys.exit(0)
