"""Throughput of the bulk demo loader (`punchclock demo --timesheets N`), with a baseline.

Loads N timesheets (default 200,000 for 200 users, with 50 customers, 300 projects and 1,000
activities) into a fresh temporary SQLite database, and into a fresh schema of the PostgreSQL
database named by PUNCHCLOCK_BENCH_POSTGRES_URL when it is set, there once with COPY and once with
INSERT. Each figure covers the whole load up to the commit. Baseline: the generator alone, without
a database. Wall-clock rows/s and the CPU seconds of this process (the whole load on SQLite; on
PostgreSQL the server's share runs elsewhere). Bounded: one load per line.

    .venv/bin/python bench/bench_demo.py [--rows 200000] [--users 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from punchclock.config import Settings
from punchclock.db import Database
from punchclock.demo_bulk import Booking, BulkSpec, load_bulk, plan_workers, timesheet_rows
from punchclock.migrate import upgrade

SCHEMA = "bench_demo"


def measure(load: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    load()
    return time.perf_counter() - wall, time.process_time() - cpu


def generator_only(spec: BulkSpec) -> None:
    """The records made and dropped: the part of a load no database can speed up."""
    workers = plan_workers(spec)
    rng = random.Random(spec.seed)
    for number, worker in enumerate(workers, start=1):
        worker.id = number
        worker.bookings = [Booking(p, p * 10 + a, rng.random() < 0.9) for p in range(1, 7) for a in range(4)]
    for _ in timesheet_rows(workers, spec.until, list(range(1, 21)), str, 1):
        pass


def load_into(url: str, spec: BulkSpec, *, copy: bool = True) -> None:
    db = Database(url)
    try:
        with db.session(write=True) as session:
            load_bulk(session, spec, copy=copy)
    finally:
        db.dispose()


def fresh_schema(url: str) -> str:
    """An empty schema of its own on the PostgreSQL server, migrated; its URL."""
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    db.dispose()
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    scoped_url = scoped.render_as_string(hide_password=False)
    upgrade(scoped_url)
    return scoped_url


def drop_schema(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    until = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    spec = BulkSpec(timesheets=args.rows, users=args.users, until=until)

    results: list[tuple[str, float, float]] = [
        ("generator only (baseline)", *measure(lambda: generator_only(spec)))
    ]
    with tempfile.TemporaryDirectory(prefix="punchclock-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        results.append(("SQLite: INSERT executemany", *measure(lambda: load_into(url, spec))))
    postgres = os.environ.get("PUNCHCLOCK_BENCH_POSTGRES_URL")
    if postgres:
        postgres = Settings(database_url=postgres).database_url
        try:
            for label, copy in (("PostgreSQL: COPY", True), ("PostgreSQL: INSERT executemany", False)):
                scoped = fresh_schema(postgres)
                results.append(
                    (label, *measure(lambda scoped=scoped, copy=copy: load_into(scoped, spec, copy=copy)))
                )
        finally:
            drop_schema(postgres)
    print(f"punchclock bench: bulk demo, {args.rows:,} timesheets for {args.users} users")
    if not postgres:
        print("(PUNCHCLOCK_BENCH_POSTGRES_URL not set: SQLite only)")
    print(f"{'load':40} {'seconds':>8} {'rows/s':>9} {'CPU s':>7} {'vs generator':>13}")
    baseline = results[0][1]
    for label, seconds, cpu in results:
        print(f"{label:40} {seconds:8.1f} {args.rows / seconds:9,.0f} {cpu:7.1f} {baseline / seconds:13.2f}")


if __name__ == "__main__":
    main()
