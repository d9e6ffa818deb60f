"""Throughput of `POST /api/ext/bulk/timesheets` against a plain executemany of the same rows.

Seeds a fresh SQLite database (a super admin, 10 projects with an activity each, 5 tags), starts
`punchclock serve` on it (one worker) and posts N timesheets (default 50,000) in calls of 1,000:
stopped records in the caller's timezone with a description, every fourth with a tag. Every item
must come back created. Baseline, in the same run: the rows the route stored (every column but the
id) inserted into a second fresh database, seeded the same way, with one Core executemany per 1,000
rows and a transaction each, as the route commits once per call. The two alternate in rounds of
--round calls, so both see the same load on a shared machine. Prints rows/s for both and the ratio,
and (on Linux) the server's CPU time per row, which depends less on the machine's load; the same
for two fresh schemas of the PostgreSQL database named by PUNCHCLOCK_BENCH_POSTGRES_URL when it is
set. Bounded: rounds stop after --seconds (the rates are then over the rows done).

    .venv/bin/python bench/bench_bulk.py [--rows 50000] [--batch 1000] [--round 5] [--seconds 120]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from serving import seed_admin, serving
from sqlalchemy import Table, insert, select, text
from sqlalchemy.engine import make_url

from punchclock import models
from punchclock.config import Settings
from punchclock.db import Database
from punchclock.migrate import upgrade

TOKEN = "bench-token"
PROJECTS, TAGS = 10, 5
FIRST_DAY = dt.date(2020, 1, 6)  # a Monday
TIMESHEETS: Table = models.Timesheet.__table__  # type: ignore[assignment]


def seed(url: str) -> None:
    """The admin, projects, activities and tags, with the same ids on every fresh database."""
    db = Database(url)
    seed_admin(db, TOKEN)
    with db.session(write=True) as s:
        s.execute(insert(models.Customer).values(id=1, name="Customer", timezone="Europe/Berlin"))
        numbers = range(1, PROJECTS + 1)
        s.execute(
            insert(models.Project), [{"id": p, "customer_id": 1, "name": f"Project {p}"} for p in numbers]
        )
        s.execute(
            insert(models.Activity), [{"id": p, "project_id": p, "name": f"Activity {p}"} for p in numbers]
        )
        s.execute(insert(models.Tag), [{"name": f"tag-{t}", "visible": True} for t in range(TAGS)])
    db.dispose()


def bodies(count: int) -> list[dict[str, Any]]:
    """Half-hour records back to back from 08:00 (the admin's wall-clock time), sixteen a day."""
    items = []
    for i in range(count):
        day, slot = divmod(i, 16)
        date = FIRST_DAY + dt.timedelta(days=day)
        begin, end = (8 * 60 + 30 * slot + offset for offset in (0, 30))  # minutes after midnight
        item: dict[str, Any] = {
            "project": i % PROJECTS + 1,
            "activity": i % PROJECTS + 1,
            "begin": f"{date}T{begin // 60:02d}:{begin % 60:02d}:00",
            "end": f"{date}T{end // 60:02d}:{end % 60:02d}:00",
            "description": f"Work item {i}",
        }
        if i % 4 == 0:
            item["tags"] = f"tag-{i % TAGS}"
        items.append(item)
    return items


def post(client: httpx.Client, content: bytes) -> int:
    response = client.post("/api/ext/bulk/timesheets", content=content)
    response.raise_for_status()
    results = orjson.loads(response.content)
    if {result["status"] for result in results} != {"created"}:
        raise SystemExit(f"not every item was created: {response.text[:500]}")
    return len(results)


def rows_after(db: Database, last_id: int) -> list[dict[str, Any]]:
    """The stored timesheets with a greater id, without it, in id order."""
    with db.session() as s:
        query = select(TIMESHEETS).where(TIMESHEETS.c.id > last_id).order_by(TIMESHEETS.c.id)
        return [dict(row._mapping) for row in s.execute(query)]


def executemany(db: Database, rows: list[dict[str, Any]], batch: int) -> None:
    for start in range(0, len(rows), batch):
        with db.session(write=True) as s:
            s.execute(insert(TIMESHEETS), rows[start : start + batch])


def server_cpu() -> float | None:
    """CPU seconds used so far by this process's children (the server): Linux only, else None."""
    if not Path("/proc/self/stat").exists():
        return None
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command's name
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == os.getpid():  # the parent's pid; then user and system time
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def compare(label: str, route_url: str, baseline_url: str, args: argparse.Namespace) -> None:
    """Both URLs: empty, migrated databases."""
    for url in (route_url, baseline_url):
        seed(url)
    items = bodies(args.rows)
    # Encoded beforehand: the client shares the CPUs with the server.
    calls = [orjson.dumps(items[start : start + args.batch]) for start in range(0, len(items), args.batch)]
    route_db, baseline_db = Database(route_url), Database(baseline_url)
    route_rows = route_seconds = baseline_seconds = 0.0
    last_id = 0
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with (
        serving(route_url, TOKEN) as base,
        httpx.Client(base_url=base, headers=headers, timeout=120) as client,
    ):
        deadline = time.perf_counter() + args.seconds
        cpu_before = server_cpu()
        for start in range(0, len(calls), args.round):
            if time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            route_rows += sum(post(client, content) for content in calls[start : start + args.round])
            route_seconds += time.perf_counter() - started
            rows = rows_after(route_db, last_id)
            last_id = rows[-1]["id"]
            for row in rows:
                del row["id"]
            started = time.perf_counter()
            executemany(baseline_db, rows, args.batch)
            baseline_seconds += time.perf_counter() - started
        cpu_after = server_cpu()
    route_db.dispose()
    baseline_db.dispose()
    for what, seconds in (
        ("POST /api/ext/bulk/timesheets", route_seconds),
        ("Core executemany", baseline_seconds),
    ):
        print(f"{label + ': ' + what:44} {route_rows:8,.0f} {seconds:8.2f} {route_rows / seconds:9,.0f}")
    print(f"{label + ': ratio route / baseline':44} {'':8} {'':8} {baseline_seconds / route_seconds:9.2f}")
    if cpu_before is not None and cpu_after is not None:
        per_row = (cpu_after - cpu_before) / route_rows * 1e6
        print(f"{label + ': server CPU per row (µs)':44} {'':8} {'':8} {per_row:9.0f}")


@contextmanager
def schemas(url: str, *names: str) -> Iterator[list[str]]:
    """Fresh, migrated schemas of the PostgreSQL database ``url``; their URLs. Dropped afterwards."""
    db = Database(url)
    scoped = []
    try:
        for name in names:
            with db.engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {name}"))
            options = make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
            scoped.append(options.render_as_string(hide_password=False))
            upgrade(scoped[-1])
        yield scoped
    finally:
        with db.engine.begin() as connection:
            for name in names:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000, help="items per call (and rows per executemany)")
    parser.add_argument("--round", type=int, default=5, help="calls per round")
    parser.add_argument("--seconds", type=float, default=120, help="no new round after this")
    args = parser.parse_args()
    print(f"punchclock bench: bulk timesheets, {args.rows:,} rows in calls of {args.batch:,}, 1 worker")
    print(f"{'':44} {'rows':>8} {'seconds':>8} {'rows/s':>9}")
    with tempfile.TemporaryDirectory(prefix="punchclock-bench-") as tmp:
        urls = [f"sqlite:///{Path(tmp) / name}.db" for name in ("route", "baseline")]
        for url in urls:
            upgrade(url)
        compare("SQLite", *urls, args)
    postgres = os.environ.get("PUNCHCLOCK_BENCH_POSTGRES_URL")
    if not postgres:
        print("(PUNCHCLOCK_BENCH_POSTGRES_URL not set: SQLite only)")
        return
    with schemas(
        Settings(database_url=postgres).database_url, "bench_bulk_route", "bench_bulk_baseline"
    ) as urls:
        compare("PostgreSQL", *urls, args)


if __name__ == "__main__":
    main()
