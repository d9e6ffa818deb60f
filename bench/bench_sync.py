"""Throughput and memory of `punchclock sync` against a local Punchclock server.

Loads `punchclock demo --timesheets N --users 200` into a temporary SQLite database, serves it with
`punchclock serve` (1 worker), and runs the real command as a subprocess, each run bounded by a
timeout, into temporary SQLite targets:

1. change feed: the full sync, a delta of 1,000 changed and 100 deleted timesheets, a run with no change;
2. Kimai-style paging (`--no-feed`: entity lists, pages of 500, `modified_after`): the full sync, the
   same kind of delta, and `--reconcile` (every page, to find deletions).

Each line: rows written (inserted + updated + deleted), requests, the sync's seconds (its summary:
from its start to its end) and the command's wall time (Python's start-up and imports included),
rows/s (of the sync's seconds), and the command's peak RSS (VmHWM; Linux). The changes
between runs go through the server's service functions (as its API would make them), not over HTTP.

    .venv/bin/python bench/bench_sync.py [--timesheets 100000] [--no-kimai]
    PUNCHCLOCK_BENCH_POSTGRES_URL=postgresql://…  # also into a schema bench_sync of that database
    PUNCHCLOCK_BENCH_SYNC_1M=1 .venv/bin/python bench/bench_sync.py   # also 1,000,000 rows (minutes)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from serving import seed_admin, serving
from sqlalchemy import create_engine, make_url, select, text

from punchclock.auth.permissions import system_caller
from punchclock.config import Settings
from punchclock.db import Database
from punchclock.migrate import upgrade
from punchclock.timesheets import service
from punchclock.timesheets.models import Timesheet

TOKEN = "bench-token"
SCHEMA = "bench_sync"
USERS = 200
CHANGED, DELETED = 1_000, 100
TIMEOUT = 1800  # seconds per command
SUMMARY = re.compile(r"^(\w+): +([\d,]+) inserted, ([\d,]+) updated, ([\d,]+) deleted$", re.M)
REQUESTS = re.compile(r": ([\d,]+) requests(?:, [\d,]+ retried)? in ([\d.]+) s$", re.M)


@dataclass(frozen=True)
class Figures:
    rows: int
    requests: int
    seconds: float  # the sync itself, as its summary says
    wall: float  # the command, Python's start-up and imports included
    rss_mb: float


def load(url: str, timesheets: int) -> None:
    upgrade(url)
    db = Database(url)
    seed_admin(db, TOKEN)
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHCLOCK_")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "punchclock",
            "demo",
            "--timesheets",
            str(timesheets),
            "--users",
            str(USERS),
            "--database-url",
            url,
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=TIMEOUT,
    )


def fresh_schema(url: str) -> str:
    """An empty schema of its own in the PostgreSQL database of ``url``; a URL that writes there."""
    url = Settings(database_url=url).database_url
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={SCHEMA}"})
        .render_as_string(hide_password=False)
    )


def change(url: str) -> None:
    """1,000 timesheets edited and 100 deleted, the newest ones, as the API would do it."""
    db = Database(url)
    caller = system_caller("UTC")
    settings = Settings(database_url=url)
    with db.session(write=True) as session:
        ids = list(
            session.scalars(select(Timesheet.id).order_by(Timesheet.id.desc()).limit(CHANGED + DELETED))
        )
        for timesheet_id in ids[:CHANGED]:
            data = {"description": f"changed {time.time():.0f}"}
            service.update(session, caller=caller, settings=settings, timesheet_id=timesheet_id, data=data)
        for timesheet_id in ids[CHANGED:]:
            service.remove(session, caller=caller, timesheet_id=timesheet_id)
    db.dispose()


def run_measured(command: list[str], env: dict[str, str]) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr, peak RSS in MB) of ``command``.

    The peak is the process's own ``VmHWM``, sampled while it runs: its ``ru_maxrss`` would start at
    this (much bigger) process's size, which Linux carries over the fork into the child's count.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        deadline = time.monotonic() + TIMEOUT
        peak = 0
        while process.poll() is None:
            peak = max(peak, _high_water_kb(process.pid))
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"{' '.join(command[3:5])}: no end within {TIMEOUT} s")
            time.sleep(0.05)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read(), peak / 1024


def _high_water_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass  # ended meanwhile
    return 0


def measure(base: str, target: str, *args: str) -> Figures:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHCLOCK_")}
    command = [
        sys.executable,
        "-m",
        "punchclock",
        "sync",
        "--url",
        base,
        "--token",
        TOKEN,
        "--to",
        target,
        *args,
    ]
    started = time.perf_counter()
    code, stdout, stderr, rss = run_measured(command, env)
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"sync {' '.join(args)}: exit {code}\n{stdout}\n{stderr}")
    rows = sum(sum(int(n.replace(",", "")) for n in m[1:]) for m in SUMMARY.findall(stdout))
    match = REQUESTS.search(stdout)
    assert match, stdout
    return Figures(rows, int(match[1].replace(",", "")), float(match[2]), seconds, rss)


def report(label: str, figures: Figures) -> None:
    rate = figures.rows / figures.seconds if figures.seconds else 0.0
    print(
        f"{label:48} {figures.rows:10,} {figures.requests:9,} {figures.seconds:7.1f} {figures.wall:7.1f} "
        f"{rate:9,.0f} {figures.rss_mb:7.0f}",
        flush=True,
    )


def bench(timesheets: int, *, kimai: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="punchclock-bench-sync-"))
    server = f"sqlite:///{folder / 'server.db'}"
    postgres = os.environ.get("PUNCHCLOCK_BENCH_POSTGRES_URL")
    try:
        started = time.perf_counter()
        load(server, timesheets)
        seconds = time.perf_counter() - started
        print(f"\n{timesheets:,} timesheets, {USERS} users (demo loaded in {seconds:.0f} s)")
        print(
            f"{'run':48} {'rows':>10} {'requests':>9} {'sync s':>7} {'wall s':>7} {'rows/s':>9} {'RSS MB':>7}"
        )
        with serving(server, TOKEN) as base:
            runs(base, server, folder, kimai=kimai, postgres=postgres)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if postgres:
            drop_schema(postgres)


def runs(base: str, server: str, folder: Path, *, kimai: bool, postgres: str | None) -> None:
    feed_target = f"sqlite:///{folder / 'feed.db'}"
    kimai_target = f"sqlite:///{folder / 'kimai.db'}"
    report("change feed: full sync", measure(base, feed_target))
    pg_target = fresh_schema(postgres) if postgres else None
    if pg_target:
        report("change feed: full sync into PostgreSQL", measure(base, pg_target))
    if kimai:
        report("Kimai paging: full sync (--no-feed)", measure(base, kimai_target, "--no-feed"))
    change(server)
    report(f"change feed: delta ({CHANGED:,} changed, {DELETED} deleted)", measure(base, feed_target))
    if pg_target:
        report("change feed: the same delta into PostgreSQL", measure(base, pg_target))
    report("change feed: nothing changed", measure(base, feed_target))
    if kimai:
        report(f"Kimai paging: delta ({CHANGED:,} changed)", measure(base, kimai_target, "--no-feed"))
        reconcile = measure(base, kimai_target, "--no-feed", "--reconcile")
        report("Kimai paging: --reconcile (finds the deletions)", reconcile)


def drop_schema(url: str) -> None:
    engine = create_engine(Settings(database_url=url).database_url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesheets", type=int, default=100_000)
    parser.add_argument("--no-kimai", action="store_true", help="skip the Kimai-style paging runs")
    args = parser.parse_args()
    print("punchclock sync bench: server `punchclock serve` (1 worker, SQLite), targets SQLite")
    bench(args.timesheets, kimai=not args.no_kimai)
    if os.environ.get("PUNCHCLOCK_BENCH_SYNC_1M") == "1":
        bench(1_000_000, kimai=not args.no_kimai)


if __name__ == "__main__":
    main()
