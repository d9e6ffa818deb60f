"""Timesheet lists on the bulk demo data: query plans, per-page query cost and HTTP throughput (wrk).

1. Loads `punchclock demo --timesheets N --users U` into a temporary database (SQLite by default;
   PostgreSQL with --postgres URL of an empty database), printing the load rate.
2. For a named set of list queries (built by the same code the API runs) prints the plan and the
   median time of one 50-row page, and flags plans that scan or sort the whole table.
3. Starts `punchclock serve` and drives each URL with wrk for a few seconds (baseline: /api/ping).

    .venv/bin/python bench/bench_timesheets.py [--timesheets 1000000] [--users 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from serving import serving
from sqlalchemy import select, text

from punchclock.auth.service import load_caller
from punchclock.db import Database
from punchclock.timesheets import listing
from punchclock.users.models import User

PASSWORD = "bench-password"


def cli(*args: str, url: str, stdin: str | None = None) -> str:
    env = {**os.environ, "PUNCHCLOCK_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "punchclock", *args], env=env, input=stdin, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"punchclock {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def named_queries(db: Database, user_id: int, project_id: int) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(label, URL, caller, filters and paging) for the lists clients run most."""
    with db.session() as s:
        admin = load_caller(s, s.scalars(select(User).where(User.username == "benchadmin")).one())
        user = load_caller(s, s.get(User, user_id))  # type: ignore[arg-type]
    # The demo's history ends now: the same filters as page_query, on its most recent weeks.
    last_month, this_month = (f"{day:%Y-%m-%d}T00:00:00" for day in recent_month_starts())
    return [
        ("own rows, page 1", "/api/timesheets", user, {}),
        ("own rows, page 50", "/api/timesheets?page=50", user, {"page": 50}),
        ("own rows, last month", f"/api/timesheets?begin={last_month}", user, {"begin": True}),
        ("own rows by rate", "/api/timesheets?orderBy=rate", user, {"order_by": "rate"}),
        ("all users, page 1", "/api/timesheets?user=all", admin, {"all": True}),
        ("all users, page 1000", "/api/timesheets?user=all&page=1000", admin, {"all": True, "page": 1000}),
        (
            "all users, one project",
            f"/api/timesheets?user=all&project={project_id}",
            admin,
            {"all": True, "projects": [project_id]},
        ),
        ("all users, running", "/api/timesheets?user=all&active=1", admin, {"all": True, "active": True}),
        (
            "all users, modified_after",
            f"/api/timesheets?user=all&modified_after={this_month}",
            admin,
            {"all": True, "modified": True},
        ),
        ("all users, full=1", "/api/timesheets?user=all&full=1", admin, {"all": True}),
    ]


def recent_month_starts() -> tuple[dt.date, dt.date]:
    """The first days of last month and of this month (UTC)."""
    this_month = dt.datetime.now(dt.UTC).date().replace(day=1)
    return (this_month - dt.timedelta(days=1)).replace(day=1), this_month


def page_query(session: Any, caller: Any, options: dict[str, Any]) -> Any:
    last_month, this_month = (dt.datetime.combine(day, dt.time(), dt.UTC) for day in recent_month_starts())
    filters = listing.Filters(
        all_users=options.get("all", False),
        projects=options.get("projects", []),
        active=options.get("active"),
        begin=last_month if options.get("begin") else None,
        modified_after=this_month if options.get("modified") else None,
    )
    query = listing.order(
        listing.build_query(session, caller, filters), options.get("order_by", "begin"), "DESC"
    )
    page = options.get("page", 1)
    return query.limit(50).offset((page - 1) * 50)


