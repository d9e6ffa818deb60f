"""One ``punchclock sync`` run: open the target, learn who the token is, pick the source, sync each
kind in turn, sum up.

Exit codes: 0 done (warnings about what the token may not see included); 7 server unreachable or
not a Kimai API; 8 token refused; 9 permission denied where the run cannot do without (its own user,
the timesheet list); 10 the server refused a request (after the retries, for 5xx and 429);
11 the target database cannot be used; 12 another sync is writing it; 130 interrupted.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from punchclock.tools.client import EXIT_UNREACHABLE, ApiError, KimaiClient
from punchclock.tools.sync import records
from punchclock.tools.sync.context import Context, Options, Scope, scope_name
from punchclock.tools.sync.http import Fan, RetryTransport, has_change_feed, server_time
from punchclock.tools.sync.records import Kind
from punchclock.tools.sync.source_feed import FeedSource
from punchclock.tools.sync.source_kimai import KimaiSource
from punchclock.tools.sync.target import EXIT_TARGET, Target, TargetError, safe_url
from punchclock.tools.sync.writer import Writer

EXIT_INTERRUPTED = 130
DEFAULT_TARGET = "sqlite:///punchclock-bi.db"


@dataclass(frozen=True)
class Request:
    """What the command line asked for."""

    url: str
    token: str
    to: str = DEFAULT_TARGET
    full: bool = False
    reconcile: bool = False
    kinds: tuple[Kind, ...] = records.KINDS
    feed: bool = True  # use the change feed when the server has one


def parse_kinds(value: str) -> tuple[Kind, ...]:
    """``timesheets,projects`` (singular names too) in sync order; ValueError for others."""
    names = {part.strip().lower() for part in value.split(",") if part.strip()}
    kinds = []
    for name in names:
        kind = records.BY_PATH.get(name) or records.BY_NAME.get(name)
        if kind is None:
            known = ", ".join(kind.path for kind in records.KINDS)
            raise ValueError(f"unknown kind {name!r}; known: {known}")
        kinds.append(kind)
    if not kinds:
        raise ValueError("name at least one kind")
    return tuple(kind for kind in records.KINDS if kind in kinds)


def run_sync(
    request: Request, *, out: Console, err: Console, transport: httpx.BaseTransport | None = None
) -> int:
    """Syncs; prints warnings and errors on ``err``, the summary on ``out``; returns the exit code."""
    started = time.perf_counter()
    target = Target(request.to)
    try:
        target.open()
    except TargetError as exc:
        _error(err, exc.message)
        return exc.exit_code
    writer = Writer(target)
    retrying = RetryTransport(transport)
    client = KimaiClient(request.url, request.token, transport=retrying)
    # The fan's clients share the transport (its connection pool); closing the main client closes it.
    fan = Fan(lambda: KimaiClient(request.url, request.token, transport=retrying))
    run: Run | None = None
    code = 0
    try:
        with _progress(err) as advance:
            run = _prepare(request, client, fan, writer, advance, err)
            run.sync()
    except ApiError as exc:
        _error(err, exc.message)
        code = exc.exit_code
    except TargetError as exc:
        _error(err, exc.message)
        code = exc.exit_code
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        _error(err, f"writing {safe_url(target.url)} failed: {cause}")
        code = EXIT_TARGET
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        # JSON of another shape than Kimai's: the URL names something else.
        _error(err, f"the server's answers are not those of a Kimai API ({type(exc).__name__}: {exc})")
        code = EXIT_UNREACHABLE
    except KeyboardInterrupt:
        _error(err, "interrupted: the next run goes on from the last page saved")
        code = EXIT_INTERRUPTED
    finally:
        fan.close()
        client.close()
        target.close()
    if run is not None:  # it began: what it committed counts
        seconds = time.perf_counter() - started
        requests = client.requests + fan.requests
        _summary(out, request, writer, run.name, requests, retrying.retries, seconds)
    return code


@dataclass
class Run:
    context: Context
    feed: bool

    @property
    def name(self) -> str:
        return "Punchclock change feed" if self.feed else "Kimai API"

    def sync(self) -> None:
        context = self.context
        sync = FeedSource(context).sync if self.feed else KimaiSource(context).sync
        for kind in context.options.kinds:
            sync(kind)
            with context.writer.batch() as batch:
                batch.state[scope_name(kind)] = context.scope.fingerprint()
        with context.writer.batch() as batch:
            batch.state["last_run"] = {
                "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "source": "change feed" if self.feed else "kimai",
                "kinds": [kind.path for kind in context.options.kinds],
                "full": context.options.full,
            }


def _prepare(
    request: Request,
    client: KimaiClient,
    fan: Fan,
    writer: Writer,
    advance: Callable[[Kind, int, int | None], None],
    err: Console,
) -> Run:
    """Who the token is, which source, whether the target is this server's; warnings."""
    reply = client.request("GET", "users/me")
    me = reply.body
    scope = Scope.of(me)
    feed = request.feed and has_change_feed(client)
    target = writer.target
    # Checkpoints are only good for the server and the way it was read: another of either starts over.
    source = {"url": client.base_url, "mode": "feed" if feed else "kimai"}
    known = target.state.get("source")
    if known is not None and known.get("url") != source["url"] and not request.full:
        raise TargetError(
            f"{safe_url(target.url)} holds data synced from {known.get('url')}: give another --to, "
            "or --full to replace it"
        )
    context = Context(
        client=client,
        writer=writer,
        me=me,
        scope=scope,
        started=server_time(reply),
        options=Options(full=request.full, reconcile=request.reconcile, kinds=request.kinds),
        warn=lambda message: _warn(err, message),
        advance=advance,
        fan=fan,
    )
    for message in scope.limits(request.kinds):
        context.warn(message)
    if feed and request.reconcile:
        context.warn("--reconcile is not needed with the change feed, which reports deletions itself")
    with writer.batch() as batch:
        if known != source:
            batch.reset_checkpoints()
        batch.state["source"] = source
    return Run(context, feed)


def _summary(
    out: Console,
    request: Request,
    writer: Writer,
    source: str,
    requests: int,
    retries: int,
    seconds: float,
) -> None:
    width = max(len(kind.path) for kind in request.kinds) + 1
    for kind in request.kinds:
        tally = writer.tallies[kind.name]
        out.print(
            f"{kind.path + ':':{width}} {tally.inserted:,} inserted, {tally.updated:,} updated, "
            f"{tally.deleted:,} deleted",
            highlight=False,
        )
    retried = f", {retries:,} retried" if retries else ""
    out.print(f"{source}: {requests:,} requests{retried} in {seconds:.1f} s", highlight=False)


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[Kind, int, int | None], None]]:
    """Rows done per kind, on stderr when it is a terminal."""
    if not console.is_terminal:
        yield lambda _kind, _done, _total: None
        return
    columns = (TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=console, transient=True) as progress:

        def advance(kind: Kind, done: int, total: int | None) -> None:
            if kind.name not in tasks:
                tasks[kind.name] = progress.add_task(kind.path, total=total)
            progress.update(tasks[kind.name], completed=done, total=total)

        yield advance


def _warn(err: Console, message: str) -> None:
    err.print("warning: " + " ".join(message.split()), markup=False, highlight=False)


def _error(err: Console, message: str) -> None:
    err.print("error: " + " ".join(message.split()), markup=False, highlight=False)