def plan(session: Any, query: Any) -> tuple[str, str]:
    """The plan as text and a verdict: "index" (rows read in order from an index), "sorts matches"
    (an index finds the rows, which are then sorted: fine when few match) or "FULL SCAN"."""
    dialect = session.get_bind().dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        lines = [row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
        full = any(re.fullmatch(r"SCAN timesheets", line) for line in lines)
        sorts = any("TEMP B-TREE" in line for line in lines)
    else:
        lines = [row[0] for row in session.execute(text("EXPLAIN " + sql))]
        full = any("Seq Scan on timesheets" in line for line in lines)
        sorts = any(re.match(r"\s*(->\s*)?Sort\s+\(", line) for line in lines)  # not "Incremental Sort"
    verdict = "FULL SCAN" if full else "sorts matches" if sorts else "index"
    return "\n      ".join(lines), verdict


def timed_page(db: Database, caller: Any, options: dict[str, Any], repeat: int = 15) -> float:
    times = []
    with db.session() as s:
        for _ in range(repeat):
            start = time.perf_counter()
            query = page_query(s, caller, options)
            rows = s.execute(query).all()
            listing.with_side_data(s, rows)  # the API also reads the rows' tags and custom fields
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def wrk(base: str, path: str, token: str, seconds: int) -> tuple[float, str]:
    done = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}", base + path],
        capture_output=True,
        text=True,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    latency = re.search(r"Latency\s+(\S+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    note = f"{errors.group(1)} non-2xx!" if errors else ""
    return (float(rate.group(1)) if rate else 0.0), (latency.group(1) if latency else "?") + " " + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesheets", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per URL")
    parser.add_argument("--workers", default="1,2", help="server processes to measure, e.g. 1,2")
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL instead of SQLite")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="punchclock-bench-"))
    url = args.postgres or f"sqlite:///{tmp / 'bench.db'}"
    backend = "PostgreSQL" if args.postgres else "SQLite"
    cli("db", "upgrade", url=url)
    start = time.perf_counter()
    cli("demo", "--timesheets", str(args.timesheets), "--users", str(args.users), url=url)
    load = time.perf_counter() - start
    print(
        f"{backend}: loaded {args.timesheets:,} timesheets for {args.users} users in {load:.1f} s "
        f"({args.timesheets / load:,.0f} rows/s, CLI start-up included)"
    )
    cli(
        "user",
        "create",
        "benchadmin",
        "benchadmin@example.com",
        "--role",
        "ROLE_SUPER_ADMIN",
        "--password-stdin",
        url=url,
        stdin=PASSWORD + "\n",
    )
    admin_token = cli("token", "create", "benchadmin", "--name", "bench", url=url).strip().splitlines()[-1]

    db = Database(url)
    with db.session() as s:
        user_id, project_id = s.execute(
            text(
                "SELECT user_id, project_id FROM timesheets GROUP BY user_id, project_id "
                "ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        username = s.get(User, user_id).username  # type: ignore[union-attr]
    user_token = cli("token", "create", username, "--name", "bench", url=url).strip().splitlines()[-1]
    queries = named_queries(db, user_id, project_id)

    print(f"\nQuery plans and the median cost of one 50-row page ({backend}):")
    flagged = 0
    with db.session() as s:
        for label, _url, caller, options in queries:
            text_plan, verdict = plan(s, page_query(s, caller, options))
            flagged += verdict == "FULL SCAN"
            ms = timed_page(db, caller, options)
            print(f"  {label:28} {ms:8.2f} ms  {verdict}\n      {text_plan}")
    print(f"  {flagged} of {len(queries)} plans scan the whole table")
    db.dispose()

    if not shutil.which("wrk"):
        print("\nwrk is not installed (apt-get install wrk): skipping the HTTP measurements")
        return
    for workers in (int(w) for w in args.workers.split(",")):
        with serving(url, admin_token, workers=workers) as base:
            print(f"\nwrk, {backend}, {workers} worker(s), 8 connections, {args.seconds} s per URL:")
            ping, _ = wrk(base, "/api/ping", admin_token, args.seconds)
            print(f"  {'ping (baseline)':28} {ping:8.0f} req/s")
            for label, path, caller, _options in queries:
                token = admin_token if caller.can("view_all_data") else user_token
                rate, latency = wrk(base, path, token, args.seconds)
                print(f"  {label:28} {rate:8.0f} req/s  {rate / ping:5.2f} × ping  latency {latency}")


if __name__ == "__main__":
    main()
